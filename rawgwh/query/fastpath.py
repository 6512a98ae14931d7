"""Find the files to query without pyiceberg: stdlib ``sqlite3``, JSON and a small Avro reader.

Importing pyiceberg's SQL catalog (pyiceberg and SQLAlchemy) takes about a second, several
times what a query over the star takes. Everything a read of the *latest* publish needs is
plain data, though:

* the catalog is a SQLite database in pyiceberg's layout: ``iceberg_tables`` maps each
  table to its metadata JSON, ``iceberg_namespace_properties`` holds the
  ``rawgwh.published`` marker naming each star table's snapshot;
* the metadata JSON names each snapshot's manifest list, and the table's schema;
* manifest lists and manifests are Avro object container files, which
  :func:`read_avro` decodes (null and deflate codecs, the whole Avro 1.x type system).

So a snapshot's data files are exactly what pyiceberg's ``scan(snapshot_id).plan_files()``
lists: the live entries (status not DELETED) of its data manifests. Nothing is cached, so
this cannot disagree with the table. Whatever this module does not fully understand --
remote storage, delete manifests, an unknown codec, format version or type, a catalog laid
out differently -- raises :class:`Unsupported`, and the caller falls back to pyiceberg.
"""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from rawgwh.warehouse.origin import CATALOG_FILE, CATALOG_NAME, check_not_moved

__all__ = [
    "CATALOG_NAME",
    "LatestTables",
    "Unsupported",
    "latest_tables",
    "read_avro",
    "snapshot_files",
    "sql_type",
]

# Must match rawgwh.warehouse.star_zone (tests check): importing that module would import
# Polars and pyiceberg, which is what this module avoids.
STAR_NAMESPACE = "star"
RAW_NAMESPACE = "raw"
PUBLISHED_PROPERTY = "rawgwh.published"

_AVRO_MAGIC = b"Obj\x01"
_DELETED = 2  # manifest entry status
_DATA = 0  # manifest / data file content


class Unsupported(Exception):
    """Something this reader does not handle; use pyiceberg instead."""


@dataclass(frozen=True, slots=True)
class LatestTables:
    """What a query over the latest publish reads: files and empty tables' columns."""

    files: dict[str, list[str]]  # query name -> local Parquet paths
    columns: dict[str, list[tuple[str, str]]]  # query name -> (column, DuckDB type)
    evolved: set[str]  # query names of tables whose schema changed: files may differ


# --- locations ------------------------------------------------------------------------


def local_file(location: str) -> str:
    """The local path of a ``file://`` URI or plain path; :class:`Unsupported` otherwise."""
    parts = urlsplit(location)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise Unsupported(f"remote file URI {location}")
        return os.path.abspath(url2pathname(parts.path))
    if len(parts.scheme) > 1:  # s3://, gs://, https://... (one letter: a Windows drive)
        raise Unsupported(f"remote storage: {location}")
    return os.path.abspath(location)


def _read_bytes(location: str) -> bytes:
    try:
        with open(local_file(location), "rb") as f:
            return f.read()
    except OSError as e:
        raise Unsupported(f"cannot read {location}: {e}") from None


