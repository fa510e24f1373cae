"""astrodrizzle: combine dithered exposures into one clean, distortion-free image.

``AstroDrizzle(input, output=None, runfile=None, configobj=None, **parameters)``
takes the original task's parameter names and defaults.  The recipe
(:mod:`.pipeline`) runs static mask, sky, separate drizzle, median, blot,
driz_cr and final drizzle; each step is a function over arrays and WCS
objects in :mod:`.staticmask`, :mod:`.sky`, :mod:`.median`, :mod:`.crrej`
and :mod:`.outwcs`; :mod:`.config` holds the parameters (TOML files and the
originals' ``.cfg`` files), :mod:`.inputs` reads the exposures and
:mod:`.products` writes the files.
"""

from ._task import AstroDrizzle, AstroDrizzleResult, run
from .config import AstroDrizzleConfig

__taskname__ = "astrodrizzle"

__all__ = ["AstroDrizzle", "AstroDrizzleConfig", "AstroDrizzleResult", "run"]
