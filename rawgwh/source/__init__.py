"""The RAWG source: the HTTP client, windows and pagination, and the simulator."""

from __future__ import annotations

from rawgwh.source.client import Page, RawgClient
from rawgwh.source.extract import Extractor, ExtractStats, Partial
from rawgwh.source.windows import DateWindow, UndatedWindow, UpdatedWindow, Window, parse_dates

__all__ = [
    "DateWindow",
    "ExtractStats",
    "Extractor",
    "Page",
    "Partial",
    "RawgClient",
    "UndatedWindow",
    "UpdatedWindow",
    "Window",
    "parse_dates",
]
