"""Every schedule on the learned digit models: python benchmarks/learned.py [--quick].

The full run (what the README quotes, about an hour on 2 cores) writes benchmarks/results/learned.md
(named sections), learned.json (every number) and learned.png; --quick (the held-out model, euler and
dpmpp_2m at 10 and 20 steps, a few minutes) prints one table of ratios to Karras and writes to
benchmarks/out/. The models are committed (benchmarks/models/, made by train_digits.py). What is
measured and why: kes_bench/learned/.
"""

import sys

from kes_bench.learned.benchmark import main

if __name__ == "__main__":
    sys.exit(main())
