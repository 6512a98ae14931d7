"""compose.yaml validates against the Compose Specification and agrees with the README's section.

No Docker engine runs here, so these checks are the contract: the file is valid Compose, every
service is pinned and health-checked, Nessie stores its warehouse in a bucket the setup job creates
on the MinIO service, and the ports, credentials and settings that the README's Full stack section
quotes are the ones the file sets. Each check is also run against broken copies to show it can fail.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "compose.yaml"
DOC = ROOT / "README.md"
SCHEMA = Path(__file__).parent / "compose" / "compose-spec.json"

NESSIE = "nessie"
S3_OPTS = "nessie.catalog.service.s3.default-options."
Compose = dict[str, Any]


# --- reading compose.yaml the way Compose does, with no overrides set ---------------------------


def interpolate(value: str) -> str:
    """`${VAR:-default}` becomes its default and `$$` a literal `$`; anything else is an error."""
    escaped = value.replace("$$", "\0")
    resolved = re.sub(r"\$\{\w+:-([^}]*)\}", lambda m: m.group(1), escaped)
    if "$" in resolved:
        raise ValueError(f"variable without a default in {value!r}")
    return resolved.replace("\0", "$")


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: interpolate(str(val)) for key, val in env.items()}


def published_ports(service: dict[str, Any]) -> dict[int, int]:
    """Host port -> container port for every published port of a service."""
    ports: dict[int, int] = {}
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            if "published" in entry:
                ports[int(entry["published"])] = int(entry["target"])
            continue
        parts = str(entry).split("/")[0].split(":")
        if len(parts) >= 2:
            ports[int(parts[-2])] = int(parts[-1])
    return ports


def image_tag(image: str) -> str | None:
    name = image.split("@")[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def one_shot_services(compose: Compose) -> list[str]:
    return [name for name, svc in compose["services"].items() if svc.get("restart") == "no"]


def created_buckets(compose: Compose) -> set[str]:
    """Buckets the one-shot jobs create with `mc mb [flags] ALIAS/BUCKET`."""
    buckets: set[str] = set()
    for name in one_shot_services(compose):
        command = compose["services"][name].get("command", "")
        text = " ".join(command) if isinstance(command, list) else str(command)
        buckets |= set(re.findall(r"mc mb(?: --?[\w-]+)* [\w.-]+/([a-z0-9.-]+)", text))
    return buckets


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    assert parts.hostname is not None and parts.port is not None, url
    return parts.hostname, parts.port


# --- reading the README's Full stack section ---------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("`", "").strip().strip("<>")


def markdown_table(doc: str, first_header: str) -> list[dict[str, str]]:
    """Rows of the table whose first header cell is `first_header`, keyed by header."""
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_header:
            rows = []
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                values = [_cell(c) for c in row.strip().strip("|").split("|")]
                rows.append(dict(zip(cells, values, strict=True)))
            return rows
    raise AssertionError(f"no table starting with {first_header!r} in {DOC.name}")


def fenced(doc: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", doc, flags=re.S)


class Doc:
    def __init__(self, text: str) -> None:
        self.services = markdown_table(text, "Service")
        self.dremio = {
            row["Dremio setting"]: row["Value"] for row in markdown_table(text, "Dremio setting")
        }
        self.profile = tomllib.loads(fenced(text, "toml")[0])["profiles"]["stack"]
        shell = "".join(fenced(text, "sh"))
        self.exports = dict(re.findall(r"^export (\w+)=(\S+)$", shell, flags=re.M))


# --- the checks: each returns what is wrong, empty when all is well -----------------------------


def schema_problems(compose: Compose) -> list[str]:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"schema: {'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(compose)
    ]


def service_problems(compose: Compose) -> list[str]:
    problems = []
    for name, svc in compose["services"].items():
        test = (svc.get("healthcheck") or {}).get("test")
        if not test or svc["healthcheck"].get("disable") or test[0] not in ("CMD", "CMD-SHELL"):
            problems.append(f"{name}: no healthcheck")
        tag = image_tag(svc.get("image", ""))
        if tag in (None, "latest"):
            problems.append(f"{name}: image {svc.get('image')!r} is not pinned to a tag")
        for dep in depends_on(svc):
            if dep not in compose["services"]:
                problems.append(f"{name}: depends on unknown service {dep}")
    for job in one_shot_services(compose):
        adopters = [
            name
            for name, svc in compose["services"].items()
            if depends_on(svc).get(job) == "service_completed_successfully"
        ]
        if not adopters:
            problems.append(f"{job}: one-shot job nobody waits for (`up --wait` would fail)")
    return problems


def nessie_problems(compose: Compose, doc: Doc) -> list[str]:
    services = compose["services"]
    env = env_of(services[NESSIE])
    problems = []

    endpoint_host, endpoint_port = host_port(env[S3_OPTS + "endpoint"])
    if (
        endpoint_host not in services
        or endpoint_port not in published_ports(services[endpoint_host]).values()
    ):
        problems.append(
            f"nessie: S3 endpoint {env[S3_OPTS + 'endpoint']} is not a MinIO service port"
        )
        storage: dict[str, str] = {}
    else:
        storage = env_of(services[endpoint_host])
    if env.get("nessie.catalog.secrets.access-key.name") != storage.get("MINIO_ROOT_USER"):
        problems.append("nessie: access key differs from MinIO's root user")
    if env.get("nessie.catalog.secrets.access-key.secret") != storage.get("MINIO_ROOT_PASSWORD"):
        problems.append("nessie: secret key differs from MinIO's root password")
    if not env.get(S3_OPTS + "access-key", "").endswith(":nessie.catalog.secrets.access-key"):
        problems.append("nessie: access-key does not reference nessie.catalog.secrets.access-key")

    default = env.get("nessie.catalog.default-warehouse", "")
    location = env.get(f"nessie.catalog.warehouses.{default}.location", "")
    if urlsplit(location).netloc not in created_buckets(compose):
        problems.append(f"nessie: warehouse {location!r} is not in a bucket the setup job creates")
    if location.rstrip("/") != doc.profile["warehouse"].rstrip("/"):
        problems.append(
            f"nessie: warehouse {location!r} is not the doc's {doc.profile['warehouse']!r}"
        )

    catalog = doc.profile["catalog"]
    minio_host_ports = {
        h for h, c in published_ports(services.get(endpoint_host, {})).items() if c == endpoint_port
    }
    if host_port(catalog["s3.endpoint"]) not in {("localhost", p) for p in minio_host_ports}:
        problems.append(
            f"doc: s3.endpoint {catalog['s3.endpoint']} is not MinIO's published S3 port"
        )
    if env.get(S3_OPTS + "external-endpoint", "").rstrip("/") != catalog["s3.endpoint"].rstrip("/"):
        problems.append("nessie: external-endpoint is not the s3.endpoint rawgwh uses on the host")
    if env.get(S3_OPTS + "region") != catalog["s3.region"]:
        problems.append("nessie: region differs from the doc's s3.region")
    if (
        env.get(S3_OPTS + "path-style-access") != "true"
        or catalog["s3.path-style-access"] != "true"
    ):
        problems.append("path-style access must be on for MinIO")
    uri = urlsplit(catalog["uri"])
    if uri.path != "/iceberg" or (uri.hostname, uri.port) not in {
        ("localhost", p) for p in published_ports(services[NESSIE])
    }:
        problems.append(f"doc: catalog uri {catalog['uri']} is not Nessie's published /iceberg")

    waits = depends_on(services[NESSIE])
    if not any(
        waits.get(job) == "service_completed_successfully" for job in one_shot_services(compose)
    ):
        problems.append("nessie: does not wait for the bucket job to complete")
    for job in one_shot_services(compose):
        if depends_on(services[job]).get(endpoint_host) != "service_healthy":
            problems.append(f"{job}: does not wait for {endpoint_host} to be healthy")
        job_env = env_of(services[job])
        if (job_env.get("MINIO_ROOT_USER"), job_env.get("MINIO_ROOT_PASSWORD")) != (
            storage.get("MINIO_ROOT_USER"),
            storage.get("MINIO_ROOT_PASSWORD"),
        ):
            problems.append(f"{job}: logs in with other credentials than {endpoint_host}'s")
    return problems


def doc_problems(compose: Compose, doc: Doc) -> list[str]:
    services = compose["services"]
    problems = []
    quoted = {(row["Compose service"], int(row["Host port"])) for row in doc.services}
    actual = {(name, port) for name, svc in services.items() for port in published_ports(svc)}
    if quoted != actual:
        problems.append(
            f"ports: doc quotes {sorted(quoted - actual)}, compose adds {sorted(actual - quoted)}"
        )

    s3_host, _ = host_port(env_of(services[NESSIE])[S3_OPTS + "endpoint"])
    storage = env_of(services.get(s3_host, {}))
    user, password = storage.get("MINIO_ROOT_USER"), storage.get("MINIO_ROOT_PASSWORD")
    if (doc.exports.get("AWS_ACCESS_KEY_ID"), doc.exports.get("AWS_SECRET_ACCESS_KEY")) != (
        user,
        password,
    ):
        problems.append("doc: exported AWS credentials are not the compose defaults")
    if (doc.dremio["Storage → AWS access key"], doc.dremio["Storage → AWS access secret"]) != (
        user,
        password,
    ):
        problems.append("doc: Dremio storage credentials are not the compose defaults")
    for row in doc.services:
        creds = [part.strip() for part in row["Default credentials"].split("/")]
        if row["Compose service"] == s3_host and creds != [user, password]:
            problems.append(f"doc: {row['Service']} credentials are not the compose defaults")

    nessie_url = urlsplit(doc.dremio["General → Nessie endpoint URL"])
    if (nessie_url.hostname, nessie_url.path) != (NESSIE, "/api/v2") or nessie_url.port not in set(
        published_ports(services[NESSIE]).values()
    ):
        problems.append(
            f"doc: Dremio's Nessie endpoint {nessie_url.geturl()} is not the nessie service"
        )
    s3_endpoint = host_port(doc.dremio["Storage → Connection property fs.s3a.endpoint"])
    if s3_endpoint != host_port(env_of(services[NESSIE])[S3_OPTS + "endpoint"]):
        problems.append("doc: Dremio's fs.s3a.endpoint is not the MinIO service Nessie uses")
    warehouse = urlsplit(doc.profile["warehouse"])
    if doc.dremio["Storage → AWS root path"] != f"/{warehouse.netloc}{warehouse.path}":
        problems.append("doc: Dremio's AWS root path is not the warehouse location")
    if doc.dremio["Storage → Connection property fs.s3a.path.style.access"] != "true":
        problems.append("doc: Dremio needs fs.s3a.path.style.access=true for MinIO")
    return problems


def all_problems(compose: Compose, doc_text: str) -> list[str]:
    doc = Doc(doc_text)
    return (
        schema_problems(compose)
        + service_problems(compose)
        + nessie_problems(compose, doc)
        + doc_problems(compose, doc)
    )


# --- tests ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> Compose:
    loaded: Compose = yaml.safe_load(COMPOSE.read_text())
    return loaded


@pytest.fixture(scope="module")
def doc_text() -> str:
    return full_stack_section(DOC.read_text())


def full_stack_section(readme: str) -> str:
    """The README's "## Full stack" section, up to the next second-level heading."""
    start = readme.index("## Full stack")
    end = readme.find("\n## ", start + 1)
    return readme[start:] if end < 0 else readme[start:end]


