"""Counters the adversarial suite fills in, printed as one table when the session ends.

Tests in any folder may count here (``from stress.summary import TALLY``); the table is
printed by ``tests/stress/conftest.py`` whenever that folder was collected.
"""

from __future__ import annotations

from collections import Counter

__all__ = ["TALLY", "ROWS", "count", "table_lines"]

#: (counter, what it counts, the value it must keep; None: any)
ROWS: tuple[tuple[str, str, int | None], ...] = (
    ("kills survived", "SIGKILLed syncs that resumed and converged exactly", None),
    ("games fetched again", "games a killed sync had fetched but not committed", None),
    ("faults injected", "simulator faults served to syncs (all kinds)", None),
    ("bad inputs tried", "hostile flags, files, SQL, keys and JSON values", None),
    ("games lost", "valid games missing or duplicated after a run", 0),
    ("secrets leaked", "API key occurrences in output, logs, files", 0),
)

TALLY: Counter[str] = Counter()


def count(name: str, n: int = 1) -> None:
    if name not in {row[0] for row in ROWS}:
        raise KeyError(f"unknown stress counter {name!r}")
    TALLY[name] += n


def table_lines() -> list[str]:
    width = max(len(name) for name, _, _ in ROWS)
    lines = [f"{'counter':<{width}}  {'value':>8}  must be  what"]
    for name, what, must in ROWS:
        value = TALLY[name]
        flag = "" if must is None or value == must else "  <-- FAILED"
        want = "any" if must is None else str(must)
        lines.append(f"{name:<{width}}  {value:>8,}  {want:>7}  {what}{flag}")
    return lines
