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
    def open(cls, settings: Settings, *, create: bool = False) -> Warehouse:
        root = settings.warehouse_path
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
                    f"cannot create warehouse folder {root}: {e.strerror}; choose another "
                    "--warehouse"
                ) from None
        if create and not os.access(root, os.W_OK):
            raise WarehouseError(
                f"warehouse folder {root} is not writable: fix its permissions or choose "
                "another --warehouse"
            )
        from pyiceberg.catalog.sql import SqlCatalog

        try:
            catalog = SqlCatalog(
                "rawgwh",
                uri=f"sqlite:///{root / CATALOG_FILE}",
                warehouse=root.as_uri(),
            )
        except Exception as e:  # SQLAlchemy raises many kinds; all mean "cannot open"
            raise WarehouseError(
                f"cannot open the catalog in {root}: {type(e).__name__}; is it a rawgwh warehouse?"
            ) from None
        return cls(root, catalog)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the writer lock; a second writer fails at once with a clear message."""
        path = self.root / LOCK_FILE
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
                        f"another rawgwh sync is writing to {self.root}: wait for it to "
                        "finish, then run again"
                    ) from None
                raise
            yield
        finally:
            handle.close()

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
