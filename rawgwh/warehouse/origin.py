"""Where an embedded warehouse was created, to catch one that was moved or copied since.

Iceberg records absolute locations: ``catalog.db`` names each table's metadata file as
``file:///old/folder/raw/games/metadata/...``. After ``mv`` those files are gone; after
``cp -r`` the copy silently reads, and a sync writes, the original's files. Rewriting every
location (catalog, metadata JSON, Avro manifests) is not worth the risk; saying so is.

Stdlib only: the query fast path, which avoids pyiceberg, checks this too.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from rawgwh.errors import WarehouseError

__all__ = [
    "CATALOG_FILE",
    "CATALOG_NAME",
    "catalog_locations",
    "check_not_moved",
    "created_at",
    "moved_fix",
]

# The embedded warehouse's SQLite catalog: its file in the folder, and the catalog name
# its tables are registered under. Here, stdlib only, so the query fast path shares them.
CATALOG_NAME = "rawgwh"
CATALOG_FILE = "catalog.db"


def catalog_locations(catalog_db: Path) -> list[tuple[str, str, str]]:
    """``(namespace, table, metadata location)`` of each table in a SQLite catalog; empty
    when it has none or cannot be read (opening it reports that better)."""
    try:
        uri = f"{catalog_db.as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            rows = db.execute(
                "SELECT table_namespace, table_name, metadata_location FROM iceberg_tables "
                "WHERE catalog_name = ? AND metadata_location IS NOT NULL",
                (CATALOG_NAME,),
            ).fetchall()
    except sqlite3.Error:
        return []
    return [(str(ns), str(name), str(location)) for ns, name, location in rows]


def created_at(root: Path, tables: Iterable[tuple[str, str, str]]) -> Path | None:
    """The folder the tables were created in when the warehouse at ``root`` (resolved) was
    moved or copied from there, else None."""
    for namespace, name, location in tables:
        parts = urlsplit(location)
        if parts.scheme not in ("", "file"):
            continue  # not a local file: not an embedded warehouse's table
        path = Path(os.path.abspath(url2pathname(parts.path)))
        if path.is_relative_to(root):
            continue
        # <folder>/<namespace>/<table>/metadata/<file>: pyiceberg's SQL catalog layout.
        layout = len(path.parents) > 3 and [p.name for p in path.parents[:3]] == [
            "metadata",
            name,
            namespace,
        ]
        old = path.parents[3] if layout else path.parent
        if Path(os.path.realpath(old)).is_relative_to(root):
            continue  # the same folder by another name (a symlink)
        if not path.exists() or (root / path.relative_to(old)).exists():
            return old  # moved away, or copied: this folder has its own copy of the file
        # Otherwise the catalog uses another folder's tables on purpose (the benchmarks
        # copy only catalog.db to publish a star beside an existing raw zone).
    return None


def moved_fix(old: Path) -> str:
    """What to do about a warehouse created at ``old``."""
    return (
        f"move it back to {old}, or sync into a new folder (Iceberg tables record absolute paths)"
    )


def check_not_moved(root: Path, tables: Iterable[tuple[str, str, str]] | None = None) -> None:
    """Raise :class:`WarehouseError` when the embedded warehouse at ``root`` was created
    elsewhere. ``tables`` as :func:`catalog_locations` gives them (read when None)."""
    if tables is None:
        tables = catalog_locations(root / CATALOG_FILE)
    old = created_at(root, tables)
    if old is not None:
        raise WarehouseError(
            f"warehouse {root} was created at {old} and has been moved or copied since: "
            + moved_fix(old)
        )
