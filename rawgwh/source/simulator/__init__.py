"""A RAWG-compatible API on loopback, for tests, the demo and benchmarks.

Synthetic games are shaped on real RAWG data (rawg.io); ``from_file`` serves real records.
"""

from __future__ import annotations

from rawgwh.source.simulator.faults import FaultKind, Faults
from rawgwh.source.simulator.server import RequestLog, Simulator, Stats, main, run

__all__ = ["Simulator", "Faults", "FaultKind", "Stats", "RequestLog", "run", "main"]
