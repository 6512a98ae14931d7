"""Open the warehouse: its Iceberg catalog, its tables, and the lock that keeps one writer.

The embedded default needs no server: a SQLite catalog (``catalog.db``) and the data
files in the same folder.
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

from rawgwh.errors import WarehouseBusy, WarehouseError
from rawgwh.settings import Settings

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

__all__ = ["Warehouse"]

CATALOG_FILE = "catalog.db"
LOCK_FILE = ".rawgwh.lock"


class Warehouse:
    """A warehouse folder with its catalog. ``Warehouse.open(settings)`` to get one."""

    def __init__(self, root: Path, catalog: Catalog) -> None:
        self.root = root
        self.catalog = catalog

    @classmethod
    @contextlib.contextmanager
    def for_writing(cls, settings: Settings) -> Iterator[Warehouse]:
        """Create the folder if needed, take the writer lock, then open the catalog: the
        lock comes first, so a second writer always hears "another sync is writing"."""
        root = _prepare(settings.warehouse_path, create=True)
        had_lock_file = (root / LOCK_FILE).exists()
        with _writer_lock(root):
            try:
                _check_catalog(root)
            except WarehouseError:
                if not had_lock_file:  # leave a damaged warehouse exactly as it was
                    (root / LOCK_FILE).unlink(missing_ok=True)
                raise
            yield cls.open(settings, create=True)

    @classmethod
    def open(cls, settings: Settings, *, create: bool = False) -> Warehouse:
        root = _prepare(settings.warehouse_path, create=create)
        from pyiceberg.catalog.sql import SqlCatalog

        try:
            # Creating the catalog's tables is serialised: two first syncs starting together
            # would otherwise race inside SQLite, and the loser would report a confusing
            # error instead of "another sync is writing". Readers never create them.
            with _init_lock(root, create):
                catalog = SqlCatalog(
                    "rawgwh",
                    uri=f"sqlite:///{root / CATALOG_FILE}",
                    warehouse=root.as_uri(),
                    init_catalog_tables=str(create).lower(),
                )
                if not create:
                    _check_catalog(root)
        except WarehouseError:
            raise
        except Exception as e:  # SQLAlchemy raises many kinds; all mean "cannot open"
            raise WarehouseError(
                f"cannot open the catalog in {root}: {type(e).__name__}; is it a rawgwh warehouse?"
            ) from None
        return cls(root, catalog)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the writer lock; a second writer fails at once with a clear message."""
        with _writer_lock(self.root):
            yield

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
        return self.catalog.create_table_if_not_exists(name, schema=schema)

    def has_table(self, name: str) -> bool:
        return bool(self.catalog.table_exists(name))


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


def _prepare(root: Path, *, create: bool) -> Path:
    if root.exists() and not root.is_dir():
        raise WarehouseError(
            f"warehouse path {root} is a file, not a folder: pass --warehouse with a folder"
        )
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
