"""Sync throughput and peak memory against the simulator on loopback.

    python -m benchmarks.sync_bench --games 200000 --repeat 3
    python -m benchmarks.sync_bench --games 1000000 --repeat 1

The simulator runs in its own process; each sync runs as a fresh ``rawgwh sync`` process
into an empty warehouse, and we report its wall time, games/s and peak RSS (``wait4``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from benchmarks._proc import measure, rawgwh_cmd, simulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--publish", action="store_true", help="also model and publish the star (whole flow)"
    )
    args = parser.parse_args()

    runs = []
    with simulator(args.games) as url:
        for i in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                m = measure(
                    rawgwh_cmd(
                        "sync",
                        "--quiet",
                        "--base-url",
                        url,
                        "--warehouse",
                        str(Path(tmp) / "wh"),
                        "--concurrency",
                        str(args.concurrency),
                        *([] if args.publish else ["--raw-only"]),
                    )
                )
            if m.returncode != 0:
                raise SystemExit(f"sync failed with exit code {m.returncode}")
            rate = args.games / m.seconds
            runs.append({"seconds": m.seconds, "games_per_s": rate, "peak_rss_mb": m.peak_rss_mb})
            rss = m.peak_rss_mb
            print(f"run {i + 1}: {m.seconds:.2f} s, {rate:,.0f} games/s, peak RSS {rss:,.0f} MB")
    summary = {
        "games": args.games,
        "publish": args.publish,
        "runs": runs,
        "median_seconds": statistics.median(r["seconds"] for r in runs),
        "median_games_per_s": statistics.median(r["games_per_s"] for r in runs),
        "max_peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
