"""The star schema: pure Polars transforms from raw game versions to dimensions and facts."""

from __future__ import annotations

from rawgwh.model.schema import (
    DIMENSIONS,
    GAME_TABLES,
    INPUT_COLUMNS,
    STAR_SCHEMAS,
    STAR_TABLES,
    Dimension,
)
from rawgwh.model.star import StarBuild, build_star, latest_versions, merge_star, star_to_arrow

__all__ = [
    "DIMENSIONS",
    "GAME_TABLES",
    "INPUT_COLUMNS",
    "STAR_SCHEMAS",
    "STAR_TABLES",
    "Dimension",
    "StarBuild",
    "build_star",
    "latest_versions",
    "merge_star",
    "star_to_arrow",
]
