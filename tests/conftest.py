"""Shared fixtures: a clean environment for every test, and the real RAWG sample."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from pg_fixture import postgres_url  # noqa: F401  (a throwaway PostgreSQL server)
from stack_fixture import nessie_branch, stack  # noqa: F401  (Nessie + S3 stack fixtures)

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "rawg" / "games-2015.jsonl.gz"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's keys, endpoints or warehouse."""
    for name in list(os.environ):
        if name.startswith(("RAWG", "AWS", "PYICEBERG")):
            monkeypatch.delenv(name, raising=False)
    yield


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests using ``backend`` run twice: on the embedded default and on the full stack."""
    if "backend" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("embedded_only")
        metafunc.parametrize(
            "backend", ["embedded"] if only else ["embedded", "stack"], indirect=True
        )


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Where this test's warehouses live: ``make_settings`` follows it."""
    import helpers

    if request.param == "embedded":
        yield "embedded"
        return
    info = request.getfixturevalue("stack")
    branch = request.getfixturevalue("nessie_branch")
    helpers.BACKEND = helpers.StackTarget.on(info, branch)
    try:
        yield "stack"
    finally:
        helpers.BACKEND = None


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
