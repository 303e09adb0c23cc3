"""Train the digit models of the learned benchmark: python benchmarks/train_digits.py [--check].

Writes benchmarks/models/digits-a.pt (the search model), digits-b.pt (the held-out model) and
manifest.json (seeds, command, checksums). About 25 minutes on 2 CPU cores; CI never runs it. What is
trained and how: kes_bench/learned/training.py.
"""

import sys

from kes_bench.learned.train_command import main

if __name__ == "__main__":
    sys.exit(main())
