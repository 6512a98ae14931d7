"""The simulator's games and the queries it answers, RAWG style.

Games live in compact columns (``array.array``) for filtering and sorting with
``pyarrow.compute``; each game's JSON is produced by a subclass (stored bytes for a
file, a header spliced onto a shared body for synthetic data). A sorted result is
cached per query, so paging through one query sorts once.
"""

from __future__ import annotations

import gzip
import random
import threading
import time
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "ORDERINGS",
    "FACETS",
    "QueryError",
    "Query",
    "parse_query",
    "Catalog",
    "FileCatalog",
    "fmt_ts",
    "parse_ts",
    "to_days",
    "fmt_day",
]

ORDERINGS = ("name", "released", "added", "created", "updated", "rating", "metacritic")
FACETS = ("platforms", "stores", "genres", "tags")
# Nulls sort as the largest value, which gives PostgreSQL's ASC NULLS LAST / DESC NULLS FIRST.
NULL_DAY = 2**31 - 1
NULL_INT = 2**62
MAX_PAGE_SIZE = 40
DEFAULT_PAGE_SIZE = 20
_EPOCH = date(1970, 1, 1).toordinal()
_EPOCH_DT = datetime(1970, 1, 1)
_CACHE_SIZE = 16


class QueryError(ValueError):
    """A query parameter RAWG would reject (answered with 400)."""


def to_days(value: str) -> int:
    return date.fromisoformat(value).toordinal() - _EPOCH


def fmt_day(days: int) -> str:
    return date.fromordinal(days + _EPOCH).isoformat()


def parse_ts(value: str) -> int:
    """``YYYY-MM-DDTHH:MM:SS`` (UTC, naive) to epoch seconds."""
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return int((dt - _EPOCH_DT).total_seconds())


