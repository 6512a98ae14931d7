"""rawgwh: a local-first warehouse for RAWG video-game data (data from RAWG, rawg.io).

The library behind the ``rawgwh`` command::

    from rawgwh import load_settings, sync, open_warehouse_engine

    settings = load_settings({"warehouse": "./warehouse"})
    result = sync(settings)                    # fetch -> raw zone -> star schema
    with open_warehouse_engine(settings) as engine:
        print(engine.query("SELECT count(*) FROM fact_games"))

Names load lazily, so importing :mod:`rawgwh` (and starting the CLI) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Settings",
    "load_settings",
    "sync",
    "SyncResult",
    "SyncProgress",
    "Warehouse",
    "publish_star",
    "check_published",
    "warehouse_status",
    "open_warehouse_engine",
    "QueryEngine",
    "RawgClient",
    "Simulator",
    "RawgwhError",
]

_WHERE = {
    "Settings": "rawgwh.settings",
    "load_settings": "rawgwh.settings",
    "sync": "rawgwh.sync",
    "SyncResult": "rawgwh.sync",
    "SyncProgress": "rawgwh.sync",
    "Warehouse": "rawgwh.warehouse.catalog",
    "publish_star": "rawgwh.warehouse.publish",
    "check_published": "rawgwh.warehouse.publish",
    "warehouse_status": "rawgwh.warehouse.inspect",
    "open_warehouse_engine": "rawgwh.query.warehouse",
    "QueryEngine": "rawgwh.query.engine",
    "RawgClient": "rawgwh.source.client",
    "Simulator": "rawgwh.source.simulator",
    "RawgwhError": "rawgwh.errors",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'rawgwh' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
