"""The CLI as a user meets it: real processes' exit codes, one-line errors, no secrets."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import raw_games, run_cli

from rawgwh.settings import Settings
from rawgwh.source.simulator import Faults, Simulator

KEY = "cli-secret-key-4242"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Simulator, str]]:
    sim = Simulator.synthetic(n_games=400, seed=3)
    with sim.serve(port=0, api_key=KEY) as url:
        yield sim, url


def test_sync_then_status(
    server: tuple[Simulator, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, url = server
    wh = tmp_path / "wh"
    code, out, err = run_cli(
        ["sync", "--warehouse", str(wh), "--base-url", url, "--api-key", KEY], capsys
    )
    assert code == 0, err
    assert "games added" in out and "400" in out
    assert raw_games(Settings(warehouse=str(wh))).height == len(sim)
    code, out, _ = run_cli(["status", "--warehouse", str(wh), "--format", "json"], capsys)
    assert code == 0
    status = json.loads(out)
    tables = {t["name"]: t for t in status["tables"]}
    assert tables["raw.games"]["rows"] == 400
    assert status["state"]["watermark"]
    assert KEY not in out


@pytest.mark.parametrize("width", ["80", "200"])
def test_status_shows_whole_names_and_plain_times(
    width: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    wh = str(tmp_path / "wh")
    assert run_cli(["sync", "--demo", "--demo-games", "50", "-w", wh, "-q"], capsys)[0] == 0
    monkeypatch.setenv("COLUMNS", width)  # Rich's width when piped, as here
    code, out, err = run_cli(["status", "-w", wh], capsys)
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= int(width)
    names = {
        t["name"]
        for t in json.loads(run_cli(["status", "-w", wh, "-f", "json"], capsys)[1])["tables"]
    }
    assert len(names) == 16
    for name in names:
        assert re.search(rf"^{re.escape(name)} ", out, re.MULTILINE), name
    assert "…" not in out and "+00:00" not in out
    assert re.search(r"\b20\d\d-\d\d-\d\d\b", out)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--dates", "2015-01-01"], "--dates"),
        (["--dates", "2016-01-01,2015-01-01"], "earlier date first"),
        (["--max-requests", "0"], "--max-requests"),
        (["--concurrency", "zero"], "concurrency"),
        (["--base-url", "ftp://example"], "--base-url"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    args: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wh = tmp_path / "wh"
    code, out, err = run_cli(["sync", "--warehouse", str(wh), "--api-key", KEY, *args], capsys)
    assert code in (1, 2)
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert not wh.exists() or not any(wh.iterdir())


def test_wrong_key_exits_1_without_the_key(
    server: tuple[Simulator, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = server
    code, out, err = run_cli(
        ["sync", "-w", str(tmp_path / "wh"), "--base-url", url, "--api-key", "nope-wrong-key"],
        capsys,
    )
    assert code == 1
    assert "RAWG_API_KEY" in err and "nope-wrong-key" not in err + out
    assert len(err.strip().splitlines()) == 1


def test_unreachable_base_url_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(
        [
            "sync",
            "-w",
            str(tmp_path / "wh"),
            "--base-url",
            "http://127.0.0.1:9/api",
            "--api-key",
            KEY,
        ],
        capsys,
    )
    assert code == 1
    assert "cannot reach" in err and "--base-url" in err
    assert len(err.strip().splitlines()) == 1


def test_spent_budget_commits_then_exits_1(
    server: tuple[Simulator, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = server
    wh = tmp_path / "wh"
    base = ["sync", "-w", str(wh), "--base-url", url, "--api-key", KEY, "--concurrency", "1"]
    code, _, err = run_cli([*base, "--max-requests", "3"], capsys)
    assert code == 1 and "budget" in err and "run the same command again" in err
    assert raw_games(Settings(warehouse=str(wh))).height > 0  # what was fetched is kept
    code, _, err = run_cli(base, capsys)
    assert code == 0, err
    assert raw_games(Settings(warehouse=str(wh))).height == 400


def test_the_key_never_shows_anywhere(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Run real processes with debug logging, faults and errors; grep everything left behind."""
    sim = Simulator.synthetic(n_games=300, seed=9)
    wh = tmp_path / "wh"
    log_config = tmp_path / "sitecustomize.py"
    log_config.write_text("import logging\nlogging.basicConfig(level=logging.DEBUG)\n")
    faults = Faults(rate=0.3, kinds={"429", "5xx", "truncated", "html"}, seed=2)
    outputs: list[str] = []
    with sim.serve(port=0, api_key=KEY, faults=faults) as url:
        for args in (
            ["sync", "-w", str(wh), "--base-url", url, "--debug"],
            ["sync", "-w", str(wh), "--base-url", url, "--debug"],
            [
                "sync",
                "-w",
                str(tmp_path / "wh2"),
                "--base-url",
                url,
                "--max-requests",
                "2",
                "--debug",
            ],
            [
                "sync",
                "-w",
                str(tmp_path / "wh3"),
                "--base-url",
                url.replace("/api", "/nope"),
                "--debug",
            ],
            ["status", "-w", str(wh), "--format", "json"],
        ):
            proc = subprocess.run(
                [sys.executable, "-m", "rawgwh", *args],
                capture_output=True,
                text=True,
                env={"RAWG_API_KEY": KEY, "PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
                timeout=120,
            )
            outputs += [proc.stdout, proc.stderr]
    everything = "\n".join(outputs)
    assert "HTTP Request" in everything  # debug logging really was on
    assert KEY not in everything
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "sitecustomize.py":
            assert KEY.encode() not in path.read_bytes(), path