def fmt_ts(secs: int) -> str:
    return (_EPOCH_DT + timedelta(seconds=secs)).isoformat()


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed list query, without paging (the cache key of a result)."""

    dates: tuple[int, int] | None = None
    updated: tuple[int, int] | None = None
    ordering: str = "created"
    descending: bool = False
    platforms: frozenset[int] | None = None
    stores: frozenset[int] | None = None
    genres: frozenset[int] | None = None
    tags: frozenset[int] | None = None


def _window(name: str, raw: str, parse: Any) -> tuple[Any, Any]:
    parts = raw.split(",")
    if len(parts) != 2:
        raise QueryError(f"{name} must be two values separated by a comma, got {raw!r}")
    try:
        return parse(parts[0].strip(), False), parse(parts[1].strip(), True)
    except ValueError:
        raise QueryError(f"{name} has a malformed date or timestamp: {raw!r}") from None


def _day(value: str, upper: bool) -> int:
    if len(value) != 10:
        raise ValueError(value)
    return to_days(value)


def _moment(value: str, upper: bool) -> int:
    if len(value) == 10:  # a bare date: the whole day
        return to_days(value) * 86400 + (86399 if upper else 0)
    if len(value) < 19 or value[10] not in "T ":
        raise ValueError(value)
    dt = datetime.fromisoformat(value)
    # Stored timestamps are whole seconds: a fractional lower bound starts one later.
    return parse_ts(value) + (1 if dt.microsecond and not upper else 0)


def _positive(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"{name} must be a positive integer, got {raw!r}") from None
    if value < 1:
        raise QueryError(f"{name} must be a positive integer, got {raw!r}")
    return value


def parse_query(params: Mapping[str, str]) -> tuple[Query, int, int]:
    """Parse list parameters to (query, page, page_size); raise QueryError when invalid."""
    page = _positive(params, "page", 1)
    page_size = min(_positive(params, "page_size", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
    kw: dict[str, Any] = {}
    if params.get("dates"):
        kw["dates"] = _window("dates", params["dates"], _day)
    if params.get("updated"):
        kw["updated"] = _window("updated", params["updated"], _moment)
    ordering = params.get("ordering") or ""
    if ordering:
        field = ordering.removeprefix("-")
        if field not in ORDERINGS:
            raise QueryError(f"ordering must be one of {', '.join(ORDERINGS)} (optionally -)")
        kw["ordering"], kw["descending"] = field, ordering.startswith("-")
    for facet in FACETS:
        raw = params.get(facet)
        if raw:
            try:
                kw[facet] = frozenset(int(x) for x in raw.split(",") if x.strip())
            except ValueError:
                raise QueryError(f"{facet} must be comma-separated ids, got {raw!r}") from None
    return Query(**kw), page, page_size


def _arrow(col: array[Any], kind: pa.DataType) -> pa.Array:
    return pa.Array.from_buffers(kind, len(col), [None, pa.py_buffer(col.tobytes())])


class Catalog:
    """Games as columns; subclasses say how a row becomes JSON bytes."""

    def __init__(self, *, now: int, seed: int = 0) -> None:
        self.lock = threading.RLock()
        self.ids = array("q")
        self.released = array("i")  # days since epoch, NULL_DAY when null
        self.updated = array("q")  # epoch seconds
        self.created = array("q")  # hidden creation time, never in records
        self.added = array("q")
        self.rating = array("d")
        self.metacritic = array("q")  # NULL_INT when null
        self.group = array("i")  # index into groups (the facet ids a game has)
        self.alive = bytearray()
        self.groups: list[tuple[frozenset[int], ...]] = []
        self._row_of: dict[int, int] | None = None  # id -> row, built when first needed
        self.base_now = now
        self.max_updated = now
        self.version = 0
        self._rng = random.Random(f"mutations:{seed}")
        self._cache: OrderedDict[Query, Sequence[int]] = OrderedDict()
        self._columns: dict[str, pa.Array] = {}
        self._names: pa.Array | None = None
        self._live = 0

    # -- subclass hooks ------------------------------------------------------------
    def render(self, row: int) -> bytes:
        raise NotImplementedError

    def name(self, row: int) -> str:
        raise NotImplementedError

    def _touched(self, row: int) -> None:
        """Called after a row's updated/rating/added changed."""

    def _new_rows(self, n: int, rng: random.Random) -> None:
        raise NotImplementedError

    # -- reading -------------------------------------------------------------------
    def __len__(self) -> int:
        return self._live

    @property
    def now(self) -> int:
        return max(self.base_now, self.max_updated)

    def _append(self, gid: int, released: int, updated: int, created: int, added: int,
                rating: float, metacritic: int, group: int) -> None:  # fmt: skip
        if self._row_of is not None:
            self._row_of[gid] = len(self.ids)
        self.ids.append(gid)
        self.released.append(released)
        self.updated.append(updated)
        self.created.append(created)
        self.added.append(added)
        self.rating.append(rating)
        self.metacritic.append(metacritic)
        self.group.append(group)
        self.alive.append(1)
        self._live += 1
        if updated > self.max_updated:
            self.max_updated = updated

    def records(self) -> Iterator[dict[str, Any]]:
        """Every live game as a dict, in id order."""
        with self.lock:
            rows = sorted(
                (r for r in range(len(self.ids)) if self.alive[r]), key=self.ids.__getitem__
            )
            blobs = [self.render(r) for r in rows]
        for blob in blobs:
            yield orjson.loads(blob)

    def _column(self, name: str) -> pa.Array:
        col = self._columns.get(name)
        if col is None:
            if name == "name":
                if self._names is None or len(self._names) != len(self.ids):
                    self._names = pa.array([self.name(r) for r in range(len(self.ids))])
                col = self._names
            elif name == "alive":
                col = pc.not_equal(_arrow(array("B", self.alive), pa.uint8()), 0)
            else:
                src: array[Any] = getattr(self, name)
                kind = {"i": pa.int32(), "q": pa.int64(), "d": pa.float64()}[src.typecode]
                col = _arrow(src, kind)
            self._columns[name] = col
        return col

    def _facet_mask(self, facet: int, wanted: frozenset[int]) -> pa.Array:
        hit = pa.array([not wanted.isdisjoint(g[facet]) for g in self.groups], pa.bool_())
        return pc.take(hit, self._column("group"))

    def select(self, query: Query) -> Sequence[int]:
        """Row indices matching ``query``, in its order (ties by id). Cached."""
        with self.lock:
            hit = self._cache.get(query)
            if hit is not None:
                self._cache.move_to_end(query)
                return hit
            mask = self._column("alive")
            if query.dates is not None:
                col = self._column("released")
                lo, hi = query.dates
                mask = pc.and_(mask, pc.and_(pc.greater_equal(col, lo), pc.less_equal(col, hi)))
                mask = pc.and_(mask, pc.not_equal(col, NULL_DAY))
            if query.updated is not None:
                col = self._column("updated")
                lo, hi = query.updated
                mask = pc.and_(mask, pc.and_(pc.greater_equal(col, lo), pc.less_equal(col, hi)))
            for i, facet in enumerate(FACETS):
                wanted = getattr(query, facet)
                if wanted is not None:
                    mask = pc.and_(mask, self._facet_mask(i, wanted))
            rows = pc.indices_nonzero(mask)
            table = pa.table(
                {
                    "k": pc.take(self._column(query.ordering), rows),
                    "i": pc.take(self._column("ids"), rows),
                }
            )
            order = "descending" if query.descending else "ascending"
            idx = pc.sort_indices(table, sort_keys=[("k", order), ("i", "ascending")])
            taken = pc.take(rows, idx).cast(pa.int64())
            result = array("q")
            if len(taken):
                data = taken.buffers()[1].to_pybytes()
                result.frombytes(data[taken.offset * 8 : (taken.offset + len(taken)) * 8])
            self._cache[query] = result
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
            return result

    # -- mutations -----------------------------------------------------------------
    def _changed(self) -> None:
        self.version += 1
        self._cache.clear()
        self._columns.clear()

    def next_ts(self) -> int:
        """A timestamp strictly later than every ``updated`` so far."""
        self.max_updated = max(self.max_updated + 1, int(time.time()))
        return self.max_updated

    def touch_rows(self, rows: Iterable[int]) -> list[int]:
        with self.lock:
            ids = []
            for row in rows:
                self.updated[row] = self.next_ts()
                self.added[row] += self._rng.randint(1, 5)
                self.rating[row] = round(self._rng.uniform(1.0, 5.0), 2)
                self._touched(row)
                ids.append(self.ids[row])
            self._changed()
            return ids

    def touch(self, n: int, seed: int) -> list[int]:
        with self.lock:
            live = [r for r in range(len(self.ids)) if self.alive[r]]
            rows = random.Random(seed).sample(live, min(n, len(live)))
            return self.touch_rows(rows)

    def touch_ids(self, ids: Iterable[int]) -> list[int]:
        with self.lock:
            return self.touch_rows([self._live_row(g) for g in ids])

    def release_ids(self, ids: Iterable[int], day: str | None) -> list[int]:
        """Give games a release date (None takes it away), as an edit does: ``updated`` moves."""
        with self.lock:
            rows = [self._live_row(g) for g in ids]
            for row in rows:
                self.released[row] = to_days(day) if day else NULL_DAY
            return self.touch_rows(rows)

    def add(self, n: int) -> list[int]:
        with self.lock:
            start = len(self.ids)
            self._new_rows(n, self._rng)
            self._changed()
            return list(self.ids[start:])

    def delete(self, ids: Iterable[int]) -> None:
        with self.lock:
            for gid in ids:
                self.alive[self._live_row(gid)] = 0
                self._live -= 1
            self._changed()

    def row_of(self, gid: int) -> int | None:
        if self._row_of is None:
            self._row_of = {g: r for r, g in enumerate(self.ids)}
        return self._row_of.get(gid)

    def _live_row(self, gid: int) -> int:
        row = self.row_of(gid)
        if row is None or not self.alive[row]:
            raise KeyError(f"no live game with id {gid}")
        return row


