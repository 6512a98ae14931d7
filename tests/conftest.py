"""Shared fixtures: a clean environment for every test, and the real RAWG sample."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "rawg" / "games-2015.jsonl.gz"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's keys, endpoints or warehouse."""
    for name in list(os.environ):
        if name.startswith(("RAWG", "AWS", "PYICEBERG")):
            monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture(scope="session")
def sample_path() -> Path:
    if not SAMPLE.exists():
        pytest.skip(f"real sample not found at {SAMPLE}")
    return SAMPLE


@pytest.fixture(scope="session")
def sample_records(sample_path: Path) -> list[dict[str, Any]]:
    """The 10,000 real games of 2015 (data from RAWG, rawg.io)."""
    with gzip.open(sample_path, "rb") as f:
        return [orjson.loads(line) for line in f if line.strip()]
