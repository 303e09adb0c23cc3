"""Search the KES parameters for a preset for one sampler, on the quality benchmark's search problems only.

Run from the repository root with the project's venv (seeded: one command gives the same result):

    python benchmarks/search_presets.py                     # a preset for euler (how tuned-euler was found), minutes
    python benchmarks/search_presets.py --sampler dpmpp_2m  # the same for another deterministic sampler
    python benchmarks/search_presets.py --quick             # smoke run

Prints the search log (top candidates, the pick and its config values) and writes every evaluated
candidate to benchmarks/out/search_presets-SAMPLER.json (or --json PATH); it writes nothing that the
docs quote: a preset found is judged by benchmarks/quality.py. Objective and method: kes_bench/search.py.
"""

import sys

from kes_bench.search import main

if __name__ == "__main__":
    sys.exit(main())
