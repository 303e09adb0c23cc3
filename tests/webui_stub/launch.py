"""Stand-in for the WebUI's launch.py helpers that install.py uses; it records instead of installing.

``STUB_INSTALLED`` lists the distributions that count as installed; each run_pip call is appended
to the file named by ``STUB_PIP_LOG``.
"""

import os


def is_installed(package):
    return package in os.environ.get("STUB_INSTALLED", "").split(",")


def run_pip(command, desc=None, live=False):
    with open(os.environ["STUB_PIP_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{command}|{desc}\n")
