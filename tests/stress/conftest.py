"""The adversarial suite: prints its summary table at the end of the session."""

from __future__ import annotations

import pytest
from stress.summary import TALLY, table_lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY:
        return
    terminalreporter.section("rawgwh adversarial summary")
    for line in table_lines():
        terminalreporter.write_line(line)
