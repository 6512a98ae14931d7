"""Pytest fixtures for the local Nessie + S3 stack (see tests/stack.py)."""

from __future__ import annotations

import contextlib
import re
import shutil
import uuid
from collections.abc import Iterator

import httpx
import pytest
from stack import (
    StackError,
    StackInfo,
    acquire,
    create_branch,
    delete_branch,
    jar_cached,
    java_available,
    release,
)

from rawgwh.errors import WarehouseError


@pytest.fixture(scope="session")
def stack() -> Iterator[StackInfo]:
    """The running stack, started if needed.

    A stack this session started is stopped at session end unless another live test session
    still uses it (the last one stops it); a stack started by `tests/stack.py start` is kept.
    """
    reason = java_available()
    if reason is None and not jar_cached() and shutil.which("mvn") is None:
        reason = "the Nessie jar is not cached and Maven (mvn) is not installed to fetch it"
    if reason is not None:
        pytest.skip(f"Nessie stack unavailable: {reason}")
    try:
        info, _ = acquire()
    except StackError as exc:
        pytest.fail(f"Nessie stack did not start: {exc}", pytrace=False)
    yield info
    release()


@pytest.fixture
def nessie_branch(stack: StackInfo, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh Nessie branch from main for one test, deleted afterwards (best effort)."""
    label = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-")[:40] or "test"
    name = f"test/{label}-{uuid.uuid4().hex[:8]}"
    create_branch(stack, name)
    yield name
    # Best effort: the stack may already be gone, and an in-memory branch dies with it.
    with contextlib.suppress(httpx.HTTPError, WarehouseError):
        delete_branch(stack, name)
