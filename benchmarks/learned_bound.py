"""The best free-form schedule with Karras's ends on the digit models: python benchmarks/learned_bound.py.

Optimizes per cell on the search model and judges on the held-out one; writes
benchmarks/results/learned_bound.md and .json (about 15 minutes on 2 cores). What and why:
kes_bench/learned/bound.py.
"""

import sys

from kes_bench.learned.bound import main

if __name__ == "__main__":
    sys.exit(main())
