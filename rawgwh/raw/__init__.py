"""The raw zone: API records as typed Arrow rows, one row per game version."""

from __future__ import annotations

from rawgwh.raw.parse import ParsedGames, Reject, empty_games, parse_games, rejects_table
from rawgwh.raw.schema import RAW_GAMES_SCHEMA, REJECTS_SCHEMA

__all__ = [
    "RAW_GAMES_SCHEMA",
    "REJECTS_SCHEMA",
    "ParsedGames",
    "Reject",
    "empty_games",
    "parse_games",
    "rejects_table",
]
