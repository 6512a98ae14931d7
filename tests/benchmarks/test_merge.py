"""``python -m benchmarks PART --merge``: re-run some sizes, keep the others and their notes."""

from __future__ import annotations

from benchmarks.__main__ import merge_previous
from benchmarks.compare.common import Sample, Section


def _section(command: str, sizes: list[int], notes: list[str]) -> Section:
    samples = [Sample("rawgwh", "case", n, [1.0]) for n in sizes]
    return Section("x", "X", command, samples, notes, started="t0", finished="t1")


def test_notes_about_re_measured_sizes_and_stale_general_notes_are_dropped() -> None:
    previous = _section(
        "python -m benchmarks x --sizes 10000,1000000",
        [10_000, 1_000_000],
        [
            "10,000 games: q09 over the target",  # re-measured now: stale
            "1,000,000 games: within the target",  # kept size: kept
            "Method: the old wording",  # general: this run wrote its own
        ],
    )
    section = _section("python -m benchmarks x --sizes 10000", [10_000], ["Method: new wording"])

    merge_previous(section, previous, [10_000])

    assert sorted(s.size for s in section.samples) == [10_000, 1_000_000]
    assert "10,000 games: q09 over the target" not in section.notes
    assert "Method: the old wording" not in section.notes
    assert "1,000,000 games: within the target" in section.notes
    provenance = [n for n in section.notes if "are from an earlier run" in n]
    assert len(provenance) == 1 and "1,000,000" in provenance[0]
    assert "--sizes 10000,1000000" in provenance[0]


def test_a_size_kept_through_two_merges_keeps_the_run_that_measured_it() -> None:
    first = _section("run A", [10_000, 1_000_000], ["1,000,000 games: figures"])
    second = _section("run B", [10_000], [])
    merge_previous(second, first, [10_000])
    third = _section("run C", [10_000], [])

    merge_previous(third, second, [10_000])

    provenance = [n for n in third.notes if "are from an earlier run" in n]
    assert len(provenance) == 1 and "run A" in provenance[0]
    assert "1,000,000 games: figures" in third.notes
