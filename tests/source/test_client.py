"""Client behaviour that needs exact control of responses: an injected httpx transport.

Everything else about the client is tested against the simulator over real HTTP.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import httpx
import pytest

from rawgwh.errors import AuthError, BudgetExhausted, UpstreamError
from rawgwh.secrets import Secret
from rawgwh.source.client import RawgClient

KEY = "s3cr3t-key-abcdef"
PAGE = b'{"count": 1, "next": null, "previous": null, "results": [{"id": 1}]}'


def run_client(handler: Callable[[httpx.Request], httpx.Response], **options: object) -> object:
    async def go() -> object:
        async with RawgClient(
            base_url="http://rawg.test/api",
            api_key=Secret(KEY),
            transport=httpx.MockTransport(handler),
            backoff_base=0.001,
            backoff_max=0.01,
            **options,  # type: ignore[arg-type]
        ) as client:
            return await client.fetch_page({"ordering": "created"}, 1)

    return asyncio.run(go())


def test_truncated_body_then_good_page_is_retried() -> None:
    answers = [
        httpx.Response(200, content=PAGE[:20]),
        httpx.Response(200, content=b"<html>busy</html>"),
        httpx.Response(200, content=PAGE),
    ]
    page = run_client(lambda request: answers.pop(0))
    assert page.results == [{"id": 1}]  # type: ignore[attr-defined]


def test_garbage_forever_is_an_upstream_error_without_the_key() -> None:
    with pytest.raises(UpstreamError) as info:
        run_client(lambda r: httpx.Response(200, content=b"<html>oops</html>"), max_retries=2)
    assert KEY not in str(info.value)


def test_retry_after_is_honoured_and_key_sent_only_as_param() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"detail": "slow down"})
        return httpx.Response(200, content=PAGE)

    run_client(handler)
    assert len(seen) == 2
    assert all(r.url.params["key"] == KEY for r in seen)
    assert all(KEY not in str(r.headers) for r in seen)


def test_401_is_not_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(401, json={"error": "The key parameter is not provided"})

    with pytest.raises(AuthError, match="RAWG_API_KEY"):
        run_client(handler)
    assert len(calls) == 1


def test_budget_counts_every_attempt() -> None:
    with pytest.raises(BudgetExhausted, match="--max-requests"):
        run_client(lambda r: httpx.Response(503), max_requests=3, max_retries=10)


def test_httpx_logs_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    run_client(lambda r: httpx.Response(200, content=PAGE))
    assert "rawg.test" in caplog.text  # httpx did log the request URL ...
    assert KEY not in caplog.text  # ... without the key


@pytest.mark.parametrize("key", ["abc", "k", KEY])
def test_a_key_echoed_by_the_server_is_masked_however_short(key: str) -> None:
    async def go() -> None:
        body = b'{"detail": "Invalid API key: %s (check abcd)"}' % key.encode()
        async with RawgClient(
            base_url="http://rawg.test/api",
            api_key=Secret(key),
            transport=httpx.MockTransport(lambda r: httpx.Response(401, content=body)),
        ) as client:
            await client.fetch_page({}, 1)

    with pytest.raises(AuthError) as caught:
        asyncio.run(go())
    message = str(caught.value)
    assert "Invalid API key: ***" in message
    assert f": {key} " not in message and f"key={key}" not in message
    if len(key) < 4:
        assert "(check abcd)" in message  # a short key is masked as a word, not inside words
