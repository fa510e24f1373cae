"""stwcs-ng: HST world coordinate systems.

HSTWCS objects with the full HST distortion model (SIP, NPOL lookup tables,
D2IM), ``updatewcs``, alternate-WCS tools and headerlets, file-compatible
with STScI's STWCS.

The library logs through :mod:`logging` under the ``stwcs_ng`` logger and
never configures handlers itself; the ``stwcs-ng`` command line does.
"""

import logging
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stwcs-ng")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]
