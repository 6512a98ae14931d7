"""``rawgwh simulate``: a RAWG-compatible API on loopback, for demos, tests and benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rawgwh.cli.app import Debug


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)


def simulate_command(
    port: Annotated[
        int, typer.Option("--port", "-p", help="Port on 127.0.0.1 (0: any free).")
    ] = 8000,
    games: Annotated[
        int, typer.Option("--games", "-n", help="Synthetic games to serve.")
    ] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed for synthetic games and faults.")] = 0,
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", help="Serve these records (.jsonl or .jsonl.gz) instead."),
    ] = None,
    faults: Annotated[
        bool, typer.Option("--faults", help="Inject seeded 429s, 5xx, slow replies, moving games.")
    ] = False,
    fault_rate: Annotated[
        float, typer.Option("--fault-rate", help="Share of requests that get a fault.")
    ] = 0.1,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="Require this key (default: none needed).")
    ] = None,
    debug: Debug = False,
) -> None:
    """Serve a RAWG-compatible /api/games on loopback until Ctrl-C."""
    from rawgwh.errors import ConfigError
    from rawgwh.source.simulator import Faults, run

    if games < 0:
        raise ConfigError("--games must be 0 or more")
    if not 0 <= port <= 65535:
        raise ConfigError("--port must be between 0 and 65535")
    if not 0.0 <= fault_rate <= 1.0:
        raise ConfigError("--fault-rate must be between 0 and 1")
    if from_file is not None and not from_file.is_file():
        raise ConfigError(f"--from-file {from_file} is not a file")
    plan = Faults.all(rate=fault_rate, seed=seed) if faults else None
    try:
        run(port=port, games=games, seed=seed, from_file=from_file, faults=plan, api_key=api_key)
    except ValueError as e:
        if from_file is None:
            raise
        raise ConfigError(f"--from-file {e}") from None  # not records it can serve
    except OSError as e:
        raise ConfigError(
            f"cannot listen on 127.0.0.1:{port}: {e.strerror}; try another --port"
        ) from None
