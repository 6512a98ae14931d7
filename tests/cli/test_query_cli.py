"""``rawgwh build``, ``validate`` and ``query`` through the real CLI entry point."""

from __future__ import annotations

import copy
import errno
import io
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import CTRL_C_ABLE, INTERRUPTED, SLOW_SQL, ctrl_c_after, make_settings

from rawgwh.cli import main
from rawgwh.raw import parse_games, rejects_table
from rawgwh.raw.state import SyncState
from rawgwh.warehouse.catalog import Warehouse
from rawgwh.warehouse.raw_zone import RawZone
from rawgwh.warehouse.star_zone import StarZone


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def rawgwh(capsys: pytest.CaptureFixture[str], *args: str) -> Run:
    capsys.readouterr()
    try:
        main(list(args))
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    else:  # pragma: no cover - main always exits
        code = 0
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def _commit(root: Path, records: list[dict[str, Any]], sync_id: str) -> None:
    wh = Warehouse.open(make_settings(root, "http://127.0.0.1:9"), create=True)
    at = datetime(2025, 1, 1)
    parsed = parse_games(records, sync_id=sync_id, fetched_at=at)
    rejects = rejects_table(parsed.rejects, sync_id=sync_id, fetched_at=at)
    RawZone(wh).commit(parsed.games, rejects, SyncState(), sync_id=sync_id)


def _built(
    capsys: pytest.CaptureFixture[str], root: Path, records: list[dict[str, Any]], *build: str
) -> None:
    """``records`` committed to the raw zone at ``root`` as one sync, then ``rawgwh build``."""
    _commit(root, records, f"s{len(records)}")
    assert rawgwh(capsys, "build", *build, "-w", str(root), "-q").code == 0


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, sample_records: list[dict[str, Any]]) -> Path:
    """A warehouse with the sample in the raw zone and published once by `rawgwh build`."""
    root = tmp_path_factory.mktemp("cli") / "wh"
    _commit(root, sample_records, "s1")
    try:  # module scope has no capsys: run main() directly
        main(["build", "--warehouse", str(root), "--quiet"])
    except SystemExit as e:
        assert e.code == 0
    return root


def test_build_publishes_and_prints_a_summary(
    tmp_path: Path, sample_records: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "wh"
    _commit(root, sample_records[:500], "s1")

    run = rawgwh(capsys, "build", "--warehouse", str(root))
    assert run.code == 0, run.err
    assert "published" in run.out and "500 games" in run.out

    changed = copy.deepcopy(sample_records[0])
    changed["updated"] = "2030-01-01T00:00:00"
    _commit(root, [changed], "s2")
    run = rawgwh(capsys, "build", "--incremental", "--warehouse", str(root))
    assert run.code == 0, run.err
    assert "(incremental)" in run.out and "1 rebuilt" in run.out
    star = StarZone(Warehouse.open(make_settings(root, "http://127.0.0.1:9")))
    assert all(len(t.snapshots()) == 2 for t in star.tables.values())


def _full_disk(monkeypatch: pytest.MonkeyPatch, *, files_written: int) -> None:
    """Parquet writes fail with ENOSPC after ``files_written`` files, leaving a partial file."""
    from pyiceberg.io.pyarrow import ParquetFormatWriter

    original = ParquetFormatWriter.write
    started = itertools.count()

    def write(self: ParquetFormatWriter, table: pa.Table) -> None:
        fresh = self._writer is None
        original(self, table)
        if fresh and next(started) >= files_written:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ParquetFormatWriter, "write", write)


