"""A RAWG-compatible ``GET /api/games`` on loopback: a small asyncio HTTP/1.1 server.

Pages are cut from a cached sorted result and assembled from per-game JSON bytes, so the
server does no JSON encoding of games per request. Keep-alive is supported.
"""

from __future__ import annotations

import asyncio
import math
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson

from rawgwh.source.simulator.catalog import Catalog, FileCatalog, QueryError, parse_query
from rawgwh.source.simulator.faults import TRANSPORT_FAULTS, FaultKind, FaultPlan, Faults
from rawgwh.source.simulator.synth import SyntheticCatalog

__all__ = ["Simulator", "Stats", "RequestLog", "LOOPBACK", "run", "main"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")
_JSON = "application/json"
_HTML_PAGE = b"<!DOCTYPE html><html><body><h1>Checking your browser...</h1></body></html>"


@dataclass(frozen=True, slots=True)
class RequestLog:
    path: str
    params: dict[str, str]
    status: int
    fault: str | None


@dataclass
class Stats:
    """What the server saw; ``by_query`` keys are the query string minus key and page."""

    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    by_query: Counter[str] = field(default_factory=Counter)
    by_fault: Counter[str] = field(default_factory=Counter)
    bytes_sent: int = 0
    log: deque[RequestLog] = field(default_factory=lambda: deque(maxlen=100_000))

    def reset(self) -> None:
        self.requests = self.bytes_sent = 0
        for c in (self.by_status, self.by_query, self.by_fault):
            c.clear()
        self.log.clear()

    def _record(self, path: str, params: dict[str, str], status: int, fault: str | None) -> None:
        self.requests += 1
        self.by_status[status] += 1
        if fault:
            self.by_fault[fault] += 1
        qs = urlencode(
            sorted((k, v) for k, v in params.items() if k not in ("key", "page")), safe=",:"
        )
        self.by_query[qs] += 1
        self.log.append(RequestLog(path, params, status, fault))


@dataclass(slots=True)
class _Reply:
    status: int
    body: bytes
    content_type: str = _JSON
    headers: tuple[tuple[str, str], ...] = ()
    truncate: bool = False


def _error(status: int, **payload: str) -> _Reply:
    return _Reply(status, orjson.dumps(payload))


class _Date:
    """The Date header, formatted once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def get(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second, self._value = now, formatdate(now, usegmt=True).encode()
        return self._value


class _App:
    """Request handling: routing, key check, faults, query, page assembly."""

    def __init__(self, sim: Simulator, api_key: str | None, faults: Faults | None) -> None:
        self.sim = sim
        self.catalog = sim.catalog
        self.api_key = api_key
        self.plan = FaultPlan(faults) if faults is not None else None
        self.date = _Date()
        self.stop = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()

    async def reply(self, method: str, target: str, host: str) -> _Reply:
        url = urlsplit(target)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        reply, fault = await self._route(method, url.path, params, host)
        self.sim.stats._record(url.path, params, reply.status, fault)
        return reply

    async def _route(
        self, method: str, path: str, params: dict[str, str], host: str
    ) -> tuple[_Reply, str | None]:
        if path.rstrip("/") != "/api/games":
            return _error(404, detail="Not found."), None
        if method != "GET":
            return _error(405, detail=f'Method "{method}" not allowed.'), None
        if self.api_key is not None:
            if not params.get("key"):
                return _error(401, error="The key parameter is not provided"), None
            if params["key"] != self.api_key:
                return _error(401, error="Invalid API key"), None
        fault = self.plan.next() if self.plan else None
        if fault in TRANSPORT_FAULTS:
            assert self.plan is not None
            if fault is FaultKind.RATE_LIMIT:
                wait = self.plan.faults.retry_after
                hdr = () if wait is None else (("Retry-After", f"{wait:g}"),)
                detail = "Request was throttled."
                return _Reply(429, orjson.dumps({"detail": detail}), headers=hdr), fault
            if fault is FaultKind.SERVER_ERROR:
                status, kind, body = self.plan.server_error()
                return _Reply(status, body, kind), fault
            if fault is FaultKind.HTML:
                return _Reply(200, _HTML_PAGE, "text/html; charset=utf-8"), fault
            await asyncio.sleep(self.plan.faults.slow_seconds)
        try:
            query, page, size = parse_query(params)
        except QueryError as e:
            return _error(400, error=str(e)), fault
        return self._page(query, page, size, params, host, fault), fault

    def _page(
        self, query: Any, page: int, size: int, params: dict[str, str], host: str,
        fault: FaultKind | None,
    ) -> _Reply:  # fmt: skip
        cat = self.catalog
        with cat.lock:
            rows = cat.select(query)
            if fault in (FaultKind.MOVE, FaultKind.VANISH) and rows:
                assert self.plan is not None
                row = rows[self.plan.rng.randrange(len(rows))]
                if fault is FaultKind.MOVE:
                    cat.touch_rows([row])
                else:
                    cat.delete([cat.ids[row]])
                rows = cat.select(query)
            count = len(rows)
            last = max(1, math.ceil(count / size))
            if page > last:
                return _error(404, detail="Invalid page.")
            blobs = [cat.render(r) for r in rows[(page - 1) * size : page * size]]
        if self.plan is not None and fault is not None:
            damage = {
                FaultKind.DUPLICATE: self.plan.duplicate,
                FaultKind.WRONG_TYPE: self.plan.wrong_type,
                FaultKind.ODD_TEXT: self.plan.odd_text,
                FaultKind.MISSING_FIELD: self.plan.missing_field,
            }.get(fault)
            if damage is not None:
                blobs = damage(blobs)
        base = f"http://{host}/api/games"
        nxt = _link(base, params, page + 1) if page < last else b"null"
        prev = _link(base, params, page - 1) if page > 1 else b"null"
        if self.plan is not None and fault is FaultKind.COUNT_DRIFT:
            count = self.plan.drift(count, size)  # the pages and links stay true
        body = b'{"count":%d,"next":%s,"previous":%s,"results":[%s]}' % (
            count, nxt, prev, b",".join(blobs)
        )  # fmt: skip
        if fault is FaultKind.BAD_JSON:
            body = body[: len(body) // 2]
        return _Reply(200, body, truncate=fault is FaultKind.TRUNCATED)

    async def client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        sock = writer.get_extra_info("sockname")
        default_host = f"{sock[0]}:{sock[1]}"
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                    self._send(writer, _error(400, detail="Bad request."), keep=False)
                    return
                length = int(headers.get("content-length") or 0)
                if length:
                    await reader.readexactly(length)
                conn = headers.get("connection", "").lower()
                keep = conn != "close" if parts[2] == "HTTP/1.1" else conn == "keep-alive"
                reply = await self.reply(parts[0], parts[1], headers.get("host", default_host))
                if reply.truncate:
                    self._send(writer, reply, keep=False)
                    return
                self._send(writer, reply, keep=keep)
                await writer.drain()
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:  # shutdown; re-raising makes 3.11 log a traceback
            return
        finally:
            self.tasks.discard(task)
            writer.close()

    def _send(self, writer: asyncio.StreamWriter, reply: _Reply, *, keep: bool) -> None:
        extra = b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in reply.headers)
        if not keep:
            extra += b"Connection: close\r\n"
        phrase = HTTPStatus(reply.status).phrase.encode()
        body = reply.body[: len(reply.body) // 2] if reply.truncate else reply.body
        head = (
            b"HTTP/1.1 %d %s\r\nDate: %s\r\nServer: rawgwh-simulator\r\nContent-Type: %s\r\n"
            b"Content-Length: %d\r\n%s\r\n"
        ) % (reply.status, phrase, self.date.get(), reply.content_type.encode(),
             len(reply.body), extra)  # fmt: skip
        writer.write(head + body)
        self.sim.stats.bytes_sent += len(head) + len(body)

    async def run(self, host: str, port: int, ready: Callable[[int], None]) -> None:
        server = await asyncio.start_server(self.client, host, port, backlog=512)
        ready(server.sockets[0].getsockname()[1])
        async with server:
            await self.stop.wait()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await asyncio.sleep(0)  # let closed transports run their connection_lost


def _link(base: str, params: dict[str, str], page: int) -> bytes:
    pairs = [(k, v) for k, v in params.items() if k != "page"]
    if page > 1:  # like RAWG (Django REST framework): page 1 has no page parameter
        pairs.append(("page", str(page)))
    return orjson.dumps(f"{base}?{urlencode(pairs, safe=',:')}" if pairs else base)


def _check_loopback(host: str) -> None:
    if host not in LOOPBACK:
        raise ValueError(f"the simulator binds to loopback only, not {host!r}")


class Simulator:
    """A RAWG-compatible API over a catalogue of games, for tests, demos and benchmarks."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.stats = Stats()

    @classmethod
    def synthetic(cls, n_games: int = 1000, *, seed: int = 0) -> Simulator:
        """``n_games`` synthetic games shaped like RAWG's (calibrated on data from rawg.io)."""
        return cls(SyntheticCatalog(n_games, seed=seed))

    @classmethod
    def from_file(cls, path: Path | str) -> Simulator:
        """Serve the records of a ``.jsonl``/``.jsonl.gz`` file exactly as they are."""
        return cls(FileCatalog(path))

    def __len__(self) -> int:
        return len(self.catalog)

    def records(self) -> Iterator[dict[str, Any]]:
        """The live games as the API would send them, in id order."""
        return self.catalog.records()

    @property
    def now(self) -> str:
        """The simulator's clock: no game's ``updated`` is later."""
        from rawgwh.source.simulator.catalog import fmt_ts

        return fmt_ts(self.catalog.now)

    def touch(self, n: int, *, seed: int = 0) -> list[int]:
        """Update ``n`` games (later ``updated``, new rating and added); return their ids."""
        return self.catalog.touch(n, seed)

    def touch_ids(self, ids: Iterable[int]) -> list[int]:
        return self.catalog.touch_ids(ids)

    def release_ids(self, ids: Iterable[int], day: str | None) -> list[int]:
        """Give games the release date ``day`` (None: take it away); ``updated`` moves."""
        return self.catalog.release_ids(ids, day)

    def add(self, n: int) -> list[int]:
        """Create ``n`` new games; return their ids."""
        return self.catalog.add(n)

    def delete(self, ids: Iterable[int]) -> None:
        self.catalog.delete(ids)

    @contextmanager
    def serve(
        self, *, port: int = 0, host: str = "127.0.0.1", api_key: str | None = None,
        faults: Faults | None = None,
    ) -> Iterator[str]:  # fmt: skip
        """Serve in a background thread; yields the base URL (``http://127.0.0.1:P/api``)."""
        _check_loopback(host)
        app = _App(self, api_key, faults)
        started = threading.Event()
        bound: list[int] = []
        loop: list[asyncio.AbstractEventLoop] = []
        failure: list[BaseException] = []

        def ready(p: int) -> None:
            bound.append(p)
            loop.append(asyncio.get_running_loop())
            started.set()

        def main() -> None:
            try:
                asyncio.run(app.run(host, port, ready))
            except BaseException as e:  # reported to the caller below
                failure.append(e)
                started.set()

        thread = threading.Thread(target=main, name="rawg-simulator", daemon=True)
        thread.start()
        started.wait()
        if failure:
            raise failure[0]
        try:
            yield f"http://{host}:{bound[0]}/api"
        finally:
            with suppress(RuntimeError):  # the loop may already be gone
                loop[0].call_soon_threadsafe(app.stop.set)
            thread.join()

    def serve_forever(
        self, *, host: str = "127.0.0.1", port: int = 8000, api_key: str | None = None,
        faults: Faults | None = None, ready: Callable[[str], None] | None = None,
    ) -> None:  # fmt: skip
        """Serve in this thread until Ctrl-C or SIGTERM."""
        _check_loopback(host)
        app = _App(self, api_key, faults)

        def started(p: int) -> None:
            # SIGTERM stops as cleanly as Ctrl-C (asyncio.run handles SIGINT itself).
            with suppress(NotImplementedError, RuntimeError):
                asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, app.stop.set)
            if ready is not None:
                ready(f"http://{host}:{p}/api")

        with suppress(KeyboardInterrupt):
            asyncio.run(app.run(host, port, started))


