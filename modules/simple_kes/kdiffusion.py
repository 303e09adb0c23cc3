"""k-diffusion's sampling module, imported once and quietly: the k-diffusion package, or ComfyUI's copy.

k-diffusion's package __init__ imports clip-anytorch and jsonmerge, which warn about their own
deprecated dependencies (pkg_resources, jsonschema.RefResolver) on every start: nothing a user of this
package can act on, so only warnings raised by those two modules are silenced. ComfyUI ships
k-diffusion's sampling module inside its own package (same functions) instead of the distribution;
it is used where the package is absent rather than making every ComfyUI user install k-diffusion's
heavy dependencies. Any other import failure is real and is raised.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", module=r"(clip|jsonmerge)(\.|$)")
    try:
        from k_diffusion import sampling
    except ModuleNotFoundError as missing:
        if missing.name.split(".")[0] != "k_diffusion":
            raise
        from comfy.k_diffusion import sampling

__all__ = ["sampling"]
