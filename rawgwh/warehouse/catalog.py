"""Open the warehouse: its Iceberg catalog, its tables, and the lock that keeps one writer.

The embedded default needs no server: a SQLite catalog (``catalog.db``) and the data
files in the same folder. Configured warehouses name their catalog (SQL at a URI, or REST,
typically Nessie) and keep their files in a folder or on S3.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from rawgwh.errors import ConfigError, WarehouseBusy, WarehouseError
from rawgwh.secrets import redact, register_secret
from rawgwh.settings import Settings
from rawgwh.warehouse.nessie import Nessie, iceberg_uri_for_ref
from rawgwh.warehouse.origin import CATALOG_FILE, CATALOG_NAME, check_not_moved

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

__all__ = ["Warehouse", "NO_COMMIT_RETRIES", "commit_or_busy", "writing"]

LOCK_FILE = ".rawgwh.lock"
COMMIT_RETRIES = "commit.retry.num-retries"
#: Every rawgwh table has it: a commit that loses a race fails (see :func:`commit_or_busy`).
NO_COMMIT_RETRIES = {COMMIT_RETRIES: "0"}


class Warehouse:
    """A warehouse: its Iceberg catalog, where its files live, and (embedded) its folder.

    ``Warehouse.open(settings)`` to read, ``Warehouse.for_writing(settings)`` to write.
    ``root`` is the local folder of a warehouse stored on local disk (None on S3); ``nessie``
    is set when the catalog is a Nessie server, and ``ref`` is the branch this handle
    reads and commits to.
    """

    def __init__(
        self,
        root: Path | None,
        catalog: Catalog,
        *,
        settings: Settings | None = None,
        nessie: Nessie | None = None,
        ref: str | None = None,
    ) -> None:
        self.root = root
        self.catalog = catalog
        self.settings = settings
        self.nessie = nessie
        self.ref = ref

    @property
    def location(self) -> str:
        if self.settings is not None:
            return self.settings.warehouse
        return str(self.root)

    @classmethod
    @contextlib.contextmanager
    def for_writing(cls, settings: Settings) -> Iterator[Warehouse]:
        """Create the folder if needed, take the writer lock, then open the catalog: the
        lock comes first, so a second writer always hears "another sync is writing".

        A warehouse on S3 has no folder to lock: its catalog's optimistic commits turn
        away a second writer instead.
        """
        _check_branch(settings)
        if settings.on_s3:
            yield cls.open(settings, create=True)
            return
        root = _prepare(settings.warehouse_path, create=True, embedded=settings.embedded)
        had_lock_file = (root / LOCK_FILE).exists()
        with _writer_lock(root):
            try:
                if settings.embedded:
                    _check_catalog(root)
            except WarehouseError:
                if not had_lock_file:  # leave a damaged warehouse exactly as it was
                    (root / LOCK_FILE).unlink(missing_ok=True)
                raise
            yield cls.open(settings, create=True)

    @classmethod
    def open(cls, settings: Settings, *, create: bool = False, ref: str | None = None) -> Warehouse:
        """Open the warehouse ``settings`` name; ``ref`` reads another Nessie branch."""
        if not settings.embedded:
            return _open_configured(settings, create=create, ref=ref)
        if ref is not None:
            raise WarehouseError(
                "--ref needs a Nessie catalog; the embedded warehouse has no branches"
            )
        root = _prepare(settings.warehouse_path, create=create)
        from pyiceberg.catalog.sql import SqlCatalog

        try:
            # Creating the catalog's tables is serialised: two first syncs starting together
            # would otherwise race inside SQLite, and the loser would report a confusing
            # error instead of "another sync is writing". Readers never create them.
            with _init_lock(root, create):
                catalog = SqlCatalog(
                    CATALOG_NAME,
                    uri=f"sqlite:///{root / CATALOG_FILE}",
                    warehouse=root.as_uri(),
                    init_catalog_tables=str(create).lower(),
                )
                if not create:
                    _check_catalog(root)
            check_not_moved(root)  # before anything reads or writes the old folder's files
        except WarehouseError:
            raise
        except Exception as e:  # SQLAlchemy raises many kinds; all mean "cannot open"
            raise WarehouseError(
                f"cannot open the catalog in {root}: {type(e).__name__}; is it a rawgwh warehouse?"
            ) from None
        return cls(root, catalog, settings=settings)

    def on_ref(self, ref: str) -> Warehouse:
        """The same warehouse on another Nessie branch."""
        assert self.settings is not None
        return _open_configured(self.settings, create=True, ref=ref)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the writer lock; a second writer fails at once with a clear message."""
        if self.root is None:
            yield
            return
        with _writer_lock(self.root):
            yield

    def io_properties(self) -> dict[str, str]:
        """The catalog's file-IO properties (``s3.*``): what readers need to reach files."""
        return {k: str(v) for k, v in self.catalog.properties.items() if k.startswith("s3.")}

    def table(self, name: str, schema: pa.Schema | None = None) -> Table:
        """Load ``namespace.table``; create it from ``schema`` when missing."""
        from pyiceberg.exceptions import NoSuchTableError

        try:
            return self.catalog.load_table(name)
        except NoSuchTableError:
            if schema is None:
                raise
        namespace = name.split(".")[0]
        self.catalog.create_namespace_if_not_exists(namespace)
        return self.catalog.create_table_if_not_exists(
            name, schema=schema, properties=NO_COMMIT_RETRIES
        )

    def has_table(self, name: str) -> bool:
        return bool(self.catalog.table_exists(name))