def run(
    *, port: int = 8000, games: int = 100_000, seed: int = 0, from_file: Path | str | None = None,
    faults: Faults | None = None, api_key: str | None = None, host: str = "127.0.0.1",
    echo: Callable[[str], None] = print,
) -> None:  # fmt: skip
    """Build a catalogue and serve it until Ctrl-C (``rawgwh simulate``, ``python -m``)."""
    started = time.perf_counter()
    sim = Simulator.from_file(from_file) if from_file else Simulator.synthetic(games, seed=seed)
    source = f"{from_file}" if from_file else f"synthetic, seed {seed}"
    echo(f"{len(sim):,} games ({source}) ready in {time.perf_counter() - started:.1f}s")

    def ready(url: str) -> None:
        key = " (key required)" if api_key else ""
        echo(f"RAWG simulator at {url}{key}; game data shaped on RAWG (rawg.io). Ctrl-C stops.")

    sim.serve_forever(host=host, port=port, api_key=api_key, faults=faults, ready=ready)


def main(argv: list[str] | None = None) -> None:
    """``python -m rawgwh.source.simulator``."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m rawgwh.source.simulator", description=run.__doc__)
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--games", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--from-file", type=Path, default=None)
    p.add_argument("--api-key", default=None)
    p.add_argument("--faults", type=float, nargs="?", const=0.1, default=None, metavar="RATE")
    a = p.parse_args(argv)
    faults = Faults(rate=a.faults, seed=a.seed) if a.faults is not None else None
    run(port=a.port, games=a.games, seed=a.seed, from_file=a.from_file, faults=faults,
        api_key=a.api_key)  # fmt: skip
