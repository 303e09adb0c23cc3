"""The core's costs: schedule speed, hot-reload latency, load and validation, chart redraw, start-up time.

Run from the repository root with the project's venv:

    python benchmarks/bench_core.py            # full run, a few minutes
    python benchmarks/bench_core.py --quick    # fewer repetitions, a smoke test (writes to benchmarks/out)
    python benchmarks/bench_core.py --report-only benchmarks/results/bench_core.json   # rewrite the .md

Writes benchmarks/results/bench_core.md (sections schedule-speed, hot-reload, load-cost, redraw,
startup, quoted by the README) and bench_core.json. What is measured and the targets: kes_bench/core.py.
"""

import sys

from kes_bench.core import main

if __name__ == "__main__":
    sys.exit(main())
