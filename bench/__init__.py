"""Side-by-side benchmarks: each prints ratios of variants measured interleaved in one run."""
