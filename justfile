# Recipes mirror the README: `just demo` is its Quickstart, `just test` its Tests.

# Install and run a demo sync on the embedded warehouse (no key, no server), then a query.
demo:
    pip install uv && uv run rawgwh sync --demo --warehouse ./warehouse-demo && uv run rawgwh query --warehouse ./warehouse-demo --example top-genres

# Install and run the whole test suite.
test:
    pip install uv && uv run pytest

# Lint and type-check.
lint:
    uv run ruff check rawgwh tests benchmarks
    uv run ruff format --check rawgwh tests benchmarks
    uv run mypy

# Sync throughput and peak memory against the simulator on loopback (raw zone only).
bench-sync *ARGS:
    uv run python -m benchmarks.sync_bench {{ARGS}}

# Build and publish the star from a synthetic raw zone: full and 1% incremental.
bench-model *ARGS:
    uv run python -m benchmarks.model_bench {{ARGS}}

# The ten analytical queries, warm and cold, over a 1M-game warehouse.
bench-query *ARGS:
    uv run python -m benchmarks.query_bench {{ARGS}}

# Every comparison against the alternatives at 10k, 100k and 1M games: benchmarks/results/REPORT.md.
bench *ARGS:
    uv run --group bench python -m benchmarks all {{ARGS}}

# Embedded vs the full stack (Nessie + S3): sync and the ten queries.
bench-stack *ARGS:
    uv run python -m benchmarks.stack_bench {{ARGS}}

# The adversarial suite with the full kill-harness seed set; prints the summary table.
stress:
    RAWGWH_KILL_SEEDS=24 uv run pytest tests/stress tests/cli/test_hostile_users.py tests/raw/test_parse_properties.py

# Start the local Nessie + S3 (moto) stack and print the shell lines to point a shell at it.
stack-local:
    uv run python tests/stack.py start && uv run python tests/stack.py env

# Stop the local stack.
stack-stop:
    uv run python tests/stack.py stop
