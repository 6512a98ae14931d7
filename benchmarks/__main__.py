"""Run the comparisons of issue 5 and write ``benchmarks/results/REPORT.md``.

python -m benchmarks [model|sync|query|report|all] [--sizes 10000,100000,1000000]
                     [--repeat 5] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from benchmarks.compare.common import SIZES, WORKDIR, Section, load, now, save

PARTS = ("model", "sync", "query")


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a list of sizes: give whole numbers separated by commas, "
            "e.g. 10000,100000"
        ) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("give at least one size of 1 game or more")
    return sizes


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of 1 or more")
    return value


def run_part(
    name: str, sizes: list[int], repeat: int, workdir: Path, command: str, merge: bool = False
) -> Path:
    """Run one comparison module, stamp its command and times, and save its JSON.

    ``merge`` keeps the saved samples of sizes this run did not measure (each size's
    sides still ran together, in the run its note names)."""
    module = importlib.import_module(f"benchmarks.compare.{name}")
    started = now()
    previous = load(name) if merge else None
    section = module.run(sizes, repeat, workdir)
    section.command = command
    section.started = section.started or started
    section.finished = section.finished or now()
    if previous is not None:
        merge_previous(section, previous, sizes)
        if any(s.size not in sizes for s in previous.samples) and hasattr(module, "redraw"):
            module.redraw(section)  # the charts should show every size kept
    return save(section)


def merge_previous(section: Section, previous: Section, sizes: Sequence[int]) -> None:
    """Keep ``previous``'s samples of sizes not in ``sizes``, and its notes about them.

    Notes naming a re-measured size, and general notes (this run wrote its own), are
    dropped: they would describe figures no longer in the report.
    """
    kept = [s for s in previous.samples if s.size not in sizes]
    if not kept:
        return
    section.samples = kept + section.samples
    other = sorted({s.size for s in kept})

    def about(note: str, group: Iterable[int]) -> bool:
        return any(f"{n:,}" in note for n in group)

    notes = [
        n
        for n in previous.notes
        if n not in section.notes and about(n, other) and not about(n, sizes)
    ]
    # A size kept through several merges keeps the note naming the run that measured it.
    uncovered = [n for n in other if not any(_PROVENANCE in m and about(m, [n]) for m in notes)]
    if uncovered:
        section.notes.append(
            f"Sizes {', '.join(f'{n:,}' for n in uncovered)}{_PROVENANCE} "
            f"(`{previous.command}`, {previous.started} to {previous.finished}); "
            "both sides of each size ran in the same run."
        )
    section.notes.extend(notes)


_PROVENANCE = " are from an earlier run"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("part", choices=(*PARTS, "report", "all"), help="what to run")
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=list(SIZES),
        help="catalogue sizes in games, comma separated [10000,100000,1000000]",
    )
    parser.add_argument("--repeat", type=_positive, default=5, help="timed runs per case [5]")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the saved results of sizes not in --sizes (re-run some sizes only)",
    )
    parser.add_argument(
        "--workdir", type=Path, default=WORKDIR, help="cache of generated warehouses"
    )
    args = parser.parse_args(argv)
    command = "python -m benchmarks " + shlex.join(argv if argv is not None else sys.argv[1:])

    from benchmarks.compare import report

    parts = PARTS if args.part == "all" else () if args.part == "report" else (args.part,)
    failed = []
    for part in parts:
        try:
            path = run_part(part, args.sizes, args.repeat, args.workdir, command, args.merge)
        except Exception as e:  # one broken comparison must not lose the others' results
            # The failing child's own error output is above; one line here says which part.
            print(f"{part} failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            failed.append(part)
            continue
        print(f"saved {path}", flush=True)
        # Regenerated after each part, so a later failure still leaves a current report.
        print(f"wrote {report.write_report()}", flush=True)
    if not parts or failed:
        print(f"wrote {report.write_report()}", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}; see the messages above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
