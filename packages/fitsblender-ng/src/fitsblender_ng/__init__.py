"""fitsblender-ng: blend the headers of many FITS inputs into one product header.

Rules files (``.rules``) say, keyword by keyword, how values from the inputs
are merged into the product's headers (first, last, sum, mean, min, max ...)
and which keywords go into the ``HDRTAB`` table, one row per input chip.

The library logs through :mod:`logging` under the ``fitsblender_ng`` logger
and never configures handlers itself.
"""

import logging
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fitsblender-ng")
except PackageNotFoundError:
    __version__ = "0.0.0+unknown"

logging.getLogger(__name__).addHandler(logging.NullHandler())

from .blender import BlendResult, HeaderSet, blend  # noqa: E402
from .blendheaders import blendheaders, get_blended_headers  # noqa: E402
from .rules import RulesFile, find_rules_file  # noqa: E402

__all__ = [
    "BlendResult",
    "HeaderSet",
    "RulesFile",
    "__version__",
    "blend",
    "blendheaders",
    "find_rules_file",
    "get_blended_headers",
]
