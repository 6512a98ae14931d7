"""Side-by-side comparisons of rawgwh against what users would otherwise run (issue 5).

Each module (``model``, ``sync``, ``query``) exposes ``run(sizes, repeat, workdir) -> Section``;
``python -m benchmarks`` runs them, saves their JSON and regenerates ``results/REPORT.md``.
"""
