"""Hostile users: bad flags, dates, files, SQL, keys and warehouses.

Each must end in one clear line on stderr and exit 1 (2 for what the flag parser itself
rejects), with no traceback, no key in the output, and nothing changed on disk.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import make_settings, run_cli
from stress.harness import tree_fingerprint
from stress.summary import count

from rawgwh.source.simulator import Simulator
from rawgwh.sync import sync

KEY = "hostile-user-key-8086"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    sim = Simulator.synthetic(n_games=300, seed=13)
    with sim.serve(port=0, api_key=KEY) as url:
        yield url


@pytest.fixture(scope="module")
def built(server: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    wh = tmp_path_factory.mktemp("built") / "wh"
    sync(make_settings(wh, server, api_key=KEY))
    return wh


def refused(
    args: list[str],
    capsys: pytest.CaptureFixture[str],
    *,
    watch: Path,
    needle: str | None = None,
    codes: tuple[int, ...] = (1,),
) -> str:
    """Run ``args``; assert one clear line, the exit code, and ``watch`` untouched."""
    before = tree_fingerprint(watch)
    code, out, err = run_cli(args, capsys)
    count("bad inputs tried")
    assert code in codes, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("Error:") and "Traceback" not in err
    assert KEY not in out + err
    if needle is not None:
        assert needle.lower() in err.lower(), err
    assert tree_fingerprint(watch) == before, "the command changed files it refused to touch"
    return lines[0]


# README: 2 when the command line does not parse, 1 for a value rawgwh checks itself.
@pytest.mark.parametrize(
    ("args", "needle", "codes"),
    [
        (["--bogus-flag"], "--bogus-flag", (2,)),
        (["--dates", "2015-02-30,2015-03-01"], "--dates", (1,)),
        (["--dates", "yesterday"], "--dates", (1,)),
        (["--dates", "2015-01-01,"], "--dates", (1,)),
        (["--dates", ""], "--dates", (1,)),  # an empty "$WINDOW" must not fetch everything
        (["--dates", " "], "--dates", (1,)),
        (["--dates", "2015-01-01,2015-12-31,2016-01-01"], "--dates", (1,)),
        (["--max-requests", "-5"], "--max-requests", (1,)),
        (["--max-requests", "lots"], "--max-requests", (2,)),  # Typer's type check
        (["--concurrency", "0"], "concurrency", (1,)),
        (["--base-url", "not a url"], "--base-url", (1,)),
        (["--base-url", "file:///etc/passwd"], "--base-url", (1,)),
        # Each passes an http(s) prefix check, then retried for 25 s or failed as "unexpected".
        (["--base-url", "http://"], "names no host", (1,)),
        (["--base-url", "http://127.0.0.1:99999/api"], "port out of range", (1,)),
        (["--base-url", "http://[::1"], "not a valid URL", (1,)),
        (["--demo-games", "0"], "--demo-games", (1,)),
        (["--branch", "dev"], "--branch dev needs a Nessie catalog", (1,)),  # was ignored
    ],
)
def test_bad_sync_flags(
    args: list[str],
    needle: str,
    codes: tuple[int, ...],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wh = tmp_path / "wh"
    refused(
        ["sync", "-w", str(wh), "--api-key", KEY, *args],
        capsys,
        watch=tmp_path,
        needle=needle,
        codes=codes,
    )
    assert not wh.exists()


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["sync", "--max-requests", "0"], 1),
        (["sync", "--dates", "2015-02-30,2015-03-01"], 1),
        (["query", "--format", "xml", "SELECT 1"], 1),
        (["sync", "--max-requests", "abc"], 2),
    ],
)
def test_the_readme_says_which_exit_code_a_bad_flag_gets(
    args: list[str], code: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    said = " ".join(readme[readme.index("Exit codes:") :].split("\n\n")[0].split())
    ones, twos = said.split("; 2 ")
    assert f"`{' '.join(args[1:3])}`" in (ones if code == 1 else twos)
    wh = str(tmp_path / "wh")
    refused([*args, "-w", wh], capsys, watch=tmp_path, needle=args[1], codes=(code,))


def test_a_base_url_with_a_password(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = "http://bob:pw9secret@127.0.0.1:9/api"  # httpx would refuse it mid-sync
    line = refused(["sync", "-w", str(tmp_path / "wh"), "--base-url", url], capsys, watch=tmp_path)
    assert "user name or password" in line and "pw9secret" not in line


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("concurrency = [\n", "not valid TOML"),
        ("no_such_setting = 1\n", "no_such_setting"),
        ('batch_games = "many"\n', "batch_games"),
        ('window_limit = "lots"\n', "must be a whole number such as 10"),
        ('timeout = "soon"\n', "must be a number such as 2.5"),
        ("page_size = 400\n", "page_size"),
        ("timeout = -1\n", "timeout"),
        ("[rawgwh]\nwarehouse = 3\nbase_url = 'gopher://x'\n", "base URL"),
    ],
)
def test_bad_config_files(
    text: str, needle: str, server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "rawgwh.toml"
    config.write_text(text)
    args = ["sync", "-w", str(tmp_path / "wh"), "--config", str(config), "--api-key", KEY]
    refused(args, capsys, watch=tmp_path, needle=needle)


def test_a_config_file_that_is_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "rawgwh.toml"
    config.write_text('[rawgwh]\nwarehouse = "wh"\n', encoding="utf-16")  # Notepad's "Unicode"
    args = ["status", "-w", str(tmp_path / "wh"), "--config", str(config)]
    refused(args, capsys, watch=tmp_path, needle="save it as UTF-8")


def test_a_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sync", "-w", str(tmp_path / "wh"), "--config", str(tmp_path / "nope.toml")]
    refused(args, capsys, watch=tmp_path, needle="nope.toml")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("games.jsonl", b"hello\n"),
        ("games.jsonl", b'{"id": 1}\n'),  # no "updated"
        ("games.jsonl", b'[{"id": 1, "updated": "2015-01-01T00:00:00"}]\n'),
        ("games.jsonl.gz", b'{"id": 1, "updated": "2015-01-01T00:00:00"}\n'),  # not gzipped
    ],
)
def test_record_files_the_simulator_cannot_serve(
    name: str, content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = tmp_path / name
    records.write_bytes(content)
    wh = tmp_path / "wh"
    args = ["sync", "--demo", "--demo-file", str(records), "-w", str(wh)]
    refused(args, capsys, watch=tmp_path, needle=f"--demo-file {records}: ")
    args = ["simulate", "--from-file", str(records), "--port", "0"]
    refused(args, capsys, watch=tmp_path, needle=f"--from-file {records}: ")
    assert not wh.exists()


def test_warehouse_path_is_a_file(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "not-a-folder"
    target.write_text("precious\n")
    for command in (
        ["sync", "--base-url", server, "--api-key", KEY],
        ["status"],
        ["build"],
        ["validate"],
        ["query", "SELECT 1"],
    ):
        refused([*command, "-w", str(target)], capsys, watch=tmp_path, needle=str(target))
    assert target.read_text() == "precious\n"


def test_warehouse_inside_a_file(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    args = ["sync", "-w", str(target / "wh"), "--base-url", server, "--api-key", KEY]
    refused(args, capsys, watch=tmp_path, needle="warehouse")


def test_warehouse_that_cannot_be_created(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["sync", "-w", "/proc/rawgwh-warehouse", "--base-url", server, "--api-key", KEY]
    refused(args, capsys, watch=tmp_path, needle="/proc/rawgwh-warehouse")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only permissions")
def test_read_only_warehouse(
    server: str, built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    wh = tmp_path / "wh"
    shutil.copytree(built, wh)
    for path in [wh, *wh.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        args = ["sync", "-w", str(wh), "--base-url", server, "--api-key", KEY]
        refused(args, capsys, watch=wh, needle="not writable")
    finally:
        for path in [wh, *wh.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.mark.parametrize("damage", ["garbage", "directory"])
def test_catalog_that_cannot_be_opened(
    damage: str, server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wh = tmp_path / "wh"
    wh.mkdir()
    catalog = wh / "catalog.db"
    if damage == "garbage":
        catalog.write_bytes(b"this is not sqlite" * 100)
    else:
        catalog.mkdir()
    for command in (
        ["status"],
        ["validate"],
        ["build"],
        ["query", "SELECT 1"],
        ["sync", "--base-url", server, "--api-key", KEY],
    ):
        refused([*command, "-w", str(wh)], capsys, watch=wh, needle="catalog")


def test_readers_do_not_write_into_a_foreign_sqlite_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    wh = tmp_path / "wh"
    wh.mkdir()
    with sqlite3.connect(wh / "catalog.db") as db:
        db.execute("CREATE TABLE unrelated (x)")
    db.close()
    refused(["status", "-w", str(wh)], capsys, watch=wh, needle="warehouse")


@pytest.mark.parametrize("key", ["expired-or-wrong-0000", "x" * 300, "key with spaces&page=9"])
def test_wrong_keys(
    key: str, server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["sync", "-w", str(tmp_path / "wh"), "--base-url", server, "--api-key", key]
    line = refused(args, capsys, watch=tmp_path / "nothing", needle="RAWG_API_KEY")
    assert key not in line


def test_no_key_at_all(server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused(
        ["sync", "-w", str(tmp_path / "wh"), "--base-url", server],
        capsys,
        watch=tmp_path / "nothing",
        needle="RAWG_API_KEY",
    )


@pytest.mark.parametrize("wrong", ["/v2", ""])
def test_an_endpoint_that_is_not_rawg(
    wrong: str, server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["sync", "-w", str(tmp_path / "wh"), "--base-url", server.replace("/api", wrong)]
    line = refused([*args, "--api-key", KEY], capsys, watch=tmp_path / "nothing")
    assert "RAWG answered 404" in line and "should end in /api (--base-url" in line


@pytest.mark.parametrize(
    ("sql", "needle"),
    [
        ("SELEC game_id FROM fact_games", None),
        ("SELECT * FROM no_such_table", "no_such_table"),
        ("DROP TABLE fact_games", None),
        ("DELETE FROM fact_games", None),
        ("CREATE TABLE t AS SELECT 1", None),
        ("INSERT INTO fact_games SELECT * FROM fact_games", None),
        ("ATTACH '/tmp/rawgwh-hostile.duckdb' AS x", None),
        ("INSTALL httpfs", None),
        ("LOAD httpfs", None),
        ("SET enable_external_access = true", None),
        ("SELECT * FROM read_csv('/etc/passwd')", None),
        ("SELECT * FROM read_text('/etc/hostname')", None),
        ("SELECT * FROM 'https://example.com/x.parquet'", None),
        ("COPY fact_games TO '/tmp/rawgwh-hostile.csv'", None),
        ("SELECT 1; DROP TABLE fact_games", None),
        ("PRAGMA enable_profiling", None),
        ("CALL pragma_version()", None),
        ("", None),
    ],
)
def test_bad_and_forbidden_sql(
    sql: str, needle: str | None, built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(["query", "-w", str(built), sql], capsys, watch=built, needle=needle)
    assert not Path("/tmp/rawgwh-hostile.csv").exists()
    assert not Path("/tmp/rawgwh-hostile.duckdb").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--example", "no-such-example"], "no-such-example"),
        (["--format", "xml", "SELECT 1"], "--format"),
        (["--as-of", "yesterday", "SELECT 1"], "--as-of"),
        (["--as-of", "99999999999999", "SELECT 1"], "99999999999999"),
        (["--as-of", "1970-01-01T00:00:00", "SELECT 1"], None),
        (["--format", "parquet", "SELECT 1"], None),
        (["--example", "x", "SELECT 1"], None),
    ],
)
def test_bad_query_options(
    args: list[str], needle: str | None, built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(["query", "-w", str(built), *args], capsys, watch=built, needle=needle)


@pytest.mark.parametrize(
    "args", [["-f", "csv", "-o", "out.csv"], ["-o", "out.csv"], ["-f", "json"]]
)
def test_the_shell_refuses_output_options(
    args: list[str],
    built: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Piped SQL and no SQL argument opens the shell, which prints tables: it wrote no file.
    monkeypatch.setattr("sys.stdin", io.StringIO("SELECT 42 AS x;\n"))
    monkeypatch.chdir(tmp_path)
    args = ["query", "-w", str(built), *args]
    refused(args, capsys, watch=tmp_path, needle="--format/--output", codes=(2,))


def test_build_on_a_branch_of_the_embedded_warehouse(
    built: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    needle = "needs a Nessie catalog; the embedded warehouse has no branches"
    refused(["build", "-w", str(built), "--branch", "dev"], capsys, watch=built, needle=needle)
    monkeypatch.setenv("RAWGWH_BRANCH", "dev")
    refused(["build", "-w", str(built)], capsys, watch=built, needle=needle)


def test_a_copied_warehouse_is_refused_and_the_original_untouched(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Iceberg's absolute paths still name the original: the copy read it, and a sync wrote it.
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    for command in (
        ["status"],
        ["query", "SELECT count(*) FROM fact_games"],  # the fast path, without pyiceberg
        ["query", "--as-of", "2999-01-01T00:00:00", "SELECT count(*) FROM fact_games"],
        ["build"],
        ["sync", "--demo", "--demo-games", "50", "--full"],
    ):
        line = refused([*command, "-w", str(copy)], capsys, watch=built)
        assert f"was created at {built} and has been moved or copied" in line, line


def test_a_moved_warehouse_is_refused(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    sync(make_settings(old, server, api_key=KEY), publish=False)
    old.rename(new)
    for command in (["status"], ["query", "SELECT count(*) FROM raw_games"], ["build"]):
        line = refused([*command, "-w", str(new)], capsys, watch=tmp_path)
        assert f"created at {old}" in line and f"move it back to {old}" in line, line

    old.symlink_to(new)  # the old path leads to the files again: that is not a move
    code, out, err = run_cli(["query", "-w", str(new), "SELECT count(*) FROM raw_games"], capsys)
    assert code == 0 and "300" in out, err


def test_commands_on_a_warehouse_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wh = tmp_path / "missing"
    for command in (["status"], ["validate"], ["build"], ["query", "SELECT 1"]):
        refused([*command, "-w", str(wh)], capsys, watch=tmp_path)
    assert not wh.exists()


def test_no_arguments_prints_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli([], capsys)
    assert code == 0 and err == ""
    assert out.startswith("Usage: rawgwh [OPTIONS] COMMAND [ARGS]...\n")
    assert "\n  sync " in out and "\n  query " in out  # one command a line
