"""Nessie's own REST API (v2), for what Iceberg REST cannot do: branches and merges.

A sync publishes on a fresh branch and merges it into the target branch in one Nessie
commit, so readers of the target see every star table change at once, or none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from rawgwh.errors import WarehouseBusy, WarehouseError
from rawgwh.secrets import redact

__all__ = ["Nessie", "NessieConflict", "api_url_for", "iceberg_uri_for_ref"]

_ICEBERG = "/iceberg"


class NessieConflict(WarehouseBusy):
    """The target branch moved in a way that conflicts with the merge."""


def api_url_for(catalog_uri: str) -> str | None:
    """Nessie's API v2 URL for its Iceberg REST URI (``http://h:19120/iceberg[/ref]``)."""
    parts = urlsplit(catalog_uri)
    path = parts.path.rstrip("/")
    at = path.find(_ICEBERG)
    if at < 0:
        return None
    return urlunsplit((parts.scheme, parts.netloc, path[:at] + "/api/v2", "", ""))


def iceberg_uri_for_ref(catalog_uri: str, ref: str) -> str:
    """The Iceberg REST URI serving branch ``ref``: Nessie reads the ref from the prefix."""
    parts = urlsplit(catalog_uri)
    path = parts.path.rstrip("/")
    at = path.find(_ICEBERG)
    base = path[: at + len(_ICEBERG)] if at >= 0 else path
    return urlunsplit((parts.scheme, parts.netloc, f"{base}/{_ref_segment(ref)}", "", ""))


def _ref_segment(ref: str) -> str:
    # A slash inside a reference name ("rawgwh/sync-...") is percent-encoded in paths.
    return quote(ref, safe="@")


@dataclass(frozen=True, slots=True)
class Nessie:
    """A Nessie server's branches. ``Nessie.probe(catalog_uri)`` finds one, or None."""

    api_url: str
    timeout: float = 30.0

    @classmethod
    def probe(cls, catalog_uri: str, timeout: float = 10.0) -> Nessie | None:
        url = api_url_for(catalog_uri)
        if url is None:
            return None
        try:
            response = httpx.get(f"{url}/config", timeout=timeout)
        except httpx.HTTPError:
            return None
        if response.status_code != 200 or "defaultBranch" not in response.text:
            return None
        return cls(url, timeout)

    def config(self) -> dict[str, Any]:
        data: dict[str, Any] = self._request("GET", "/config").json()
        return data

    def hash_of(self, branch: str) -> str | None:
        response = self._request("GET", f"/trees/{_ref_segment(branch)}", allow=(404,))
        if response.status_code == 404:
            return None
        return str(response.json()["reference"]["hash"])

    def hash_at(self, branch: str, moment: datetime) -> str | None:
        """The commit of ``branch`` that was its head at ``moment`` (None: none yet)."""
        token: str | None = None
        while True:
            params: dict[str, str | int] = {"max-records": 200}
            if token:
                params["page-token"] = token
            data = self._request(
                "GET", f"/trees/{_ref_segment(branch)}/history", params=params
            ).json()
            for entry in data.get("logEntries", []):
                meta = entry["commitMeta"]
                if _parse_time(meta["commitTime"]) <= moment:
                    return str(meta["hash"])
            token = data.get("token")
            if not data.get("hasMore") or not token:
                return None

    def create_branch(self, name: str, source: str) -> str:
        """Create branch ``name`` at the head of branch ``source``; its hash."""
        source_hash = self.hash_of(source)
        if source_hash is None:
            raise WarehouseError(
                f"Nessie has no branch {source!r}: create it, or pass --branch with one that exists"
            )
        response = self._request(
            "POST",
            "/trees",
            params={"name": name, "type": "BRANCH"},
            json={"type": "BRANCH", "name": source, "hash": source_hash},
        )
        return str(response.json()["reference"]["hash"])

    def merge(self, source: str, target: str, message: str) -> str:
        """Merge branch ``source`` into ``target`` in one commit; the new target hash."""
        source_hash, target_hash = self.hash_of(source), self.hash_of(target)
        if source_hash is None or target_hash is None:
            raise WarehouseError(f"cannot merge {source} into {target}: a branch is missing")
        response = self._request(
            "POST",
            f"/trees/{_ref_segment(target)}@{target_hash}/history/merge",
            json={"fromRefName": source, "fromHash": source_hash, "message": message},
            allow=(409,),
        )
        if response.status_code == 409:
            raise NessieConflict(
                f"branch {target} changed in a conflicting way while this sync published: "
                "run the sync again"
            )
        data = response.json()
        return str(data.get("resultantTargetHash") or self.hash_of(target))

    def delete_branch(self, name: str) -> None:
        current = self.hash_of(name)
        if current is not None:
            self._request("DELETE", f"/trees/{_ref_segment(name)}@{current}", allow=(404, 409))

    def _request(
        self, method: str, path: str, *, allow: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        try:
            response = httpx.request(method, self.api_url + path, timeout=self.timeout, **kwargs)
        except httpx.HTTPError as e:
            raise WarehouseError(
                f"cannot reach Nessie at {redact(self.api_url)}: {type(e).__name__}; "
                "run `rawgwh doctor`"
            ) from None
        if response.status_code >= 400 and response.status_code not in allow:
            message = _message(response)
            raise WarehouseError(
                f"Nessie {method} {path} failed ({response.status_code}): {message}"
            )
        return response


def _parse_time(text: str) -> datetime:
    # Nessie gives nanoseconds ("...:43.426245633Z"); Python keeps microseconds.
    head, _, rest = text.rstrip("Z").partition(".")
    fraction = (rest + "000000")[:6] if rest else "000000"
    return datetime.fromisoformat(f"{head}.{fraction}+00:00")


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("reason") or body)[:300]
    return str(body)[:300]
