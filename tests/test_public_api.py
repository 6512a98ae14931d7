"""The package's public names resolve, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import rawgwh
from rawgwh.secrets import Secret


def test_every_public_name_resolves() -> None:
    for name in rawgwh.__all__:
        assert getattr(rawgwh, name) is not None, name


def test_importing_the_package_loads_no_heavy_library() -> None:
    code = (
        "import sys, rawgwh; "
        "print(','.join(m for m in ('polars', 'pyiceberg', 'duckdb', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_a_library_caller_may_pass_the_key_as_a_plain_string() -> None:
    settings = rawgwh.Settings(api_key="plain-key-1234", dremio_password="pw-5678")
    assert isinstance(settings.api_key, Secret)
    assert settings.api_key.reveal() == "plain-key-1234"
    assert settings.dremio_password is not None
    assert settings.dremio_password.reveal() == "pw-5678"
    assert "plain-key-1234" not in repr(settings)
    assert rawgwh.Settings(api_key="").api_key is None


def test_a_library_sync_on_a_branch_of_the_embedded_warehouse_is_refused(tmp_path: Path) -> None:
    # The check lives where writers open the warehouse, not only in the CLI.
    from rawgwh.errors import ConfigError
    from rawgwh.settings import Settings
    from rawgwh.sync import sync

    settings = Settings(warehouse=str(tmp_path / "wh"), branch="dev")
    with pytest.raises(ConfigError, match="--branch dev needs a Nessie catalog"):
        sync(settings)
    assert not (tmp_path / "wh").exists()
