from __future__ import annotations

import io
from collections.abc import Callable, Iterable

from rich.console import Console

from rawgwh.query import QueryEngine, run_shell


def _reader(lines: Iterable[str | BaseException]) -> Callable[[str], str]:
    pending = iter(lines)

    def read_line(prompt: str) -> str:
        item = next(pending, EOFError())
        if isinstance(item, BaseException):
            raise item
        return item

    return read_line


def _run(engine: QueryEngine, *lines: str | BaseException) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, color_system=None)
    run_shell(engine, console, read_line=_reader(lines))
    return buffer.getvalue()


def test_multi_line_statements_print_tables(engine: QueryEngine) -> None:
    out = _run(engine, "SELECT count(*) AS n_dims", "FROM dim_genre", ";", ".quit", "SELECT 99;")
    assert "n_dims" in out and "│      5 │" in out and "1 row" in out
    assert "99" not in out  # nothing after .quit


def test_errors_are_one_line_and_the_shell_goes_on(engine: QueryEngine) -> None:
    out = _run(engine, "SELEC 1;", "COPY fact_games TO 'x.csv';", "SELECT 42 AS answer;")
    assert 'error: Parser Error: syntax error at or near "SELEC"\n' in out
    assert "error: read-only: COPY statements are not allowed" in out
    assert "answer" in out and "42" in out
    assert "Traceback" not in out


def test_dot_commands(engine: QueryEngine) -> None:
    out = _run(
        engine,
        ".tables",
        ".schema dim_genre",
        ".schema nope",
        ".examples",
        ".example esrb-mix",
        ".bogus",
        ".help",
    )
    assert "bridge_game_genre\n" in out and "fact_games\n" in out
    assert "genre_key" in out and "BIGINT" in out
    assert "error: no table named nope. Available tables: " in out
    assert "top-rated-by-year" in out
    assert "Not rated" in out  # the example's result
    assert "error: unknown command '.bogus'" in out
    assert ".schema NAME" in out


def test_ctrl_c_drops_the_statement_and_ctrl_d_leaves(engine: QueryEngine) -> None:
    out = _run(engine, "SELECT 'dropped'", KeyboardInterrupt(), "SELECT 'kept' AS k;")
    assert "kept" in out
    assert "error" not in out  # the dropped line did not prefix the next statement
