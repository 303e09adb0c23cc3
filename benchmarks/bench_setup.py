"""What `bash .ci/setup` costs on a fresh checkout (time, disk) and on a second run: quoted by the README.

    python benchmarks/bench_setup.py          # a clone of HEAD in a temporary folder; about 4 minutes, 6 GB
    python benchmarks/bench_setup.py --report-only benchmarks/results/setup.json

Writes benchmarks/results/setup.md (section setup) and setup.json.
"""

import sys

from kes_bench.setup_cost import main

if __name__ == "__main__":
    sys.exit(main())
