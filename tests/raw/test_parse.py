from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow.compute as pc

from rawgwh.raw import RAW_GAMES_SCHEMA, parse_games

NOW = datetime(2026, 1, 1)


def test_sample_converts_without_loss(sample_records: list[dict[str, Any]]) -> None:
    parsed = parse_games(sample_records, sync_id="s1", fetched_at=NOW)
    assert parsed.rejects == []
    games = parsed.games
    assert games.schema == RAW_GAMES_SCHEMA
    assert games.num_rows == len(sample_records)
    for column in ("platforms", "stores", "genres", "tags", "ratings", "parent_platforms"):
        expected = sum(len(r.get(column) or []) for r in sample_records)
        got = pc.sum(pc.list_value_length(games[column])).as_py() or 0
        assert got == expected, column


def test_bad_records_become_rejects_and_good_ones_stay() -> None:
    records: list[Any] = [
        {"id": 1, "updated": "2020-01-01T00:00:00", "name": "ok", "extra": {"x": 1}},
        {"id": "2", "updated": "2020-01-01T00:00:00"},
        {"id": 3},
        {"id": 4, "updated": "2020-01-01T00:00:00", "rating": "high"},
        ["not", "a", "game"],
    ]
    parsed = parse_games(records, sync_id="s1", fetched_at=NOW)
    assert parsed.games.column("id").to_pylist() == [1]
    assert len(parsed.rejects) == 4
    assert any("wrong type" in r.reason for r in parsed.rejects)
