import gc
import sys

from .app.cli import main

status = main()
# Exiting garbage-collects every object torch and k-diffusion created on import (about half a
# second here); the process is ending, so those objects are frozen out of that last pass instead.
gc.freeze()
sys.exit(status)
