"""Schedule quality: k-diffusion's real samplers on problems whose exact answer is known.

Run from the repository root with the project's venv:

    python benchmarks/quality.py --variants exact,sd-clamped      # what the README quotes, ~20-30 min on 2 cores
    python benchmarks/quality.py                                  # also the cruder x0-clamped variant
    python benchmarks/quality.py --quick                          # four problems, three step counts, a few minutes
    python benchmarks/quality.py --report-only benchmarks/results/quality.json   # rewrite .md and figure

Writes benchmarks/results/quality.md (named sections, quoted by the README and docs), quality.json
(every number) and quality.png (the figure); a --quick, --problems or --samplers run writes to
benchmarks/out/ instead. What is measured and why: kes_bench/quality.py, kes_bench/evaluation.py and
kes_bench/problems.py; the compared schedules: kes_bench/schedules.py.
"""

import sys

from kes_bench.quality import main

if __name__ == "__main__":
    sys.exit(main())
