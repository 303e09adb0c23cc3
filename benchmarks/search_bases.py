"""Search KES blends between two schedules of the guides: python benchmarks/search_bases.py [--quick].

Screens every pair of bases on the exact search problems, refines the best, chooses on the search digit
model and judges the pick once on the held-out problems and model. Writes benchmarks/results/base_search.md
and .json. What is searched and why: kes_bench/base_search.py.
"""

import sys

from kes_bench.base_search import main

if __name__ == "__main__":
    sys.exit(main())
