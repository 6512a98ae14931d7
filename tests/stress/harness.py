"""Shared machinery of the adversarial suite: CLI processes, warehouse fingerprints, greps."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from rawgwh.settings import Settings
from rawgwh.source.simulator import RequestLog, Simulator
from rawgwh.source.simulator.catalog import parse_query
from rawgwh.warehouse.catalog import Warehouse

__all__ = [
    "KEY",
    "VOLATILE",
    "Cli",
    "content_hashes",
    "files_containing",
    "games_served",
    "raw_ids",
    "requests_since",
    "served_faults",
    "tree_fingerprint",
]

KEY = "stress-secret-key-7f3a9c"
#: Columns that differ between two runs fetching the same data: when and by which sync.
VOLATILE = frozenset({"_sync_id", "_fetched_at"})

_DEBUG_LOGGING = "import logging\nlogging.basicConfig(level=logging.DEBUG)\n"


@dataclass(frozen=True, slots=True)
class Cli:
    """Runs ``python -m rawgwh`` the way a user does: a fresh process, the key in the
    environment, every library logging at DEBUG, stdout and stderr kept in ``logs``."""

    logs: Path
    config: Path | None = None
    key: str | None = KEY

    def env(self) -> dict[str, str]:
        self.logs.mkdir(parents=True, exist_ok=True)
        site = self.logs / "site"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(_DEBUG_LOGGING)
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "PYTHONUNBUFFERED": "1"}
        if self.key is not None:
            env["RAWG_API_KEY"] = self.key
        if self.config is not None:
            env["RAWGWH_CONFIG"] = str(self.config)
        return env

    def start(self, args: Sequence[str], name: str) -> subprocess.Popen[bytes]:
        env = self.env()
        out = open(self.logs / f"{name}.out", "wb")  # noqa: SIM115 - closed by the child's end
        err = open(self.logs / f"{name}.err", "wb")  # noqa: SIM115
        try:
            return subprocess.Popen(
                [sys.executable, "-m", "rawgwh", *args], env=env, stdout=out, stderr=err
            )
        finally:
            out.close()
            err.close()

    def run(self, args: Sequence[str], name: str, timeout: float = 180) -> tuple[int, str, str]:
        proc = self.start(args, name)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        return code, self.read(name, "out"), self.read(name, "err")

    def read(self, name: str, stream: str) -> str:
        return (self.logs / f"{name}.{stream}").read_text(errors="replace")


def _table_digest(rows: Iterable[dict[str, Any]]) -> str:
    """Order-free digest of rows: each row canonical JSON, the lines sorted, then hashed."""
    lines = sorted(
        orjson.dumps(row, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
        for row in rows
    )
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line)
        digest.update(b"\n")
    return f"{len(lines)}:{digest.hexdigest()[:16]}"


def content_hashes(warehouse: Path) -> dict[str, str]:
    """``{namespace.table: digest}`` of every raw and star table's current rows, without the
    columns that name the run which fetched them. Two warehouses holding the same data, in
    whatever files and snapshots, have the same digests; a duplicate row changes them."""
    store = Warehouse.open(Settings(warehouse=str(warehouse)))
    out: dict[str, str] = {}
    for namespace in ("raw", "star"):
        if not store.catalog.namespace_exists(namespace):
            continue
        for identifier in store.catalog.list_tables(namespace):
            table = store.catalog.load_table(identifier)
            arrow = table.scan().to_arrow()
            keep = [n for n in arrow.column_names if n not in VOLATILE]
            out[".".join(identifier)] = _table_digest(arrow.select(keep).to_pylist())
    return out


def raw_ids(warehouse: Path) -> list[int]:
    """``raw.games`` ids, one per stored version."""
    store = Warehouse.open(Settings(warehouse=str(warehouse)))
    table = store.catalog.load_table("raw.games")
    return [int(i) for i in table.scan(selected_fields=("id",)).to_arrow().column("id").to_pylist()]


def _useful(entry: RequestLog) -> bool:
    return entry.status in (200, 404) and entry.fault in (None, "slow")


def requests_since(sim: Simulator, start: int) -> int:
    """Requests that did real work (not a fault the server injected) after log entry ``start``."""
    return sum(1 for r in list(sim.stats.log)[start:] if _useful(r))


def games_served(sim: Simulator, start: int) -> int:
    """Games the server sent in answers that reached the client, after log entry ``start``.

    Recomputed from each request's query: valid while the catalogue does not change."""
    total = 0
    for entry in list(sim.stats.log)[start:]:
        if entry.status != 200 or not _useful(entry):
            continue
        query, page, size = parse_query(entry.params)
        rows = len(sim.catalog.select(query))
        total += max(0, min(size, rows - (page - 1) * size))
    return total


def served_faults(sim: Simulator, start: int) -> int:
    return sum(1 for r in list(sim.stats.log)[start:] if r.fault is not None)


def files_containing(root: Path, needle: str) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``needle`` (the secret grep)."""
    raw = needle.encode()
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and path.name != "sitecustomize.py" and raw in path.read_bytes():
            hits.append(path)
    return hits


def tree_fingerprint(root: Path) -> dict[str, tuple[int, int]]:
    """``{relative path: (size, mtime_ns)}`` of every file: equal before and after means
    nothing was changed, created or removed."""
    if not root.exists():
        return {}
    if root.is_file():
        stat = root.stat()
        return {".": (stat.st_size, stat.st_mtime_ns)}
    out = {}
    for path in root.rglob("*"):
        if path.is_file():
            stat = path.stat()
            out[os.path.relpath(path, root)] = (stat.st_size, stat.st_mtime_ns)
    return out
