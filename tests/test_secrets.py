"""What :func:`rawgwh.secrets.redact` masks in URLs, and what it leaves readable."""

from __future__ import annotations

import pytest

from rawgwh.secrets import redact


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://bob:pw1@h:1/iceberg", "http://bob:***@h:1/iceberg"),
        ("postgresql+psycopg2://u:pa/ss@h/db", "postgresql+psycopg2://u:***@h/db"),
        ("at 'http://u:p@ss@h/x' now", "at 'http://u:***@h/x' now"),
        ("https://:only-pw@h/api", "https://:***@h/api"),
        ("http://h:8080/api?page=2&key=abc", "http://h:8080/api?page=2&key=***"),
        ("http://bob@h/api, mail bob@example.com", "http://bob@h/api, mail bob@example.com"),
        ("sqlite:////tmp/a:b@c.db", "sqlite:////tmp/a:b@c.db"),
    ],
)
def test_url_passwords_are_masked(text: str, shown: str) -> None:
    assert redact(text) == shown
