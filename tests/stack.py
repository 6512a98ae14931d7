"""The local full stack for tests: a real Nessie server (Iceberg REST) on a real S3 server (moto).

Usage: ``uv run python tests/stack.py start|stop|status|env``; from tests, ``ensure_started()``.

Findings on Nessie 0.99.0 with pyiceberg 0.12 (checked by tests/test_stack.py):
- Nessie 0.99's classes need Java 21+ (class file 65); Java 17 fails at start, so a 21+ JDK is
  looked up (RAWGWH_STACK_JAVA, JAVA_HOME, PATH, /usr/lib/jvm/*).
- GET /iceberg/v1/config answers defaults {warehouse: s3://rawgwh-test/warehouse, prefix: main,
  io-impl: S3FileIO, client.region} and overrides {uri: http://127.0.0.1:PORT/iceberg/,
  s3.endpoint, s3.path-style-access: true, nessie.prefix-pattern: "{ref}|{warehouse}",
  nessie.default-branch.name: main, ...}; ?warehouse=warehouse gives prefix "main%7Cwarehouse".
- A branch is picked by the URI path: uri=http://127.0.0.1:PORT/iceberg/<branch> (branch URL-
  encoded, "a/b" -> "a%2Fb"); its config answer carries prefix=<branch> and pyiceberg then calls
  /iceberg/v1/<branch>/namespaces/... A client-side prefix=<branch> on uri=.../iceberg works too,
  but pyiceberg puts it in the path raw, so it must be URL-encoded by the caller.
- Namespaces are Nessie content, per branch: create_namespace and update_namespace_properties
  work over REST, and a property set on a branch is not visible on main (until merged).
- Nessie gives each new table a location with a UUID suffix
  (s3://rawgwh-test/warehouse/raw/<table>_<uuid>), so the same table name created on two
  branches gets two locations: tests on separate branches do not collide in the bucket.
- A loaded table's metadata_location is a Nessie URL
  (http://127.0.0.1:PORT/catalog/v1/trees/<branch>@<hash>/snapshot/raw.games?format=iceberg),
  not an s3:// path, although Nessie also writes metadata/*.metadata.json, manifests and data
  into the bucket. Readers that want a metadata file (e.g. DuckDB's iceberg_scan) must take the
  S3 one from the table location or go through pyiceberg.
- S3 request signing is disabled here (request-signing-enabled=false); clients write with the
  stack's static credentials, which Nessie does not override.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from rawgwh.warehouse.nessie import Nessie

NESSIE_VERSION = "0.99.0"
NESSIE_ARTIFACT = f"org.projectnessie.nessie:nessie-quarkus:{NESSIE_VERSION}:jar:runner"
NESSIE_HEAP = "512m"
BUCKET = "rawgwh-test"
WAREHOUSE_NAME = "warehouse"
ACCESS_KEY = "rawgwh-test-key"
SECRET_KEY = "rawgwh-test-secret"
REGION = "us-east-1"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0


class StackError(RuntimeError):
    """The stack could not be prepared, started or reached; the message says what to do."""


@dataclass(frozen=True)
class StackInfo:
    s3_endpoint: str
    nessie_url: str
    iceberg_uri: str
    bucket: str
    access_key: str
    secret_key: str
    region: str
    warehouse_name: str

    def catalog_properties(self, branch: str | None = None) -> dict[str, str]:
        """pyiceberg RestCatalog properties for ``branch`` (default: Nessie's default, main)."""
        uri = self.iceberg_uri if branch is None else f"{self.iceberg_uri}/{quote(branch, safe='')}"
        return {
            "uri": uri,
            "s3.endpoint": self.s3_endpoint,
            "s3.access-key-id": self.access_key,
            "s3.secret-access-key": self.secret_key,
            "s3.region": self.region,
            "s3.path-style-access": "true",
        }

    def s3_options(self) -> dict[str, Any]:
        """s3fs.S3FileSystem keyword arguments for the stack's bucket."""
        return {
            "key": self.access_key,
            "secret": self.secret_key,
            "endpoint_url": self.s3_endpoint,
            "client_kwargs": {"region_name": self.region},
        }


# --- where things live -------------------------------------------------------------------------


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "rawgwh-stack"
    return Path(os.environ.get("RAWGWH_STACK_CACHE") or default).expanduser()


def state_dir() -> Path:
    return Path(os.environ.get("RAWGWH_STACK_STATE") or cache_dir() / "state").expanduser()


def _state_file() -> Path:
    return state_dir() / "state.json"


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """One start/stop at a time, across processes (CI script, pytest sessions)."""
    state_dir().mkdir(parents=True, exist_ok=True)
    with open(state_dir() / "lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- the Nessie jar ----------------------------------------------------------------------------


MIN_JAVA = 21  # Nessie 0.99's classes are Java 21 bytecode (class file 65)


def _java_candidates() -> list[str]:
    """Java launchers to try: RAWGWH_STACK_JAVA, JAVA_HOME, PATH, then /usr/lib/jvm/*."""
    found: list[str] = []
    if explicit := os.environ.get("RAWGWH_STACK_JAVA"):
        found.append(explicit)
    if home := os.environ.get("JAVA_HOME"):
        found.append(str(Path(home) / "bin" / "java"))
    if on_path := shutil.which("java"):
        found.append(on_path)
    found += sorted(str(p) for p in Path("/usr/lib/jvm").glob("*/bin/java"))
    return list(dict.fromkeys(found))


def find_java() -> tuple[str | None, str]:
    """(launcher, "") for the first Java 21+, else (None, reason it was not found)."""
    seen: list[str] = []
    for java in _java_candidates():
        try:
            out = subprocess.run(
                [java, "-version"], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        version = _java_major(out.stderr + out.stdout)
        if version is not None and version >= MIN_JAVA:
            return java, ""
        seen.append(f"{java} is {version}")
    found = f" (found: {'; '.join(seen)})" if seen else ""
    return None, (
        f"Nessie {NESSIE_VERSION} needs Java {MIN_JAVA}+{found}: install a JDK {MIN_JAVA}+ "
        "or set RAWGWH_STACK_JAVA to its bin/java"
    )


def java_available() -> str | None:
    """None when a Java 21+ runtime can be found, else the reason it cannot."""
    return find_java()[1] or None


def _java_major(text: str) -> int | None:
    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if match is None:
        return None
    major = int(match[1])
    return int(match[2] or 0) if major == 1 else major  # "1.8" style for Java 8 and older


def _jar_path() -> Path:
    group, artifact, version, _, classifier = NESSIE_ARTIFACT.split(":")
    return (
        cache_dir()
        / "m2"
        / Path(*group.split("."))
        / artifact
        / version
        / f"{artifact}-{version}-{classifier}.jar"
    )


def jar_cached() -> bool:
    """True when the Nessie runner jar is already in the cache (no download needed)."""
    return _jar_path().is_file()


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def ensure_jar() -> Path:
    """The Nessie runner jar, fetched once with Maven (honouring its settings and mirrors)."""
    jar = _jar_path()
    stamp = jar.with_name(jar.name + ".verified")
    if jar.exists() and stamp.exists():
        recorded = json.loads(stamp.read_text())
        stat = jar.stat()
        if recorded == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}:
            return jar
    if not jar.exists():
        _download_jar()
    expected_file = jar.with_name(jar.name + ".sha1")
    if not jar.exists() or not expected_file.exists():
        raise StackError(f"Maven did not leave {jar.name} and its .sha1 in {jar.parent}")
    expected = expected_file.read_text().split()[0].strip().lower()
    actual = _sha1(jar)
    if actual != expected:
        jar.unlink()
        raise StackError(
            f"{jar.name} has sha1 {actual}, Maven Central says {expected}: removed, run start again"
        )
    stat = jar.stat()
    stamp.write_text(json.dumps({"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}))
    return jar


def _download_jar() -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("Maven (mvn) not found: install it (apt-get install maven)")
    repo = cache_dir() / "m2"
    repo.mkdir(parents=True, exist_ok=True)
    # dependency:get with strict checksums (-C): Maven verifies the download against its .sha1.
    command = [
        mvn,
        "-B",
        "-q",
        "-C",
        f"-Dmaven.repo.local={repo}",
        "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:get",
        f"-Dartifact={NESSIE_ARTIFACT}",
        "-Dtransitive=false",
    ]
    print(f"stack: downloading {NESSIE_ARTIFACT} (about 245 MB) with Maven", file=sys.stderr)
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=1800)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise StackError(f"Maven could not fetch {NESSIE_ARTIFACT}:\n{tail}")


# --- processes ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Servers this process started, kept so they are waited for (not garbage-collected while running).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _spawn(command: list[str], log: Path, cwd: Path) -> int:
    """Start a detached server (own session) that outlives this process; output goes to ``log``."""
    with open(log, "ab") as out:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    _CHILDREN[process.pid] = process
    return process.pid


def _is_ours(pid: int, marker: str) -> bool:
    """True when ``pid`` is alive and its command line carries ``marker`` (pids get reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    except (OSError, IndexError):
        return False
    return marker in cmdline


def _terminate(pid: int, marker: str) -> None:
    """SIGTERM, then SIGKILL after STOP_TIMEOUT; only if ``pid`` is still the server we started."""
    for sig, patience in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 5.0)):
        if not _is_ours(pid, marker):
            break
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + patience
        while _is_ours(pid, marker) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.1)
    _reap(pid)


def _reap(pid: int) -> None:
    # Only our own children can be reaped; servers started by another process are not ours to wait.
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        del _CHILDREN[pid]


def _peak_rss_mb(pid: int) -> tuple[float, float] | None:
    """(current, peak) resident memory in MiB from /proc, or None when the process is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    kib = {
        key: int(rest.split()[0])
        for key, _, rest in (line.partition(":") for line in lines)
        if key in ("VmRSS", "VmHWM")
    }
    return kib.get("VmRSS", 0) / 1024, kib.get("VmHWM", 0) / 1024


# --- health ------------------------------------------------------------------------------------


def _moto_healthy(endpoint: str) -> bool:
    try:
        return httpx.get(f"{endpoint}/moto-api/", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _nessie_healthy(nessie_url: str) -> bool:
    try:
        config = httpx.get(f"{nessie_url}/api/v2/config", timeout=2.0)
        iceberg = httpx.get(f"{nessie_url}/iceberg/v1/config", timeout=5.0)
    except httpx.HTTPError:
        return False
    return config.status_code == 200 and iceberg.status_code == 200


def _wait_for(check: Any, what: str, pid: int, marker: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if check():
            return
        if not _is_ours(pid, marker):
            _reap(pid)
            raise StackError(f"{what} exited during start-up; its log ends:\n{_tail(log)}")
        time.sleep(0.25)
    raise StackError(
        f"{what} did not become healthy within {START_TIMEOUT:.0f} s; its log ends:\n{_tail(log)}"
    )


def _tail(log: Path, lines: int = 25) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


# --- state -------------------------------------------------------------------------------------


def _read_state() -> dict[str, Any] | None:
    try:
        data = json.loads(_state_file().read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _info(state: dict[str, Any]) -> StackInfo:
    return StackInfo(**state["info"])


def _healthy(state: dict[str, Any]) -> bool:
    info = _info(state)
    return (
        _is_ours(state["moto_pid"], "moto.server")
        and _is_ours(state["nessie_pid"], "nessie-quarkus")
        and _moto_healthy(info.s3_endpoint)
        and _nessie_healthy(info.nessie_url)
    )


def _stop_state(state: dict[str, Any]) -> None:
    _terminate(state.get("nessie_pid", -1), "nessie-quarkus")
    _terminate(state.get("moto_pid", -1), "moto.server")
    with contextlib.suppress(FileNotFoundError):
        _state_file().unlink()


# --- start / stop ------------------------------------------------------------------------------


def _nessie_properties(info: StackInfo, http_port: int, management_port: int) -> str:
    s3 = "nessie.catalog.service.s3.default-options"
    props = {
        "quarkus.http.host": "127.0.0.1",
        "quarkus.http.port": http_port,
        "quarkus.management.host": "127.0.0.1",
        "quarkus.management.port": management_port,
        "quarkus.log.console.level": "INFO",
        "quarkus.otel.sdk.disabled": "true",
        "nessie.version.store.type": "IN_MEMORY",
        "nessie.server.authentication.enabled": "false",
        "nessie.catalog.default-warehouse": info.warehouse_name,
        f"nessie.catalog.warehouses.{info.warehouse_name}.location": (
            f"s3://{info.bucket}/{info.warehouse_name}"
        ),
        f"{s3}.endpoint": info.s3_endpoint,
        f"{s3}.path-style-access": "true",
        f"{s3}.region": info.region,
        f"{s3}.request-signing-enabled": "false",
        f"{s3}.access-key": "urn:nessie-secret:quarkus:rawgwh-stack.s3",
        "rawgwh-stack.s3.name": info.access_key,
        "rawgwh-stack.s3.secret": info.secret_key,
    }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def _create_bucket(info: StackInfo) -> None:
    import boto3  # type: ignore[import-untyped]  # from moto[server]; lazy: keeps `env` light

    client = boto3.client(
        "s3",
        endpoint_url=info.s3_endpoint,
        aws_access_key_id=info.access_key,
        aws_secret_access_key=info.secret_key,
        region_name=info.region,
    )
    existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
    if info.bucket not in existing:
        client.create_bucket(Bucket=info.bucket)


def _start_fresh() -> StackInfo:
    java, reason = find_java()
    if java is None:
        raise StackError(reason)
    jar = ensure_jar()
    state = state_dir()
    state.mkdir(parents=True, exist_ok=True)
    moto_port, http_port, management_port = _free_port(), _free_port(), _free_port()
    info = StackInfo(
        s3_endpoint=f"http://127.0.0.1:{moto_port}",
        nessie_url=f"http://127.0.0.1:{http_port}",
        iceberg_uri=f"http://127.0.0.1:{http_port}/iceberg",
        bucket=BUCKET,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region=REGION,
        warehouse_name=WAREHOUSE_NAME,
    )
    moto_log, nessie_log = state / "moto.log", state / "nessie.log"
    for log in (moto_log, nessie_log):
        log.write_bytes(b"")
    moto_pid = _spawn(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
        moto_log,
        state,
    )
    record: dict[str, Any] = {
        "info": asdict(info),
        "moto_pid": moto_pid,
        "nessie_pid": -1,
        "moto_log": str(moto_log),
        "nessie_log": str(nessie_log),
        "nessie_version": NESSIE_VERSION,
        "nessie_heap": NESSIE_HEAP,
        "keep": True,
        "users": [],
    }
    _write_state(record)  # written early so `stop` can clean up a half-started stack
    try:
        _wait_for(
            lambda: _moto_healthy(info.s3_endpoint), "moto S3", moto_pid, "moto.server", moto_log
        )
        _create_bucket(info)
        # Quarkus reads ./config/application.properties from its working directory.
        nessie_home = state / "nessie"
        (nessie_home / "config").mkdir(parents=True, exist_ok=True)
        (nessie_home / "config" / "application.properties").write_text(
            _nessie_properties(info, http_port, management_port)
        )
        record["nessie_pid"] = _spawn(
            [java, f"-Xmx{NESSIE_HEAP}", "-XX:+UseSerialGC", "-jar", str(jar)],
            nessie_log,
            nessie_home,
        )
        _write_state(record)
        _wait_for(
            lambda: _nessie_healthy(info.nessie_url),
            "Nessie",
            record["nessie_pid"],
            "nessie-quarkus",
            nessie_log,
        )
    except BaseException:
        _stop_state(record)
        raise
    return info


def _write_state(record: dict[str, Any]) -> None:
    tmp = _state_file().with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(_state_file())


def start_or_reuse(*, keep: bool = True, user: int | None = None) -> tuple[StackInfo, bool]:
    """The running stack, started if needed; the flag tells whether this call started it.

    ``keep`` (the CLI's way) makes a stack started here run until ``stop``; a test session passes
    ``keep=False`` and its pid as ``user``, and ``release`` stops such a stack after its last
    user, so parallel sessions sharing one stack do not pull it from under each other.
    """
    with _locked():
        state = _read_state()
        started = False
        if state is None or not _healthy(state):
            if state is not None:
                _stop_state(state)  # stale or half-dead: clear it and start anew
            _start_fresh()
            state = _read_state()
            assert state is not None
            state["keep"] = keep  # whoever starts the stack decides whether it outlives them
            started = True
        users = _live_users(state)
        if user is not None and user not in users:
            users.append(user)
        state["users"] = users
        _write_state(state)
        return _info(state), started


def _live_users(state: dict[str, Any]) -> list[int]:
    return [pid for pid in state.get("users", []) if Path(f"/proc/{pid}").exists()]


def ensure_started() -> StackInfo:
    """The running stack (Nessie + moto on loopback), started if it is not already."""
    return start_or_reuse()[0]


def acquire() -> tuple[StackInfo, bool]:
    """Use the stack from this process (a test session): started if needed, released later."""
    return start_or_reuse(keep=False, user=os.getpid())


def release() -> bool:
    """Drop this process as a user; stops a test-started stack once nobody uses it. True if so."""
    with _locked():
        state = _read_state()
        if state is None:
            return False
        users = [pid for pid in _live_users(state) if pid != os.getpid()]
        if users or state.get("keep"):
            state["users"] = users
            _write_state(state)
            return False
        _stop_state(state)
        return True


def stop() -> bool:
    """Stop both servers and forget the state; False when nothing was running."""
    with _locked():
        state = _read_state()
        if state is None:
            return False
        _stop_state(state)
        return True


def running() -> StackInfo | None:
    """The stack named by the state file when both servers answer, else None."""
    state = _read_state()
    return _info(state) if state is not None and _healthy(state) else None


# --- Nessie branches (REST API v2) -------------------------------------------------------------


def _nessie(info: StackInfo) -> Nessie:
    return Nessie(f"{info.nessie_url}/api/v2", timeout=10.0)


def branch_hash(info: StackInfo, name: str) -> str | None:
    """The head commit hash of branch ``name``, or None when it does not exist."""
    return _nessie(info).hash_of(name)


def create_branch(info: StackInfo, name: str, from_ref: str = "main") -> str:
    """Create branch ``name`` at the head of ``from_ref``; returns its hash."""
    nessie = _nessie(info)
    if nessie.hash_of(from_ref) is None:
        raise StackError(f"cannot branch from {from_ref!r}: no such branch on Nessie")
    return nessie.create_branch(name, from_ref)


def delete_branch(info: StackInfo, name: str) -> None:
    """Delete branch ``name`` (at whatever its head is now); a missing branch is fine."""
    _nessie(info).delete_branch(name)


# --- command line ------------------------------------------------------------------------------


def _print_env(info: StackInfo) -> None:
    lines = {
        "AWS_ACCESS_KEY_ID": info.access_key,
        "AWS_SECRET_ACCESS_KEY": info.secret_key,
        "AWS_REGION": info.region,
        "AWS_ENDPOINT_URL_S3": info.s3_endpoint,
        "RAWGWH_STACK_S3_ENDPOINT": info.s3_endpoint,
        "RAWGWH_STACK_NESSIE_URL": info.nessie_url,
        "RAWGWH_STACK_ICEBERG_URI": info.iceberg_uri,
        "RAWGWH_STACK_BUCKET": info.bucket,
        "RAWGWH_STACK_WAREHOUSE": info.warehouse_name,
    }
    for key, value in lines.items():
        print(f"export {key}={value}")


def _print_status() -> int:
    state = _read_state()
    if state is None:
        print(f"stack: not started (no state file at {_state_file()})")
        return 1
    info = _info(state)
    rows = [
        ("moto S3", state["moto_pid"], "moto.server", info.s3_endpoint, _moto_healthy),
        ("Nessie", state["nessie_pid"], "nessie-quarkus", info.nessie_url, _nessie_healthy),
    ]
    ok = True
    for name, pid, marker, url, check in rows:
        healthy = _is_ours(pid, marker) and check(url)
        ok = ok and healthy
        memory = _peak_rss_mb(pid) if healthy else None
        extra = f" rss={memory[0]:.0f}MiB peak={memory[1]:.0f}MiB" if memory else ""
        print(f"{name}: {'healthy' if healthy else 'DOWN'} pid={pid} {url}{extra}")
    print(f"iceberg uri: {info.iceberg_uri} warehouse={info.warehouse_name} bucket={info.bucket}")
    print(f"logs: {state['moto_log']} {state['nessie_log']}")
    return 0 if ok else 1


def main(argv: list[str]) -> int:
    usage = "usage: python tests/stack.py start|stop|status|env"
    if len(argv) != 1 or argv[0] not in {"start", "stop", "status", "env"}:
        print(usage, file=sys.stderr)
        return 2
    command = argv[0]
    try:
        if command == "start":
            began = time.monotonic()
            info, started = start_or_reuse()
            verb = "started" if started else "already running"
            took = time.monotonic() - began
            print(f"stack: {verb} in {took:.1f} s: Nessie {info.nessie_url}, S3 {info.s3_endpoint}")
            return 0
        if command == "stop":
            print("stack: stopped" if stop() else "stack: nothing to stop")
            return 0
        if command == "status":
            return _print_status()
        info_or_none = running()
        if info_or_none is None:
            print("stack: not running: run `uv run python tests/stack.py start`", file=sys.stderr)
            return 1
        _print_env(info_or_none)
        return 0
    except StackError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