def _check_branch(settings: Settings) -> None:
    """Refuse a branch where there are none, as ``--ref`` is: a publish would ignore it."""
    if settings.branch != "main" and settings.catalog_type == "sql":
        where = "the embedded warehouse" if settings.embedded else "a SQL catalog"
        raise ConfigError(
            f"--branch {settings.branch} needs a Nessie catalog; {where} has no branches "
            "(leave out --branch and RAWGWH_BRANCH)"
        )


def _open_configured(settings: Settings, *, create: bool, ref: str | None) -> Warehouse:
    """A warehouse with a configured catalog: SQL at a URI, or REST (Nessie)."""
    properties = settings.catalog_properties()
    kind = properties.pop("type", "sql").lower()
    # A REST catalog places tables itself (Nessie from its own warehouse configuration);
    # a SQL catalog writes under the configured folder or bucket.
    local = not settings.on_s3 and kind != "rest"
    root = _prepare(settings.warehouse_path, create=create, embedded=False) if local else None
    if kind != "rest":
        location = settings.warehouse if settings.on_s3 else settings.warehouse_path.as_uri()
        properties.setdefault("warehouse", location)
    nessie: Nessie | None = None
    try:
        if kind == "rest":
            from pyiceberg.catalog.rest import RestCatalog

            uri = properties.pop("uri")
            nessie = Nessie.probe(uri)
            branch, _, at = (ref or settings.branch).partition("@")
            if nessie is not None:
                head = nessie.hash_of(branch)
                if head is None:
                    if ref is not None or not create:
                        raise WarehouseError(
                            f"Nessie has no branch {branch!r}: check --ref/--branch "
                            "(`rawgwh doctor` lists what is configured)"
                        )
                    nessie.create_branch(branch, "main")
                # Readers pin one commit, so every table they load comes from the same one:
                # a merge landing between two table loads cannot mix two publishes.
                pinned = None if create and not at else f"{branch}@{at or head}"
                uri = iceberg_uri_for_ref(uri, pinned or branch)
            elif ref is not None:
                raise WarehouseError(f"--ref {ref}: the catalog at {redact(uri)} is not Nessie")
            catalog: Catalog = RestCatalog("rawgwh", uri=uri, **properties)
            return Warehouse(root, catalog, settings=settings, nessie=nessie, ref=branch)
        if ref is not None:
            raise WarehouseError("--ref needs a Nessie catalog; a SQL catalog has no branches")
        from pyiceberg.catalog.sql import SqlCatalog

        _register_password(properties.get("uri", ""))
        properties["init_catalog_tables"] = str(create).lower()
        catalog = SqlCatalog(CATALOG_NAME, **properties)
        # SqlCatalog takes a failed connection for "no tables yet"; connect once here, so an
        # unreachable server is reported now rather than as a SQLAlchemy error later.
        with catalog.engine.connect():
            pass
        return Warehouse(root, catalog, settings=settings)
    except WarehouseError:
        raise
    except Exception as e:  # connection, auth and protocol errors of several libraries
        uri = redact(settings.catalog.get("uri", ""))
        if type(e).__name__ in ("ConnectionError", "ConnectTimeout", "OperationalError"):
            raise WarehouseError(
                f"cannot reach the catalog at {uri}: is the server running and the URI right? "
                "run `rawgwh doctor` to check the settings"
            ) from None
        raise WarehouseError(
            f"cannot open the catalog at {uri}: "
            f"{type(e).__name__}: {redact(str(e).splitlines()[0] if str(e) else '')}; "
            "run `rawgwh doctor` to check the settings"
        ) from None


