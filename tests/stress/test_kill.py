"""Crash consistency: SIGKILL `rawgwh sync` at seeded moments, then run it again.

Each seed starts a real sync process against the simulator (transport faults on) and
kills it at a point drawn from one of four phases: while fetching (a delay after start),
between raw commits (after the k-th raw data file), while modelling (after the star tables
exist: reading, building, checking, writing) and while publishing (after the k-th star
metadata file: table creation and the per-table commits). Then the warehouse must open, the
same command must finish, `rawgwh validate` must pass, and every table must hold exactly
what an uninterrupted run's does, with no game lost or duplicated and nothing that was
committed fetched again.

``RAWGWH_KILL_SEEDS`` sets the number of seeds (6 by default, for CI; `just stress` runs 24).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import run_cli
from stress.harness import (
    KEY,
    Cli,
    content_hashes,
    files_containing,
    games_served,
    raw_ids,
    served_faults,
)
from stress.summary import count

from rawgwh.model import STAR_TABLES
from rawgwh.settings import Settings
from rawgwh.source.simulator import Faults, Simulator
from rawgwh.warehouse.catalog import Warehouse
from rawgwh.warehouse.raw_zone import RawZone
from rawgwh.warehouse.star_zone import StarZone

# Read at import: the autouse fixture clears every RAWG* variable before each test runs.
SEEDS = int(os.environ.get("RAWGWH_KILL_SEEDS", "6"))
PHASES = ("fetch", "raw", "build", "publish")
GAMES = 1_500
BATCH = 100
CONCURRENCY = 2
PAGE = 40
CONFIG = f"""\
batch_games = {BATCH}
concurrency = {CONCURRENCY}
window_limit = 400
backoff_base = 0.01
backoff_max = 0.05
"""
# Games a resumed run may fetch beyond what was not committed: first pages of windows it
# probes again because their split was never committed (they are discarded when splitting).
PROBE_SLACK = 2 * PAGE


@dataclass(frozen=True, slots=True)
class Reference:
    hashes: dict[str, str]
    raw_files: int
    star_metadata: int
    games_served: int


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[Simulator, str]]:
    sim = Simulator.synthetic(n_games=GAMES, seed=21)
    # Faults that leave the data true, so every run must land exactly the same rows.
    faults = Faults(
        rate=0.15,
        kinds={"slow", "429", "5xx", "html", "truncated", "bad_json"},
        slow_seconds=0.03,
        seed=3,
    )
    with sim.serve(port=0, api_key=KEY, faults=faults) as url:
        yield sim, url


def _config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "rawgwh.toml"
    path.write_text(CONFIG)
    return path


def _sync_args(wh: Path, url: str) -> list[str]:
    return ["sync", "-q", "--debug", "-w", str(wh), "--base-url", url]


def _count_files(folder: Path) -> int:
    try:
        return len(os.listdir(folder))
    except FileNotFoundError:
        return 0


def raw_files(wh: Path) -> int:
    return _count_files(wh / "raw" / "games" / "data")


def star_metadata(wh: Path) -> int:
    star = wh / "star"
    try:
        tables = os.listdir(star)
    except FileNotFoundError:
        return 0
    return sum(_count_files(star / t / "metadata") for t in tables)


@pytest.fixture(scope="module")
def reference(
    upstream: tuple[Simulator, str], tmp_path_factory: pytest.TempPathFactory
) -> Reference:
    sim, url = upstream
    root = tmp_path_factory.mktemp("reference")
    wh = root / "wh"
    cli = Cli(root / "logs", _config(root))
    start = len(sim.stats.log)
    code, _, err = cli.run(_sync_args(wh, url), "sync")
    assert code == 0, err
    assert "HTTP Request" in err  # debug logging is on: the secret grep below means something
    count("faults injected", served_faults(sim, start))
    assert sorted(raw_ids(wh)) == sorted(r["id"] for r in sim.records())
    return Reference(content_hashes(wh), raw_files(wh), star_metadata(wh), games_served(sim, start))


@dataclass(frozen=True, slots=True)
class KillPoint:
    phase: str
    describe: str
    reached: Callable[[Path, float], bool]
    offset: float


def kill_point(seed: int, ref: Reference) -> KillPoint:
    rng = random.Random(f"kill:{seed}")
    phase = PHASES[seed % len(PHASES)]
    if phase == "fetch":
        delay = rng.uniform(0.3, 3.0)
        return KillPoint(phase, f"{delay:.2f}s after start", lambda _, t: t >= delay, 0.0)

    # Batches are cut by timing, so a run may write fewer raw files than the reference:
    # raw milestones also count as reached once the publish has begun.
    def publishing(wh: Path) -> bool:
        return star_metadata(wh) >= 1

    if phase == "raw":
        k = rng.randint(1, max(1, ref.raw_files // 2))
        offset = rng.uniform(0, 0.05)
        return KillPoint(
            phase,
            f"raw data file {k} +{offset:.3f}s",
            lambda wh, _: raw_files(wh) >= k or publishing(wh),
            offset,
        )
    # A publish first creates the star tables (their metadata files), then reads the raw
    # zone, builds, checks and writes, then commits each table (one metadata file each).
    created = ref.star_metadata - len(STAR_TABLES)
    if phase == "build":
        # A publish of the test's 1,500 games builds, checks and writes in about 0.1 s, and
        # creates the tables while it builds: the kill must come well before it finishes.
        offset = rng.uniform(0, 0.05)
        return KillPoint(
            phase,
            f"star tables created +{offset:.3f}s",
            lambda wh, _: star_metadata(wh) >= created,
            offset,
        )
    k = rng.randint(1, ref.star_metadata)
    offset = rng.uniform(0, 0.02)
    return KillPoint(
        phase,
        f"star metadata file {k}/{ref.star_metadata} +{offset:.3f}s",
        lambda wh, _: star_metadata(wh) >= k,
        offset,
    )


def kill_at(proc: subprocess.Popen[bytes], wh: Path, point: KillPoint, limit: float) -> bool:
    """SIGKILL ``proc`` once ``point`` is reached; False when it finished first."""
    started = time.monotonic()
    while proc.poll() is None:
        elapsed = time.monotonic() - started
        if point.reached(wh, elapsed) or elapsed > limit:
            time.sleep(point.offset)
            break
        time.sleep(0.004)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    return proc.wait() == -signal.SIGKILL


def _validate(wh: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code, out, err = run_cli(["validate", "-w", str(wh)], capsys)
    return code, out + err


@pytest.mark.parametrize("seed", range(SEEDS))
def test_killed_sync_converges_to_the_uninterrupted_result(
    seed: int,
    upstream: tuple[Simulator, str],
    reference: Reference,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim, url = upstream
    wh = tmp_path / "wh"
    cli = Cli(tmp_path / "logs", _config(tmp_path))
    point = kill_point(seed, reference)
    start = len(sim.stats.log)

    proc = cli.start(_sync_args(wh, url), "killed")
    killed = kill_at(proc, wh, point, limit=60)
    if not killed:
        pytest.fail(f"seed {seed}: the sync finished before the kill point ({point.describe})")

    # Whatever the kill left behind opens, and its state is readable.
    committed = 0
    if (wh / "catalog.db").exists():
        store = Warehouse.open(Settings(warehouse=str(wh)))
        if store.has_table("raw.games"):
            zone = RawZone(store, create=False)
            zone.state()
            committed = zone.count()
    resumed_from = len(sim.stats.log)

    code, _, err = cli.run(_sync_args(wh, url), "resumed")
    assert code == 0, f"seed {seed} ({point.describe}): resumed sync failed: {err[-2000:]}"
    code, report = _validate(wh, capsys)
    assert code == 0, f"seed {seed} ({point.describe}): validate failed:\n{report}"
    assert StarZone(Warehouse.open(Settings(warehouse=str(wh))), create=False).consistent()

    ids = raw_ids(wh)
    want = {r["id"] for r in sim.records()}
    lost = len(want - set(ids)) + (len(ids) - len(set(ids)))
    count("games lost", lost)
    assert lost == 0, f"seed {seed} ({point.describe}): {lost} games lost or duplicated"
    assert content_hashes(wh) == reference.hashes, f"seed {seed} ({point.describe})"

    # What was committed is not fetched again: the resumed run fetches the rest, plus at
    # most the first pages of windows whose split was never committed. (What was fetched but
    # not committed when the kill came is lost work: see test_a_slow_commit_holds_back_fetching.)
    resumed = games_served(sim, resumed_from)
    allowed = reference.games_served - committed + PROBE_SLACK
    assert resumed <= allowed, f"seed {seed} ({point.describe}): fetched {resumed} > {allowed}"
    count("games fetched again", games_served(sim, start) - reference.games_served)

    leaks = files_containing(tmp_path, KEY)
    count("secrets leaked", len(leaks))
    assert not leaks
    count("faults injected", served_faults(sim, start))
    count("kills survived")


def test_a_slow_commit_holds_back_fetching(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a batch is being committed, fetching may fill at most the next batch (plus the
    pages in flight): otherwise a kill during a slow commit (S3, a busy disk) loses more than
    the one batch the README promises."""
    from helpers import make_settings

    from rawgwh.sync import sync

    sizes: list[int] = []
    commit = RawZone.commit

    def slow_commit(self: RawZone, games: object, *args: object, **kwargs: object) -> None:
        sizes.append(games.num_rows)  # type: ignore[attr-defined]
        if len(sizes) == 1:
            time.sleep(1.0)  # a slow first commit: the fetch goes on meanwhile
        commit(self, games, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(RawZone, "commit", slow_commit)
    sim = Simulator.synthetic(n_games=1_000, seed=5)
    with sim.serve(port=0, api_key=KEY) as url:
        settings = make_settings(
            tmp_path / "wh",
            url,
            api_key=KEY,
            batch_games=BATCH,
            concurrency=CONCURRENCY,
            window_limit=400,
        )
        sync(settings, publish=False)
    assert max(sizes) <= BATCH + CONCURRENCY * PAGE, sizes


_CRASH_BETWEEN_COMMITS = """\
import os
import sys

from rawgwh.cli import main
from rawgwh.model import STAR_TABLES
from rawgwh.warehouse.raw_zone import RawZone

calls = []


def crash_between(self, games, rejects, *args, **kwargs):
    calls.append(rejects.num_rows)
    if len(calls) > 1 and rejects.num_rows:
        self.rejects.append(rejects)
        os._exit(9)  # killed before raw.games and the state describing it are committed
    RawZone._original_commit(self, games, rejects, *args, **kwargs)


RawZone._original_commit = RawZone.commit
RawZone.commit = crash_between
main(sys.argv[1:])
"""


def test_a_crash_between_the_rejects_and_games_commits_keeps_rejects_once(
    tmp_path: Path,
) -> None:
    import sys

    sim = Simulator.synthetic(n_games=600, seed=8)
    faults = Faults(rate=1.0, kinds={"wrong_type"}, seed=8)  # one bad record a page
    script = tmp_path / "crash_between.py"
    script.write_text(_CRASH_BETWEEN_COMMITS)
    wh = tmp_path / "wh"
    cli = Cli(tmp_path / "logs", _config(tmp_path))
    with sim.serve(port=0, api_key=KEY, faults=faults) as url:
        args = ["sync", "-q", "-w", str(wh), "--base-url", url, "--raw-only"]
        crashed = subprocess.run([sys.executable, str(script), *args], env=cli.env(), timeout=120)
        assert crashed.returncode == 9
        code, _, err = cli.run(args, "resumed")
        assert code == 0, err
    zone = RawZone(Warehouse.open(Settings(warehouse=str(wh))), create=False)
    last = zone.state().last
    assert last is not None
    stored = zone.rejects.scan().to_arrow().num_rows
    assert stored == last.rejects, f"{stored} rejects stored, {last.rejects} counted"


def test_a_failed_raw_commit_loses_no_game(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A commit that fails (disk full, a locked catalog) raises; running again must fetch
    what that commit did not store."""
    from helpers import make_settings

    from rawgwh.errors import WarehouseError
    from rawgwh.sync import sync

    commit = RawZone.commit
    calls: list[int] = []

    def fail_second(self: RawZone, *args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise WarehouseError("cannot write a data file: No space left on device")
        commit(self, *args, **kwargs)  # type: ignore[arg-type]

    sim = Simulator.synthetic(n_games=600, seed=8)
    with sim.serve(port=0, api_key=KEY) as url:
        settings = make_settings(
            tmp_path / "wh", url, api_key=KEY, batch_games=BATCH, concurrency=1, window_limit=400
        )
        monkeypatch.setattr(RawZone, "commit", fail_second)
        with pytest.raises(WarehouseError):
            sync(settings, publish=False)
        monkeypatch.setattr(RawZone, "commit", commit)
        sync(settings, publish=False)
    stored = set(raw_ids(tmp_path / "wh"))
    missing = {r["id"] for r in sim.records()} - stored
    assert not missing, f"{len(missing)} of {len(sim)} games never stored"
