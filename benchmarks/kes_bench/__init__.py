"""The benchmarks' library: what the command lines in benchmarks/ are made of.

Modules by job: ``problems`` (the exact Gaussian-mixture and data-set problems and their reference ODE
solutions), ``schedules`` (the compared schedules), ``evaluation`` (k-diffusion's samplers, the
counting model, the scores), ``statistics`` (geometric means, percentiles, paired-bootstrap
intervals), ``timing`` (interleaved medians, fresh-process wall times), ``report`` (the results
files and their sections) and ``figure``; then one module per benchmark: ``quality``, ``bound``,
``search`` and ``core``; and the package ``learned`` (the digit models trained here, their metrics,
and the learned benchmark, search and bound). The command lines (``python benchmarks/quality.py`` ...) only call their
``main``. The library uses only the public ``simple_kes`` API.
"""
