"""Records in, Arrow out: turn API game records into ``raw.games`` rows.

Pure and fast: the whole page converts in one ``pyarrow`` call; only when that fails do
we fall back to one record at a time, so one bad record costs itself, not its page.
Records that cannot be stored (no integer id, no parseable ``updated``, a wrong type)
become rejects with a reason instead of failing the sync.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from rawgwh.raw.schema import RAW_GAMES_SCHEMA, REJECTS_SCHEMA, WIRE_GAME

__all__ = ["Reject", "ParsedGames", "parse_games", "rejects_table", "empty_games"]

_GAME_NAMES = [f.name for f in WIRE_GAME]


@dataclass(frozen=True, slots=True)
class Reject:
    reason: str
    record: str


@dataclass(frozen=True, slots=True)
class ParsedGames:
    games: pa.Table
    rejects: list[Reject]


def empty_games() -> pa.Table:
    return RAW_GAMES_SCHEMA.empty_table()


def _dump(record: Any) -> str:
    try:
        return orjson.dumps(record).decode()
    except TypeError:  # not JSON-serialisable (cannot happen for decoded JSON)
        return repr(record)


def _precheck(record: Any) -> str | None:
    """The one thing pyarrow will not tell us: whether a row can have a key."""
    if not isinstance(record, dict):
        return f"record is a {type(record).__name__}, not an object"
    game_id = record.get("id")
    if not isinstance(game_id, int) or isinstance(game_id, bool):
        return "id missing or not an integer"
    if not isinstance(record.get("updated"), str):
        return "updated missing or not a string"
    return None


def _to_columns(wire: pa.StructArray) -> list[pa.Array]:
    columns: list[pa.Array] = []
    for i, name in enumerate(_GAME_NAMES):
        col = wire.field(i)
        if name == "released":
            col = pc.cast(col, pa.date32())
        elif name == "updated":
            col = pc.cast(col, pa.timestamp("us"))
        columns.append(col)
    return columns


def _convert(records: Sequence[dict[str, Any]]) -> list[pa.Array]:
    return _to_columns(pa.array(records, type=WIRE_GAME))


def parse_games(records: Sequence[Any], *, sync_id: str, fetched_at: datetime) -> ParsedGames:
    """Convert decoded API records into a ``raw.games`` table plus rejects."""
    rejects: list[Reject] = []
    good: list[dict[str, Any]] = []
    for record in records:
        reason = _precheck(record)
        if reason is None:
            good.append(record)
        else:
            rejects.append(Reject(reason, _dump(record)))
    try:
        columns = _convert(good)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
        columns, good = _convert_one_by_one(good, rejects)
    n = len(good)
    meta = [
        pa.array([_dump(r) for r in good], type=pa.large_string()),
        pa.array([sync_id] * n, type=pa.string()),
        pa.array([fetched_at.replace(tzinfo=None)] * n, type=pa.timestamp("us")),
    ]
    games = pa.Table.from_arrays(columns + meta, schema=RAW_GAMES_SCHEMA)
    return ParsedGames(games, rejects)


def _convert_one_by_one(
    records: Sequence[dict[str, Any]], rejects: list[Reject]
) -> tuple[list[pa.Array], list[dict[str, Any]]]:
    kept: list[dict[str, Any]] = []
    converted: list[list[pa.Array]] = []
    for record in records:
        try:
            columns = _convert([record])
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError) as e:
            rejects.append(Reject(f"wrong type: {str(e).splitlines()[0][:200]}", _dump(record)))
        else:
            kept.append(record)
            converted.append(columns)
    if not converted:
        return _convert([]), kept
    # Join the rows converted one by one: converting the kept records together again can
    # still fail, as pyarrow reads some values differently next to others.
    return [pa.concat_arrays([row[i] for row in converted]) for i in range(len(_GAME_NAMES))], kept


def rejects_table(rejects: Sequence[Reject], *, sync_id: str, fetched_at: datetime) -> pa.Table:
    n = len(rejects)
    return pa.Table.from_arrays(
        [
            pa.array([r.reason for r in rejects], type=pa.string()),
            pa.array([r.record for r in rejects], type=pa.large_string()),
            pa.array([sync_id] * n, type=pa.string()),
            pa.array([fetched_at.replace(tzinfo=None)] * n, type=pa.timestamp("us")),
        ],
        schema=REJECTS_SCHEMA,
    )
