"""Hand-built baselines that rawgwh is compared against (benchmarks only, not product code)."""