def test_vendored_schema_is_a_valid_draft7_schema() -> None:
    jsonschema.Draft7Validator.check_schema(json.loads(SCHEMA.read_text()))


def test_compose_file_validates_against_the_compose_spec(compose: Compose) -> None:
    assert schema_problems(compose) == []


def test_compose_file_agrees_with_itself_and_the_readme(compose: Compose, doc_text: str) -> None:
    assert all_problems(compose, doc_text) == []


def test_every_service_is_pinned_and_health_checked(compose: Compose) -> None:
    assert set(compose["services"]) >= {"minio", "nessie", "dremio"}
    assert service_problems(compose) == []
    assert created_buckets(compose) == {"rawgwh"}


def test_images_pin_the_versions_the_project_relies_on(compose: Compose) -> None:
    assert compose["services"][NESSIE]["image"] == "ghcr.io/projectnessie/nessie:0.99.0"


def test_interpolation_keeps_defaults_and_rejects_bare_variables() -> None:
    assert interpolate("${MINIO_ROOT_USER:-minioadmin}") == "minioadmin"
    assert interpolate("$$HOME/${X:-a}") == "$HOME/a"
    with pytest.raises(ValueError, match="without a default"):
        interpolate("${MINIO_ROOT_USER}")


Mutation = Callable[[Compose], None]


