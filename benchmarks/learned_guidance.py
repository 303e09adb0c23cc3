"""CFG, CFG++ and True Noise Removal on the digit models: python benchmarks/learned_guidance.py [--quick].

Writes benchmarks/results/learned_guidance.md, .json and .png (about 10 minutes on 2 cores; --quick
about a minute, into benchmarks/out). What and why: kes_bench/learned/guidance_methods.py.
"""

import sys

from kes_bench.learned.guidance_methods import main

if __name__ == "__main__":
    sys.exit(main())
