"""Source-finding parameters for the reference image of ``tweakreg`` (``refimagefindpars``).

Same 17 parameters and defaults as :class:`drizzlepac_ng.imagefindpars.ImageFindPars`.
"""

from __future__ import annotations

from typing import Any

from .imagefindpars import ImageFindPars

__all__ = ["RefImageFindPars", "refimagefindpars_defaults"]


class RefImageFindPars(ImageFindPars):
    """Parameters of the source finder applied to the reference image (same as ImageFindPars)."""


def refimagefindpars_defaults() -> dict[str, Any]:
    """Defaults of ``refimagefindpars`` as a dict."""
    return RefImageFindPars().as_dict()