def _svc(name: str) -> Callable[[Compose], dict[str, Any]]:
    return lambda c: c["services"][name]


def _set_env(service: str, key: str, value: str) -> Mutation:
    return lambda c: _svc(service)(c)["environment"].__setitem__(key, value)


BROKEN: dict[str, tuple[Mutation, str]] = {
    "unknown service key": (lambda c: _svc("dremio")(c).__setitem__("heathcheck", {}), "schema"),
    "interval not a string": (
        lambda c: _svc("minio")(c)["healthcheck"].__setitem__("interval", 5),
        "schema",
    ),
    "no healthcheck": (lambda c: _svc("dremio")(c).pop("healthcheck"), "dremio: no healthcheck"),
    "latest tag": (
        lambda c: _svc("dremio")(c).__setitem__("image", "dremio/dremio-oss:latest"),
        "not pinned",
    ),
    "no tag": (
        lambda c: _svc("minio")(c).__setitem__("image", "quay.io/minio/minio"),
        "not pinned",
    ),
    "endpoint elsewhere": (
        _set_env(NESSIE, S3_OPTS + "endpoint", "http://minio:9999/"),
        "not a MinIO service port",
    ),
    "bucket not created": (
        _set_env(NESSIE, "nessie.catalog.warehouses.warehouse.location", "s3://other/warehouse"),
        "not in a bucket",
    ),
    "wrong secret": (
        _set_env(NESSIE, "nessie.catalog.secrets.access-key.secret", "${X:-nope}"),
        "secret key differs",
    ),
    "external endpoint in-network": (
        _set_env(NESSIE, S3_OPTS + "external-endpoint", "http://minio:9000/"),
        "external-endpoint",
    ),
    "nessie starts before buckets": (
        lambda c: _svc(NESSIE)(c)["depends_on"]["buckets"].__setitem__(
            "condition", "service_started"
        ),
        "does not wait for the bucket job",
    ),
    "job before minio healthy": (
        lambda c: _svc("buckets")(c)["depends_on"]["minio"].__setitem__(
            "condition", "service_started"
        ),
        "to be healthy",
    ),
    "job with other credentials": (
        _set_env("buckets", "MINIO_ROOT_USER", "${MINIO_ROOT_USER:-admin}"),
        "other credentials",
    ),
    "port moved": (
        lambda c: _svc("minio")(c)["ports"].__setitem__(0, "127.0.0.1:9002:9000"),
        "ports:",
    ),
    "extra port": (lambda c: _svc("dremio")(c)["ports"].append("127.0.0.1:45678:45678"), "ports:"),
    "changed default password": (
        _set_env("minio", "MINIO_ROOT_PASSWORD", "${MINIO_ROOT_PASSWORD:-changeme1}"),
        "credentials are not the compose defaults",
    ),
    "nessie port moved": (
        lambda c: _svc(NESSIE)(c).__setitem__("ports", ["127.0.0.1:19121:19120"]),
        "catalog uri",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_check_catches_its_breakage(compose: Compose, doc_text: str, case: str) -> None:
    mutate, expected = BROKEN[case]
    broken = copy.deepcopy(compose)
    mutate(broken)
    problems = all_problems(broken, doc_text)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("| 9047 |", "| 9048 |", "ports:"),
        (
            "export AWS_SECRET_ACCESS_KEY=minioadmin",
            "export AWS_SECRET_ACCESS_KEY=x",
            "exported AWS",
        ),
        ('warehouse = "s3://rawgwh/warehouse"', 'warehouse = "s3://lake/warehouse"', "warehouse"),
        ("`http://nessie:19120/api/v2`", "`http://localhost:19120/api/v2`", "Nessie endpoint"),
        ("| `minio:9000` |", "| `localhost:9000` |", "fs.s3a.endpoint"),
        ("| `/rawgwh/warehouse` |", "| `/warehouse` |", "AWS root path"),
        (
            '"s3.endpoint" = "http://localhost:9000"',
            '"s3.endpoint" = "http://minio:9000"',
            "s3.endpoint",
        ),
    ],
)
def test_doc_drift_is_caught(
    compose: Compose, doc_text: str, old: str, new: str, expected: str
) -> None:
    assert old in doc_text
    problems = all_problems(compose, doc_text.replace(old, new, 1))
    assert any(expected in p for p in problems), problems
