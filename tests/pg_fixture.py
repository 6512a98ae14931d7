"""A throwaway PostgreSQL cluster for tests of the shared SQL catalog.

``postgres_url`` (session scope) runs ``initdb`` and ``pg_ctl start`` in a temporary folder,
on 127.0.0.1 and a free port with trust authentication, creates a database and yields its
SQLAlchemy URL; the cluster is stopped and removed at session end. PostgreSQL refuses to run
as root, so as root the server runs as ``nobody`` in a folder that user owns. Tests using it
skip, saying why, when the server binaries are not installed.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

DATABASE = "rawgwh"
USER = "rawgwh"
UNPRIVILEGED = "nobody"


def server_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (PATH first, then Debian's layout)."""
    found = shutil.which("initdb")
    if found:
        folder = Path(found).resolve().parent
        if (folder / "pg_ctl").exists():
            return folder
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _as_server_user() -> list[str]:
    """The command prefix that drops root to an unprivileged user ([] when not root)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser"):
        return ["runuser", "-u", UNPRIVILEGED, "--"]
    if shutil.which("setpriv"):
        return ["setpriv", f"--reuid={UNPRIVILEGED}", "--regid=nogroup", "--clear-groups", "--"]
    pytest.skip("PostgreSQL cannot run as root and neither runuser nor setpriv is installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        pytest.fail(f"PostgreSQL {what} failed: {detail[-1] if detail else done.returncode}")


def _wait_ready(port: int, seconds: float = 30.0) -> None:
    import psycopg2

    deadline = time.monotonic() + seconds
    while True:
        try:
            psycopg2.connect(
                host="127.0.0.1", port=port, user=USER, dbname="postgres", connect_timeout=2
            ).close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _create_database(port: int, name: str) -> None:
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=port, user=USER, dbname="postgres")
    try:
        connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()


def new_database(postgres_url: str) -> str:
    """A fresh, empty database on the server of ``postgres_url``; its URL.

    Catalog table names (``raw.games``...) are per database, so each test takes its own.
    """
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    name = f"t_{uuid.uuid4().hex[:12]}"
    assert url.port is not None
    _create_database(url.port, name)
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql+psycopg2://rawgwh@127.0.0.1:PORT/rawgwh`` on a fresh cluster."""
    binaries = server_bin()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH")
    prefix = _as_server_user()
    base = Path(tempfile.mkdtemp(prefix="rawgwh-pg-"))
    base.chmod(0o755)  # the server user must reach its folder inside
    home = base / "pg"
    home.mkdir()
    if prefix:
        account = pwd.getpwnam(UNPRIVILEGED)
        os.chown(home, account.pw_uid, account.pw_gid)
    data, log = home / "data", home / "server.log"
    pg_ctl = [*prefix, str(binaries / "pg_ctl"), "-D", str(data)]
    started = False
    try:
        _run(
            [*prefix, str(binaries / "initdb"), "-D", str(data), "-U", USER, "-A", "trust"]
            + ["-E", "UTF8", "--locale=C", "--no-sync"],
            "initdb",
        )
        for _ in range(3):  # a free port may be taken between the probe and the bind
            port = _free_port()
            options = f"-h 127.0.0.1 -p {port} -k {home} -F -c fsync=off"
            done = subprocess.run(
                [*pg_ctl, "-l", str(log), "-o", options, "-w", "-t", "60", "start"],
                capture_output=True,
                text=True,
                timeout=90,
            )
            if done.returncode == 0:
                started = True
                break
        if not started:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
            pytest.fail(f"PostgreSQL did not start: {tail}")
        _wait_ready(port)
        _create_database(port, DATABASE)
        yield f"postgresql+psycopg2://{USER}@127.0.0.1:{port}/{DATABASE}"
    finally:
        if started:
            with contextlib.suppress(subprocess.SubprocessError):
                subprocess.run(
                    [*pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60
                )
        shutil.rmtree(base, ignore_errors=True)