def _register_password(uri: str) -> None:
    """Make :func:`redact` mask the database password of ``uri`` wherever it shows up
    (a driver's error message, a log line)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    with contextlib.suppress(ArgumentError):
        password = make_url(uri).password
        if password:
            register_secret(str(password))


@contextlib.contextmanager
def commit_or_busy(what: str, *tables: Table) -> Iterator[None]:
    """Commit to ``tables`` (and ``what`` they belong to) in a single attempt: a commit that
    lost a race with another writer raises :class:`WarehouseBusy`, saying to run again.

    A shared catalog has no folder lock to turn a second writer away early: its optimistic
    commits do. pyiceberg would retry a lost append on top of the winner's snapshot, storing
    the same games twice and replacing the winner's sync state, so rawgwh's tables say
    ``commit.retry.num-retries=0``; a table made before that gets it here first.
    """
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    try:
        for table in tables:
            _no_commit_retries(table)
        yield
    except (CommitFailedException, ValidationException):
        raise WarehouseBusy(
            f"another rawgwh sync committed to {what} at the same time: "
            "let it finish, then run again"
        ) from None


@contextlib.contextmanager
def writing(location: str) -> Iterator[None]:
    """Turn an OSError from writing the warehouse at ``location`` (a full disk, a quota, a
    lost mount) into one line saying what to do."""
    try:
        yield
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise WarehouseError(
                f"no space left on device writing the warehouse at {location}: "
                "free space there, then run the same command again"
            ) from None
        reason = e.strerror or str(e) or type(e).__name__
        raise WarehouseError(
            f"cannot write the warehouse at {location}: {reason}; "
            "fix that, then run the same command again"
        ) from None


def _no_commit_retries(table: Table) -> None:
    from pyiceberg.exceptions import CommitFailedException

    if table.properties.get(COMMIT_RETRIES) == "0":
        return
    loaded = table.metadata.current_snapshot_id
    with table.transaction() as tx:
        tx.set_properties(NO_COMMIT_RETRIES)
    # Setting a property reloads the table: a new snapshot means another writer got there
    # since this one read it.
    if table.metadata.current_snapshot_id != loaded:
        raise CommitFailedException(f"{'.'.join(table.name())} changed since it was loaded")


def _check_catalog(root: Path) -> None:
    path = root / CATALOG_FILE
    if path.exists() and not _has_catalog_tables(path):
        raise WarehouseError(
            f"{path} is not a rawgwh catalog: pass --warehouse with a warehouse folder"
        )


@contextlib.contextmanager
def _init_lock(root: Path, create: bool) -> Iterator[None]:
    if not create or (root / CATALOG_FILE).exists():
        yield
        return
    with open(root / ".rawgwh.init.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # short: held only while the catalog opens
        yield


def _has_catalog_tables(path: Path) -> bool:
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
            names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error:
        return False
    return "iceberg_tables" in names


def _prepare(root: Path, *, create: bool, embedded: bool = True) -> Path:
    if root.exists() and not root.is_dir():
        raise WarehouseError(
            f"warehouse path {root} is a file, not a folder: pass --warehouse with a folder"
        )
    if not embedded:
        if create:
            root.mkdir(parents=True, exist_ok=True)
        return root
    if not (root / CATALOG_FILE).exists():
        if not create:
            raise WarehouseError(
                f"no warehouse at {root}: run `rawgwh sync` first, or pass --warehouse"
            )
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise WarehouseError(
                f"cannot create warehouse folder {root}: {e.strerror}; choose another --warehouse"
            ) from None
    if create and not os.access(root, os.W_OK):
        raise WarehouseError(
            f"warehouse folder {root} is not writable: fix its permissions or choose "
            "another --warehouse"
        )
    return root


@contextlib.contextmanager
def _writer_lock(root: Path) -> Iterator[None]:
    path = root / LOCK_FILE
    try:
        handle = open(path, "a+")  # noqa: SIM115 - held for the whole block
    except OSError as e:
        raise WarehouseError(f"cannot create lock file {path}: {e.strerror}") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EACCES):
                raise WarehouseBusy(
                    f"another rawgwh sync is writing to {root}: wait for it to finish, "
                    "then run again"
                ) from None
            raise
        yield
    finally:
        handle.close()
