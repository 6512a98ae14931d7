"""Where a warehouse's files live: a local folder or an S3-compatible bucket.

pyiceberg writes through its FileIO, configured by the catalog's ``s3.*`` properties; the
readers here (Polars, pyarrow, DuckDB) take the same properties, translated, so one set
of settings reaches every library.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

if TYPE_CHECKING:
    import pyarrow.fs as pafs

__all__ = [
    "is_remote",
    "local_path",
    "polars_storage_options",
    "pyarrow_filesystem",
    "s3fs_filesystem",
    "strip_scheme",
]

_S3 = ("s3", "s3a", "s3n")


def is_remote(location: str) -> bool:
    return urlsplit(location).scheme in _S3


def local_path(location: str) -> str | None:
    """A local path for a ``file://`` URI or plain path; None for remote storage."""
    parts = urlsplit(location)
    if parts.scheme == "file":
        return os.path.abspath(url2pathname(parts.path))
    if len(parts.scheme) > 1:  # one letter is a Windows drive
        return None
    return os.path.abspath(location)


def strip_scheme(location: str) -> str:
    """``bucket/key`` for ``s3://bucket/key`` (what pyarrow's S3FileSystem expects)."""
    parts = urlsplit(location)
    return parts.netloc + parts.path


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() in ("1", "true", "yes", "on")


def polars_storage_options(properties: Mapping[str, str]) -> dict[str, Any]:
    """pyiceberg ``s3.*`` properties as Polars (object_store) storage options."""
    options: dict[str, Any] = {}
    names = {
        "s3.access-key-id": "aws_access_key_id",
        "s3.secret-access-key": "aws_secret_access_key",
        "s3.session-token": "aws_session_token",
        "s3.region": "aws_region",
        "s3.endpoint": "aws_endpoint_url",
    }
    for prop, option in names.items():
        if properties.get(prop):
            options[option] = properties[prop]
    endpoint = properties.get("s3.endpoint", "")
    if endpoint.startswith("http://"):
        options["aws_allow_http"] = "true"
    if _flag(properties.get("s3.path-style-access")):
        options["aws_virtual_hosted_style_request"] = "false"
    if "aws_region" not in options:
        options["aws_region"] = "us-east-1"  # S3-compatible servers ignore it; AWS needs one
    return options


def pyarrow_filesystem(properties: Mapping[str, str]) -> pafs.S3FileSystem:
    """A pyarrow S3 filesystem from pyiceberg ``s3.*`` properties."""
    from pyarrow import fs

    endpoint = properties.get("s3.endpoint")
    kwargs: dict[str, Any] = {"region": properties.get("s3.region") or "us-east-1"}
    if properties.get("s3.access-key-id"):
        kwargs["access_key"] = properties["s3.access-key-id"]
        kwargs["secret_key"] = properties.get("s3.secret-access-key", "")
        if properties.get("s3.session-token"):
            kwargs["session_token"] = properties["s3.session-token"]
    if endpoint:
        parts = urlsplit(endpoint)
        kwargs["endpoint_override"] = parts.netloc + parts.path.rstrip("/")
        kwargs["scheme"] = parts.scheme or "https"
    if _flag(properties.get("s3.path-style-access")):
        kwargs["force_virtual_addressing"] = False
    return fs.S3FileSystem(**kwargs)


def s3fs_filesystem(properties: Mapping[str, str]) -> Any:
    """An s3fs (fsspec) filesystem from pyiceberg ``s3.*`` properties."""
    import s3fs

    client: dict[str, Any] = {"region_name": properties.get("s3.region") or "us-east-1"}
    config: dict[str, Any] = {}
    if _flag(properties.get("s3.path-style-access")):
        config["s3"] = {"addressing_style": "path"}
    return s3fs.S3FileSystem(
        key=properties.get("s3.access-key-id"),
        secret=properties.get("s3.secret-access-key"),
        token=properties.get("s3.session-token"),
        endpoint_url=properties.get("s3.endpoint"),
        client_kwargs=client,
        config_kwargs=config,
    )