def _day_or_null(value: Any) -> int:
    return to_days(value) if isinstance(value, str) else NULL_DAY


def _facet_ids(record: Mapping[str, Any]) -> tuple[frozenset[int], ...]:
    def ids(items: Any, inner: str | None) -> frozenset[int]:
        out = set()
        for item in items or ():
            ref = item.get(inner) if inner else item
            if isinstance(ref, dict) and isinstance(ref.get("id"), int):
                out.add(ref["id"])
        return frozenset(out)

    return (
        ids(record.get("platforms"), "platform"),
        ids(record.get("stores"), "store"),
        ids(record.get("genres"), None),
        ids(record.get("tags"), None),
    )


class FileCatalog(Catalog):
    """Real records from a ``.jsonl``/``.jsonl.gz`` file, served byte for byte."""

    CREATED_BASE = parse_ts("2016-01-01T00:00:00")

    def __init__(self, path: Path | str) -> None:
        path = Path(path)
        opener: Any = gzip.open if path.suffix == ".gz" else open
        self.blobs: list[bytes] = []
        self.names: list[str] = []
        try:
            with opener(path, "rb") as f:
                lines = [line.strip() for line in f if line.strip()]
        except (gzip.BadGzipFile, EOFError, zlib.error) as e:
            raise ValueError(
                f"{path}: cannot be unpacked ({e}): give a whole gzip file, or plain .jsonl"
            ) from None
        records = [self._record(path, line) for line in lines]
        now = max((parse_ts(r["updated"]) for r in records), default=0)
        super().__init__(now=now)
        for line, rec in zip(lines, records, strict=True):
            if not isinstance(rec.get("id"), int) or self.row_of(rec["id"]) is not None:
                raise ValueError(f"{path}: record without a unique integer id: {line[:80]!r}")
            self._add_record(rec, line, created=self.CREATED_BASE + 60 * rec["id"])

    @staticmethod
    def _record(path: Path, line: bytes) -> dict[str, Any]:
        try:
            rec: dict[str, Any] = orjson.loads(line)
            parse_ts(rec["updated"])
        except (ValueError, KeyError, TypeError):
            raise ValueError(
                f"{path}: each line must be a RAWG game as a JSON object with an 'updated' "
                f"time, got {line[:80]!r}"
            ) from None
        return rec  # a dict: only a JSON object can be indexed by "updated"

    def _add_record(self, rec: dict[str, Any], blob: bytes, *, created: int) -> None:
        meta = rec.get("metacritic")
        self.groups.append(_facet_ids(rec))
        self.blobs.append(blob)
        self.names.append(str(rec.get("name") or ""))
        self._append(
            rec["id"],
            _day_or_null(rec.get("released")),
            parse_ts(rec["updated"]),
            created,
            int(rec.get("added") or 0),
            float(rec.get("rating") or 0.0),
            meta if isinstance(meta, int) else NULL_INT,
            len(self.groups) - 1,
        )

    def render(self, row: int) -> bytes:
        return self.blobs[row]

    def name(self, row: int) -> str:
        return self.names[row]

    def _touched(self, row: int) -> None:
        rec = orjson.loads(self.blobs[row])
        day = self.released[row]
        rec["released"] = None if day == NULL_DAY else fmt_day(day)
        rec["updated"] = fmt_ts(self.updated[row])
        rec["added"] = self.added[row]
        rec["rating"] = self.rating[row]
        self.blobs[row] = orjson.dumps(rec)

    def _new_rows(self, n: int, rng: random.Random) -> None:
        # A new game is a copy of a random existing one under a fresh id and name.
        for _ in range(n):
            rec = orjson.loads(self.blobs[rng.randrange(len(self.blobs))])
            gid = max(self.ids) + rng.randint(1, 50)
            ts = self.next_ts()
            rec.update(id=gid, slug=f"{rec.get('slug')}-{gid}", name=f"{rec.get('name')} {gid}")
            rec.update(updated=fmt_ts(ts), added=0, rating=0.0)
            self._add_record(rec, orjson.dumps(rec), created=ts)
