"""``python -m rawgwh.source.simulator --port 8000 --games 100000``."""

from __future__ import annotations

from rawgwh.source.simulator.server import main

if __name__ == "__main__":
    main()
