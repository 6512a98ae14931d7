# Recipes mirror the README: `just demo` is its Quickstart, `just test` its Tests.

# Install and run a demo sync on the embedded warehouse (no key, no server).
demo:
    pip install uv && uv run rawgwh sync --demo --warehouse ./warehouse-demo && uv run rawgwh status --warehouse ./warehouse-demo

# Install and run the whole test suite.
test:
    pip install uv && uv run pytest

# Lint and type-check.
lint:
    uv run ruff check rawgwh tests benchmarks
    uv run ruff format --check rawgwh tests benchmarks
    uv run mypy

# Sync benchmark against the simulator on loopback.
bench-sync *ARGS:
    uv run python -m benchmarks.sync_bench {{ARGS}}
