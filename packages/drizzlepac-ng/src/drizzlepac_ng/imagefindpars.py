"""Source-finding parameters of ``tweakreg`` (the ``imagefindpars`` parameter set).

:class:`ImageFindPars` has the 17 parameters of the original
``drizzlepac/pars/imagefindpars.cfg`` with the same names and defaults.
``refimagefindpars`` (:mod:`drizzlepac_ng.refimagefindpars`) has the same set
for the reference image.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

__all__ = ["ImageFindPars", "imagefindpars_defaults", "find_parameter_names"]


@dataclass
class ImageFindPars:
    """Parameters of the daofind-like source finder (``imagefindpars``).

    Parameters
    ----------
    computesig : bool
        Compute the sky sigma from the image (robust MAD estimate); else use ``skysigma``.
    skysigma : float
        Background sigma (image units), used when ``computesig`` is False.
    conv_width : float
        FWHM (pixels) of the Gaussian convolution kernel; about twice the PSF FWHM.
    peakmin, peakmax : float or None
        Limits on the sky-subtracted peak value of a source.
    threshold : float
        Detection threshold in units of the background sigma of the filtered image.
    nsigma : float
        Half-width of the kernel in units of the Gaussian sigma.
    ratio : float
        Minor/major axis ratio of the Gaussian kernel (0 < ratio <= 1).
    theta : float
        Position angle of the kernel major axis (deg, counter-clockwise from +x).
    fluxmin, fluxmax : float or None
        Limits on the sky-subtracted flux of a source.
    dqbits : int, str or None
        DQ bits treated as good; blank or None ignores the DQ array.
    use_sharp_round : bool
        Apply the sharpness and roundness limits.
    sharplo, sharphi : float
        Sharpness limits.
    roundlo, roundhi : float
        Roundness limits.
    """

    computesig: bool = True
    skysigma: float = 0.0
    conv_width: float = 3.5
    peakmin: float | None = None
    peakmax: float | None = None
    threshold: float = 4.0
    nsigma: float = 1.5
    ratio: float = 1.0
    theta: float = 0.0
    fluxmin: float | None = None
    fluxmax: float | None = None
    dqbits: Any = ""
    use_sharp_round: bool = False
    sharplo: float = 0.2
    sharphi: float = 1.0
    roundlo: float = -1.0
    roundhi: float = 1.0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check the values.

        Raises
        ------
        ConfigError
            If a value is out of range or of the wrong type.
        """
        for name in ("skysigma", "conv_width", "threshold", "nsigma", "ratio", "theta",
                     "sharplo", "sharphi", "roundlo", "roundhi"):
            try:
                setattr(self, name, float(getattr(self, name)))
            except (TypeError, ValueError):
                raise ConfigError(f"find parameter {name!r} must be a number, "
                                  f"not {getattr(self, name)!r}") from None
        for name in ("peakmin", "peakmax", "fluxmin", "fluxmax"):
            v = getattr(self, name)
            if v is None or (isinstance(v, str) and v.strip().lower() in ("", "none", "indef")):
                setattr(self, name, None)
                continue
            try:
                setattr(self, name, float(v))
            except (TypeError, ValueError):
                raise ConfigError(f"find parameter {name!r} must be a number or None, "
                                  f"not {v!r}") from None
        if self.conv_width <= 0:
            raise ConfigError(f"conv_width must be > 0, not {self.conv_width}")
        if not 0 < self.ratio <= 1:
            raise ConfigError(f"ratio must be in (0, 1], not {self.ratio}")
        if self.nsigma <= 0:
            raise ConfigError(f"nsigma must be > 0, not {self.nsigma}")
        if self.threshold <= 0:
            raise ConfigError(f"threshold must be > 0, not {self.threshold}")
        if not self.computesig and self.skysigma <= 0:
            raise ConfigError("skysigma must be > 0 when computesig is False")
        self.computesig = bool(self.computesig)
        self.use_sharp_round = bool(self.use_sharp_round)

    def as_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict (original names)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None, *, section: str = "imagefindpars"
                  ) -> ImageFindPars:
        """Build from a dict (or ConfigObj-like mapping); unknown names are an error.

        Parameters
        ----------
        values : mapping or None
            Parameter values; None gives the defaults.  Keys starting with
            ``_`` (task bookkeeping) are ignored.
        section : str, optional
            Name used in error messages.

        Returns
        -------
        ImageFindPars

        Raises
        ------
        ConfigError
            On an unknown name or a bad value.
        """
        if values is None:
            return cls()
        if isinstance(values, ImageFindPars):
            return cls(**values.as_dict())
        known = set(find_parameter_names())
        kw = {}
        for k, v in dict(values).items():
            if str(k).startswith("_"):
                continue
            if k not in known:
                raise ConfigError(f"{section}: unknown parameter {k!r}")
            kw[k] = v
        return cls(**kw)


def find_parameter_names() -> tuple[str, ...]:
    """Names of the 17 find parameters, in the original order."""
    return tuple(f.name for f in dataclasses.fields(ImageFindPars))


def imagefindpars_defaults() -> dict[str, Any]:
    """Defaults of ``imagefindpars`` as a dict."""
    return ImageFindPars().as_dict()