# --- Avro -----------------------------------------------------------------------------


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def long(self) -> int:
        data, pos = self.data, self.pos
        shift = result = 0
        while True:
            byte = data[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
        self.pos = pos
        return (result >> 1) ^ -(result & 1)

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise Unsupported("truncated Avro data")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


_Decoder = Callable[[_Reader], Any]


def _float(r: _Reader) -> float:
    value: float = struct.unpack("<f", r.take(4))[0]
    return value


def _double(r: _Reader) -> float:
    value: float = struct.unpack("<d", r.take(8))[0]
    return value


_PRIMITIVES: dict[str, _Decoder] = {
    "null": lambda r: None,
    "boolean": lambda r: r.take(1) != b"\x00",
    "int": _Reader.long,
    "long": _Reader.long,
    "float": _float,
    "double": _double,
    "bytes": lambda r: r.take(r.long()),
    "string": lambda r: r.take(r.long()).decode("utf-8"),
}


def _blocks(r: _Reader, item: Callable[[], None]) -> None:
    """Avro's blocked encoding of arrays and maps: counts until 0; negative adds a size."""
    while True:
        count = r.long()
        if count == 0:
            return
        if count < 0:
            r.long()  # the block's size in bytes, for skipping
            count = -count
        for _ in range(count):
            item()


def _decoder(schema: Any, names: dict[str, _Decoder], namespace: str = "") -> _Decoder:
    """A function decoding one value of ``schema`` (parsed Avro schema JSON)."""
    if isinstance(schema, list):
        branches = [_decoder(s, names, namespace) for s in schema]
        return lambda r: branches[r.long()](r)
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return _PRIMITIVES[schema]
        full = schema if "." in schema or not namespace else f"{namespace}.{schema}"
        for key in (full, schema):
            if key in names:
                return lambda r, key=key: names[key](r)  # type: ignore[misc]
        raise Unsupported(f"unknown Avro type {schema!r}")
    if not isinstance(schema, dict):
        raise Unsupported(f"bad Avro schema {schema!r}")
    kind = schema.get("type")
    if kind in _PRIMITIVES:
        return _PRIMITIVES[kind]
    if kind in ("record", "error", "enum", "fixed"):
        name = str(schema["name"])
        namespace = str(schema.get("namespace", namespace))
        full = name if "." in name or not namespace else f"{namespace}.{name}"
        if kind == "enum":
            symbols = list(schema["symbols"])
            decode: _Decoder = lambda r: symbols[r.long()]  # noqa: E731
        elif kind == "fixed":
            size = int(schema["size"])
            decode = lambda r: r.take(size)  # noqa: E731
        else:
            fields: list[tuple[str, _Decoder]] = []

            def record(r: _Reader) -> dict[str, Any]:
                return {field: read(r) for field, read in fields}

            names[full] = names[name] = record  # before the fields: types may recurse
            fields.extend(
                (str(f["name"]), _decoder(f["type"], names, namespace)) for f in schema["fields"]
            )
            return record
        names[full] = names[name] = decode
        return decode
    if kind == "array":
        element = _decoder(schema["items"], names, namespace)

        def array(r: _Reader) -> list[Any]:
            out: list[Any] = []
            _blocks(r, lambda: out.append(element(r)))
            return out

        return array
    if kind == "map":
        value = _decoder(schema["values"], names, namespace)

        def mapping(r: _Reader) -> dict[str, Any]:
            out: dict[str, Any] = {}

            def item() -> None:
                key = r.take(r.long()).decode("utf-8")
                out[key] = value(r)

            _blocks(r, item)
            return out

        return mapping
    if isinstance(kind, dict | list):
        return _decoder(kind, names, namespace)
    raise Unsupported(f"unsupported Avro type {kind!r}")


def read_avro(data: bytes) -> Iterator[Any]:
    """The records of an Avro object container file (codecs null and deflate)."""
    r = _Reader(data)
    if r.take(4) != _AVRO_MAGIC:
        raise Unsupported("not an Avro file")
    meta: dict[str, bytes] = {}

    def entry() -> None:
        key = r.take(r.long()).decode("utf-8")
        meta[key] = r.take(r.long())

    try:
        _blocks(r, entry)
        sync = r.take(16)
        schema = json.loads(meta["avro.schema"])
    except (KeyError, ValueError, IndexError) as e:
        raise Unsupported(f"bad Avro header: {e}") from None
    codec = meta.get("avro.codec", b"null").decode()
    if codec not in ("null", "deflate"):
        raise Unsupported(f"Avro codec {codec}")
    decode = _decoder(schema, {})
    try:
        while r.pos < len(data):
            count = r.long()
            block = r.take(r.long())
            if r.take(16) != sync:
                raise Unsupported("corrupt Avro file (sync marker)")
            if codec == "deflate":
                block = zlib.decompress(block, -15)
            records = _Reader(block)
            for _ in range(count):
                yield decode(records)
    except (IndexError, zlib.error, UnicodeDecodeError, struct.error) as e:
        raise Unsupported(f"corrupt Avro data: {e}") from None


# --- Iceberg metadata -----------------------------------------------------------------


def _metadata(location: str) -> dict[str, Any]:
    if location.endswith(".gz.metadata.json") or location.endswith(".metadata.json.gz"):
        raise Unsupported("compressed table metadata")
    try:
        data: dict[str, Any] = json.loads(_read_bytes(location))
    except ValueError as e:
        raise Unsupported(f"bad table metadata {location}: {e}") from None
    if data.get("format-version") not in (1, 2):
        raise Unsupported(f"format version {data.get('format-version')}")
    return data


def _snapshot(metadata: Mapping[str, Any], snapshot_id: int | None) -> dict[str, Any] | None:
    if snapshot_id is None:
        current = metadata.get("current-snapshot-id")
        if current is None or current == -1:
            return None
        snapshot_id = int(current)
    for snapshot in metadata.get("snapshots", ()):
        if int(snapshot["snapshot-id"]) == snapshot_id:
            found: dict[str, Any] = snapshot
            return found
    raise Unsupported(f"snapshot {snapshot_id} not in the table metadata")


def snapshot_files(metadata: Mapping[str, Any], snapshot_id: int | None = None) -> list[str]:
    """Data file locations of a snapshot (default: current), in manifest order.

    What ``table.scan(snapshot_id=...).plan_files()`` lists, for tables without deletes.
    """
    snapshot = _snapshot(metadata, snapshot_id)
    if snapshot is None:
        return []
    manifest_list = snapshot.get("manifest-list")
    if not manifest_list:
        raise Unsupported("a v1 snapshot without a manifest list")
    files: list[str] = []
    for manifest in read_avro(_read_bytes(str(manifest_list))):
        if manifest.get("content", _DATA) != _DATA:
            raise Unsupported("delete manifests")
        for entry in read_avro(_read_bytes(str(manifest["manifest_path"]))):
            if entry["status"] == _DELETED:
                continue
            data_file = entry["data_file"]
            if data_file.get("content", _DATA) != _DATA:
                raise Unsupported("delete files")
            if str(data_file.get("file_format", "PARQUET")).upper() != "PARQUET":
                raise Unsupported(f"{data_file.get('file_format')} data files")
            files.append(str(data_file["file_path"]))
    return files


_SQL_TYPES = {
    "boolean": "BOOLEAN",
    "int": "INTEGER",
    "long": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "date": "DATE",
    "time": "TIME",
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMP WITH TIME ZONE",
    "timestamp_ns": "TIMESTAMP_NS",
    "string": "VARCHAR",
    "uuid": "BLOB",  # pyiceberg's Arrow schema: fixed_size_binary(16)
    "binary": "BLOB",
}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_type(iceberg_type: Any) -> str:
    """The DuckDB type of an Iceberg type (JSON form), as pyiceberg's Arrow schema maps it."""
    if isinstance(iceberg_type, str):
        if iceberg_type in _SQL_TYPES:
            return _SQL_TYPES[iceberg_type]
        if iceberg_type.startswith("decimal(") and iceberg_type.endswith(")"):
            precision, scale = (int(p) for p in iceberg_type[8:-1].split(","))
            return f"DECIMAL({precision},{scale})"
        if iceberg_type.startswith("fixed["):
            return "BLOB"
        raise Unsupported(f"Iceberg type {iceberg_type}")
    kind = iceberg_type.get("type") if isinstance(iceberg_type, dict) else None
    if kind == "struct":
        fields = ", ".join(
            f"{_quote(str(f['name']))} {sql_type(f['type'])}" for f in iceberg_type["fields"]
        )
        return f"STRUCT({fields})"
    if kind == "list":
        return sql_type(iceberg_type["element"]) + "[]"
    if kind == "map":
        return f"MAP({sql_type(iceberg_type['key'])}, {sql_type(iceberg_type['value'])})"
    raise Unsupported(f"Iceberg type {iceberg_type!r}")


def table_columns(metadata: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(name, DuckDB type)`` of the table's current schema."""
    current = metadata.get("current-schema-id", 0)
    for schema in metadata.get("schemas", ()):
        if schema.get("schema-id", 0) == current:
            return [(str(f["name"]), sql_type(f["type"])) for f in schema["fields"]]
    if "schema" in metadata:  # format version 1
        return [(str(f["name"]), sql_type(f["type"])) for f in metadata["schema"]["fields"]]
    raise Unsupported("no current schema")


# --- the catalog ----------------------------------------------------------------------


def _catalog_rows(root: Path) -> tuple[dict[str, dict[str, str]], str | None]:
    """``{namespace: {table: metadata location}}`` and the published marker's JSON.

    Raises :class:`WarehouseError` when the tables live in another folder (moved or copied).
    """
    path = root / CATALOG_FILE
    if not path.is_file():
        raise Unsupported(f"no catalog at {path}")
    try:
        con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise Unsupported(f"cannot open {path}: {e}") from None
    try:
        con.execute("BEGIN")  # one read transaction: the marker and tables from one moment
        columns = {row[1] for row in con.execute("PRAGMA table_info(iceberg_tables)")}
        typed = " AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)"
        rows = con.execute(
            "SELECT table_namespace, table_name, metadata_location FROM iceberg_tables "
            "WHERE catalog_name = ? AND table_namespace IN (?, ?)"
            + (typed if "iceberg_type" in columns else ""),
            (CATALOG_NAME, STAR_NAMESPACE, RAW_NAMESPACE),
        ).fetchall()
        marker = con.execute(
            "SELECT property_value FROM iceberg_namespace_properties "
            "WHERE catalog_name = ? AND namespace = ? AND property_key = ?",
            (CATALOG_NAME, STAR_NAMESPACE, PUBLISHED_PROPERTY),
        ).fetchone()
    except sqlite3.Error as e:  # not pyiceberg's layout, locked, corrupt...
        raise Unsupported(f"cannot read the catalog: {e}") from None
    finally:
        con.close()
    tables: dict[str, dict[str, str]] = {STAR_NAMESPACE: {}, RAW_NAMESPACE: {}}
    for namespace, name, location in rows:
        if not location:
            raise Unsupported(f"{namespace}.{name} has no metadata location")
        tables[str(namespace)][str(name)] = str(location)
    check_not_moved(root, rows)
    return tables, (str(marker[0]) if marker else None)


def _marker_snapshots(text: str | None) -> dict[str, int]:
    if not text:
        return {}
    try:
        data = json.loads(text)
        return {str(k): int(v) for k, v in data.get("snapshots", {}).items()}
    except (ValueError, TypeError, AttributeError) as e:
        raise Unsupported(f"unreadable {PUBLISHED_PROPERTY} marker: {e}") from None


def latest_tables(root: Path) -> LatestTables:
    """Every star table at the published marker's snapshot (empty without a marker: no
    publish has finished), every raw table (``raw_`` prefix) at its current snapshot: their
    files, and the columns of those without files. Raises :class:`Unsupported` for anything
    unexpected."""
    tables, marker = _catalog_rows(root)
    published = _marker_snapshots(marker)
    files: dict[str, list[str]] = {}
    columns: dict[str, list[tuple[str, str]]] = {}
    evolved: set[str] = set()
    for namespace, prefix in ((STAR_NAMESPACE, ""), (RAW_NAMESPACE, "raw_")):
        for name, location in tables[namespace].items():
            metadata = _metadata(location)
            snapshot = published.get(name) if namespace == STAR_NAMESPACE else None
            try:
                if namespace == STAR_NAMESPACE and not published:
                    found = []  # a first publish still running, or killed part-way
                else:
                    found = snapshot_files(metadata, snapshot)
            except (KeyError, TypeError, ValueError) as e:
                raise Unsupported(f"unexpected manifest content: {e!r}") from None
            query_name = prefix + name
            files[query_name] = [local_file(f) for f in found]
            if not found:
                columns[query_name] = table_columns(metadata)
            if len(metadata.get("schemas", ())) != 1:
                evolved.add(query_name)
    return LatestTables(files, columns, evolved)