@pytest.mark.parametrize("mode", ["--full", "--incremental"])
def test_build_on_a_full_disk_is_one_line_and_leaves_no_files(
    mode: str,
    tmp_path: Path,
    sample_records: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path / "wh"
    _built(capsys, root, sample_records[:500])
    fact = Warehouse.open(make_settings(root, "http://127.0.0.1:9")).table("star.fact_games")
    with fact.transaction() as tx:  # several fact files, written in parallel
        tx.set_properties({"write.target-file-size-bytes": "20000"})
    changed = copy.deepcopy(sample_records[0])
    changed["updated"] = "2030-01-01T00:00:00"
    _commit(root, [changed], "s2")
    sql = "SELECT count(*) AS n, max(updated) AS newest FROM fact_games"
    before = rawgwh(capsys, "query", sql, "-f", "csv", "-w", str(root)).out
    files = set((root / "star").rglob("*.parquet"))

    _full_disk(monkeypatch, files_written=1)
    run = rawgwh(capsys, "build", mode, "-w", str(root))
    assert run.code == 1
    assert run.err == (
        f"Error: no space left on device writing the warehouse at {root}: "
        "free space there, then run the same command again\n"
    )
    assert set((root / "star").rglob("*.parquet")) == files
    assert rawgwh(capsys, "query", sql, "-f", "csv", "-w", str(root)).out == before

    monkeypatch.undo()
    assert rawgwh(capsys, "build", mode, "-w", str(root), "-q").code == 0
    assert "2030-01-01" in rawgwh(capsys, "query", sql, "-f", "csv", "-w", str(root)).out


def test_sync_on_a_full_disk_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _full_disk(monkeypatch, files_written=0)
    root = tmp_path / "wh"
    run = rawgwh(capsys, "sync", "--demo", "--demo-games", "50", "-w", str(root), "-q")
    assert run.code == 1
    assert run.err.startswith("Error: no space left on device writing the warehouse at ")
    assert run.err.count("\n") == 1


def test_build_without_raw_data_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = rawgwh(capsys, "build", "--warehouse", str(tmp_path / "nothing"))
    assert run.code == 1
    assert run.err.startswith("Error: no warehouse") and run.err.count("\n") == 1


def test_validate_prints_every_check(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = rawgwh(capsys, "validate", "--warehouse", str(built))
    assert run.code == 0, run.err
    assert "row_count:fact_games" in run.out and "0 failed" in run.out


def test_query_csv_and_json(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = "SELECT count(*) AS games FROM fact_games"
    run = rawgwh(capsys, "query", sql, "--format", "csv", "--warehouse", str(built))
    assert run.code == 0, run.err
    assert run.out.splitlines() == ["games", "10000"]

    sql = "SELECT game_id FROM fact_games ORDER BY game_id LIMIT 2"
    run = rawgwh(capsys, "query", sql, "-f", "json", "-w", str(built))
    assert run.code == 0, run.err
    rows = (
        json.loads(run.out)
        if run.out.lstrip().startswith("[")
        else [json.loads(line) for line in run.out.splitlines()]
    )
    assert len(rows) == 2


def test_query_to_a_parquet_file(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tags.parquet"
    sql = "SELECT tag_key, name FROM dim_tag ORDER BY tag_key"
    args = ("--format", "parquet", "--output", str(out), "-w", str(built))
    run = rawgwh(capsys, "query", sql, *args)
    assert run.code == 0, run.err
    assert pq.read_table(out).num_rows > 1000


def test_examples(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = rawgwh(capsys, "query", "--list-examples", "--format", "csv")
    assert run.code == 0 and "top-genres" in run.out

    run = rawgwh(capsys, "query", "--example", "top-genres", "-f", "csv", "-w", str(built))
    assert run.code == 0, run.err
    assert run.out.startswith("genre,games,avg_rating")

    run = rawgwh(capsys, "query", "--example", "nope", "-w", str(built))
    assert run.code == 1
    assert "no example named 'nope'" in run.err and "top-genres" in run.err


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELEC 1", "syntax error"),
        ("SELECT * FROM no_such_table", "Available tables"),
        ("CREATE TABLE t AS SELECT 1", "read-only"),
        ("COPY fact_games TO 'out.csv'", "read-only"),
        ("SELECT * FROM read_csv('/etc/passwd')", "Permission"),
    ],
)
def test_bad_writing_or_escaping_sql_is_one_line(
    built: Path, capsys: pytest.CaptureFixture[str], sql: str, message: str
) -> None:
    run = rawgwh(capsys, "query", sql, "-w", str(built))
    assert run.code == 1
    assert run.err.count("\n") == 1 and run.err.startswith("Error: ")
    assert message.lower() in run.err.lower()


def test_as_of_reads_the_first_publish(
    tmp_path: Path, sample_records: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "wh"
    _built(capsys, root, sample_records[:200])
    star = StarZone(Warehouse.open(make_settings(root, "http://127.0.0.1:9")))
    first = star.current_ids()["fact_games"]
    _built(capsys, root, sample_records[200:300])

    sql = "SELECT count(*) AS n FROM fact_games"
    now = rawgwh(capsys, "query", sql, "-f", "csv", "-w", str(root))
    then = rawgwh(capsys, "query", sql, "-f", "csv", "-w", str(root), "--as-of", str(first))
    assert now.out.splitlines()[1] == "300"
    assert then.out.splitlines()[1] == "200"


def test_status_history_lists_publishes_for_as_of(
    tmp_path: Path,
    sample_records: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path / "wh"
    _built(capsys, root, sample_records[:200])
    _built(capsys, root, sample_records[200:300], "--incremental")

    run = rawgwh(capsys, "status", "--history", "-f", "json", "-w", str(root))
    assert run.code == 0, run.err
    newest, oldest = json.loads(run.out)
    assert [newest["mode"], oldest["mode"]] == ["incremental", "full"]
    assert [newest["games"], oldest["games"]] == [300, 200]
    assert newest["committed"] >= oldest["committed"]
    assert newest["sync_id"].startswith("build-") and newest["sync_id"] != oldest["sync_id"]

    monkeypatch.setenv("COLUMNS", "80")
    table = rawgwh(capsys, "status", "--history", "-w", str(root)).out
    for entry in (newest, oldest):
        assert str(entry["snapshot_id"]) in table and entry["sync_id"] in table

    sql = "SELECT count(*) AS n FROM fact_games"
    for entry in (newest, oldest):
        as_of = str(entry["snapshot_id"])
        run = rawgwh(capsys, "query", sql, "-f", "csv", "-w", str(root), "--as-of", as_of)
        assert run.out.splitlines() == ["n", str(entry["games"])], run.err

    run = rawgwh(capsys, "query", sql, "-w", str(root), "--as-of", "1234567890123")
    assert run.code == 1 and "`rawgwh status --history` lists" in run.err


def test_no_sql_opens_the_shell(
    built: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("SELECT 40 + 2 AS answer;\n.quit\n"))
    run = rawgwh(capsys, "query", "-w", str(built))
    assert run.code == 0, run.err
    assert "answer" in run.out and "42" in run.out


def test_ctrl_c_during_a_query_exits_130_with_one_line(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ctrl_c_after(0.5):
        run = rawgwh(capsys, "query", "-w", str(built), SLOW_SQL)
    assert run.code == 130
    assert run.err == INTERRUPTED + "\n"


def test_ctrl_c_during_a_query_returns_the_shell_to_its_prompt(built: Path) -> None:
    shell = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_ABLE, "query", "-w", str(built)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert shell.stdin is not None and shell.stdout is not None
    shell.stdin.write("SELECT 'ready' AS state;\n")
    shell.stdin.flush()
    for line in shell.stdout:
        if "ready" in line:
            break
    shell.stdin.write(SLOW_SQL + ";\n")
    shell.stdin.flush()
    time.sleep(1)
    shell.send_signal(signal.SIGINT)
    out, err = shell.communicate("SELECT 40 + 2 AS answer;\n", timeout=60)
    assert shell.returncode == 0, err
    assert "error: interrupted" in out
    assert "answer" in out and "42" in out


def test_a_query_imports_neither_pyiceberg_nor_polars(built: Path) -> None:
    # The cold path: pyiceberg's SQL catalog alone takes about a second to import.
    script = (
        "import sys\n"
        "from rawgwh.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        "heavy = {'pyiceberg', 'polars', 'sqlalchemy', 'httpx'} & set(sys.modules)\n"
        "print('HEAVY', sorted(heavy))\n"
    )
    sql = "SELECT count(*) AS n FROM fact_games"
    args = ["query", sql, "-f", "csv", "-w", str(built)]
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == ["n", "10000"]
    assert "HEAVY []" in done.stdout
