"""The ``rawgwh`` command line: a thin layer over the library.

Each command parses its options, builds :class:`~rawgwh.settings.Settings` once, calls
one library function and renders the result. Errors become one line and exit 1 here,
in :func:`main`, and nowhere else.
"""

from __future__ import annotations

from rawgwh.cli.app import app, main

__all__ = ["app", "main"]
