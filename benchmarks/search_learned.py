"""Search a KES shape on the search digit model: python benchmarks/search_learned.py [--quick].

Writes benchmarks/results/learned_search.md and .json (about 15 minutes on 2 cores); the learned
benchmark (learned.py) then judges the pick on the held-out model. What is searched and why:
kes_bench/learned/search.py.
"""

import sys

from kes_bench.learned.search import main

if __name__ == "__main__":
    sys.exit(main())
