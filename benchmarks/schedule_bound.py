"""How much could any schedule gain over Karras rho 7? The best free-form schedule per sampler and step count.

Run from the repository root with the project's venv (seeded and deterministic):

    python benchmarks/schedule_bound.py                  # euler and dpmpp_2m at 10 and 20 steps, 20-30 minutes
    python benchmarks/schedule_bound.py --quick          # euler@10, 200 evaluations: a smoke run of a few minutes
    python benchmarks/schedule_bound.py --report-only benchmarks/results/schedule_bound.json   # rewrite the .md

Writes benchmarks/results/schedule_bound.md (named sections, quoted by the README) and
schedule_bound.json; --quick and other --cells or --evaluations write to benchmarks/out/. What it does and why:
kes_bench/bound.py.
"""

import sys

from kes_bench.bound import main

if __name__ == "__main__":
    sys.exit(main())
