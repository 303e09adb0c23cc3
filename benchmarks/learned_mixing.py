"""Iterative mixing on the digit models at twice their size: python benchmarks/learned_mixing.py [--quick].

Writes benchmarks/results/learned_mixing.md, .json and .png (about 10 minutes on 2 cores; --quick under
a minute, into benchmarks/out). What and why: kes_bench/learned/mixing_methods.py.
"""

import sys

from kes_bench.learned.mixing_methods import main

if __name__ == "__main__":
    sys.exit(main())
