"""drizzlepac-ng: drizzle, cosmic-ray rejection and alignment of HST images.

Task modules keep the names of the original DrizzlePac (``astrodrizzle``,
``tweakreg``, ``tweakback``, ``pixtosky``, ``skytopix``, ``pixtopix``,
``resetbits``, ``pixreplace``, ``photeq``, ``mapreg``, ``updatenpol``,
``blendheaders``), so a script ports by changing its imports.  The kernels
(:mod:`drizzlepac_ng.resample`) accept any APE-14 WCS.

The library logs through :mod:`logging` under the ``drizzlepac_ng`` logger
and never configures handlers itself; the ``drizzlepac-ng`` command line and
the tasks' ``runfile`` option do.
"""

import logging
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("drizzlepac-ng")
except PackageNotFoundError:
    __version__ = "0.0.0+unknown"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]
