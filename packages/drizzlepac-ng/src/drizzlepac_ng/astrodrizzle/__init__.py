"""astrodrizzle: combine dithered exposures into one clean, distortion-free image.

The step algorithms live in submodules that work on arrays and WCS objects
(:mod:`.staticmask`, :mod:`.sky`, :mod:`.median`, :mod:`.crrej`,
:mod:`.outwcs`); :mod:`.config` holds the parameters.
"""

__taskname__ = "astrodrizzle"
