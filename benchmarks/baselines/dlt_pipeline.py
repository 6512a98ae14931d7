"""Baseline, not product code: the dlt pipeline a dlt user would write to load RAWG games.

    python -m benchmarks.baselines.dlt_pipeline --base-url URL --dest DIR --pipelines-dir DIR
    python -m benchmarks.baselines.dlt_pipeline ... --incremental   # a later run, same dirs

dlt's REST API source reads ``/games`` 40 games a page with a page-number paginator, the
``updated`` field as incremental cursor, and loads to dlt's ``filesystem`` destination as
Parquet. The API key (env ``RAWG_API_KEY``, optional) goes in the ``key`` query parameter
through dlt's API-key auth, so dlt treats it as a secret.

Choices, made the way a dlt user would make them for this API:
- Cursor: RAWG filters on ``updated=FROM,TO`` (a range, not a single value), so the
  incremental's ``start_param`` is ``updated`` with a ``convert`` that appends a far upper
  bound; ``ordering=updated`` keeps page-number paging stable while games change.
- Pagination: RAWG answers ``count`` (games, not pages) and 404 "Invalid page." one past the
  last page, so the paginator has no ``total_path`` and a 404 ends the resource.
- Write disposition ``append``: dlt's filesystem destination cannot ``merge`` plain Parquet
  (it falls back to append); keeping every version and taking the latest per ``id`` on read is
  what rawgwh's raw zone does too. ``--table-format iceberg`` switches to ``merge`` (upsert
  into Iceberg via pyiceberg), which works offline but upserts in 1,000-row batches that each
  scan the table, so it is only practical for small catalogues.
- dlt's default normalisation: nested lists become child tables (``games__tags``, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

PIPELINE = "rawg_games"
DATASET = "rawg"
INITIAL_UPDATED = "1970-01-01T00:00:00"
# The upper end of RAWG's `updated` range: dlt's incremental only has a lower bound.
UPDATED_UPPER = "2100-01-01"


def updated_range(start: Any) -> str:
    """The incremental's start value as RAWG's ``updated=FROM,TO`` parameter."""
    value = start.isoformat() if hasattr(start, "isoformat") else str(start)
    return f"{value[:19]},{UPDATED_UPPER}"


def source_config(base_url: str, api_key: str | None, *, merge: bool) -> dict[str, Any]:
    """The ``rest_api_source`` configuration (a plain dict, as dlt's docs write it)."""
    client: dict[str, Any] = {
        "base_url": base_url.rstrip("/") + "/",
        "paginator": {
            "type": "page_number",
            "base_page": 1,
            "page_param": "page",
            "total_path": None,
            "stop_after_empty_page": True,
        },
    }
    if api_key:
        client["auth"] = {"type": "api_key", "name": "key", "api_key": api_key, "location": "query"}
    return {
        "client": client,
        "resource_defaults": {
            "primary_key": "id",
            "write_disposition": "merge" if merge else "append",
        },
        "resources": [
            {
                "name": "games",
                "endpoint": {
                    "path": "games",
                    "params": {"page_size": 40, "ordering": "updated"},
                    "data_selector": "results",
                    "incremental": {
                        "cursor_path": "updated",
                        "initial_value": INITIAL_UPDATED,
                        "start_param": "updated",
                        "convert": updated_range,
                    },
                    "response_actions": [{"status_code": 404, "action": "ignore"}],
                },
            }
        ],
    }


def run(
    base_url: str,
    dest: Path,
    pipelines_dir: Path,
    *,
    api_key: str | None = None,
    incremental: bool = False,
    table_format: str = "parquet",
) -> dict[str, Any]:
    """One pipeline run; a summary of what was loaded."""
    import dlt
    from dlt.sources.rest_api import rest_api_source

    has_state = (pipelines_dir / PIPELINE).exists()
    if incremental and not has_state:
        raise SystemExit(f"no earlier run in {pipelines_dir}: run once without --incremental first")
    if not incremental and has_state:
        raise SystemExit(f"{pipelines_dir} holds an earlier run: pass --incremental or a new dir")
    iceberg = table_format == "iceberg"
    source = rest_api_source(cast(Any, source_config(base_url, api_key, merge=iceberg)))
    pipeline = dlt.pipeline(
        pipeline_name=PIPELINE,
        pipelines_dir=str(pipelines_dir),
        destination=dlt.destinations.filesystem(bucket_url=dest.resolve().as_uri()),
        dataset_name=DATASET,
    )
    if iceberg:
        info = pipeline.run(source, loader_file_format="parquet", table_format="iceberg")
    else:
        info = pipeline.run(source, loader_file_format="parquet")
    info.raise_on_failed_jobs()
    normalized = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    rows = normalized.row_counts if normalized else {}
    return {"rows": dict(rows), "loads": len(info.loads_ids)}


def _env() -> None:
    # No telemetry, nothing under the home folder.
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base-url", required=True, help="the API base, e.g. http://127.0.0.1:P/api"
    )
    parser.add_argument("--dest", type=Path, required=True, help="filesystem destination folder")
    parser.add_argument("--pipelines-dir", type=Path, required=True, help="dlt state folder")
    parser.add_argument("--incremental", action="store_true", help="continue an earlier run")
    parser.add_argument("--table-format", choices=("parquet", "iceberg"), default="parquet")
    parser.add_argument("--summary", type=Path, help="write the row counts here as JSON")
    args = parser.parse_args(argv)
    _env()
    api_key = os.environ.get("RAWG_API_KEY") or None
    try:
        summary = run(
            args.base_url,
            args.dest,
            args.pipelines_dir,
            api_key=api_key,
            incremental=args.incremental,
            table_format=args.table_format,
        )
    except Exception as e:  # dlt's errors are long chains; one line, key redacted
        cause: BaseException = e
        while cause.__cause__ is not None:
            cause = cause.__cause__
        text = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        if api_key:
            text = text.replace(api_key, "***")
        raise SystemExit(f"dlt pipeline failed: {type(cause).__name__}: {text}") from None
    if args.summary:
        args.summary.write_text(json.dumps(summary))
    print(json.dumps(summary), file=sys.stderr)


if __name__ == "__main__":
    main()
