"""Instrument-specific metadata read into :class:`~stwcs_ng.wcsutil.HSTWCS`.

One small class per HST instrument decides where the detector, chip,
filters, binning and parity come from (ORIGINALS section 4).  Each class
only *reads* headers and returns a dict of attribute values; HSTWCS sets
them.
"""

from __future__ import annotations

from typing import Any

from astropy.io import fits

__all__ = ["InstrumentKeywords", "ACSKeywords", "WFC3Keywords", "WFPC2Keywords",
           "STISKeywords", "NICMOSKeywords", "keywords_for"]

_FLIP_Y = [[1, 0], [0, -1]]
_FLIP_X = [[-1, 0], [0, 1]]


def _get(header: fits.Header | None, key: str, default: Any = None) -> Any:
    if header is None:
        return default
    value = header.get(key, default)
    if isinstance(value, str):
        value = value.strip()
    return value


class InstrumentKeywords:
    """Default rules (instrument ``DEFAULT`` and the base of the others).

    Parameters
    ----------
    primary : astropy.io.fits.Header or None
        Primary header.
    ext : astropy.io.fits.Header or None
        Extension header.
    """

    name = "DEFAULT"
    parity = _FLIP_Y

    def __init__(self, primary: fits.Header | None, ext: fits.Header | None) -> None:
        self.primary = primary
        self.ext = ext

    def values(self) -> dict[str, Any]:
        """Attribute values for HSTWCS.

        Returns
        -------
        dict
        """
        prim, ext = self.primary, self.ext
        return {
            "instrument": _get(prim, "INSTRUME", self.name) or self.name,
            "detector": self.detector(),
            "filter1": self.filters()[0],
            "filter2": self.filters()[1],
            "idctab": _get(prim, "IDCTAB"),
            "offtab": _get(prim, "OFFTAB"),
            "date_obs": self.date_obs(),
            # quirk of the original kept: these keywords are spelled RA_TARG on HST
            "ra_targ": _get(prim, "RA-TARG"),
            "dec_targ": _get(prim, "DEC-TARG"),
            "pav3": _get(prim, "PA_V3"),
            "vafactor": _get(ext, "VAFACTOR", 1.0),
            "ltv1": _get(ext, "LTV1", 0.0),
            "ltv2": _get(ext, "LTV2", 0.0),
            "binned": self.binned(),
            "chip": self.chip(),
            "parity": [row[:] for row in self.parity_for()],
        }

    def detector(self) -> Any:
        return _get(self.primary, "DETECTOR")

    def filters(self) -> tuple[Any, Any]:
        return _get(self.primary, "FILTER1"), _get(self.primary, "FILTER2")

    def date_obs(self) -> Any:
        return _get(self.primary, "DATE-OBS")

    def binned(self) -> int:
        return int(_get(self.ext, "BINAXIS1", 1) or 1)

    def chip(self) -> int:
        return int(_get(self.ext, "CCDCHIP", 1) or 1)

    def parity_for(self) -> list[list[int]]:
        return self.parity


class ACSKeywords(InstrumentKeywords):
    """ACS: WFC keeps the default parity, HRC and SBC flip x."""

    name = "ACS"

    def parity_for(self) -> list[list[int]]:
        return _FLIP_Y if str(self.detector()).upper() == "WFC" else _FLIP_X


class WFC3Keywords(InstrumentKeywords):
    """WFC3: single FILTER keyword, parity flips x for UVIS and IR."""

    name = "WFC3"
    parity = _FLIP_X

    def filters(self) -> tuple[Any, Any]:
        return _get(self.primary, "FILTER"), "CLEAR"


class NICMOSKeywords(InstrumentKeywords):
    """NICMOS: CAMERA is both detector and chip."""

    name = "NICMOS"
    parity = _FLIP_X

    def detector(self) -> Any:
        return _get(self.primary, "CAMERA")

    def chip(self) -> int:
        return int(_get(self.primary, "CAMERA", 1) or 1)

    def filters(self) -> tuple[Any, Any]:
        return _get(self.primary, "FILTER"), "CLEAR"


class WFPC2Keywords(InstrumentKeywords):
    """WFPC2: chip from the extension DETECTOR, FILTNAM1/2, MODE gives binning."""

    name = "WFPC2"
    parity = _FLIP_X

    def detector(self) -> Any:
        return _get(self.ext, "DETECTOR", _get(self.primary, "DETECTOR"))

    def chip(self) -> int:
        return int(self.detector() or 1)

    def filters(self) -> tuple[Any, Any]:
        f1 = _get(self.primary, "FILTNAM1") or "CLEAR1"
        f2 = _get(self.primary, "FILTNAM2") or "CLEAR2"
        return f1, f2

    def binned(self) -> int:
        mode = str(_get(self.primary, "MODE", "FULL")).upper()
        return 2 if mode == "AREA" else 1


class STISKeywords(InstrumentKeywords):
    """STIS: OPT_ELEM and FILTER; DATE-OBS from the extension."""

    name = "STIS"
    parity = _FLIP_X

    def filters(self) -> tuple[Any, Any]:
        return _get(self.primary, "OPT_ELEM"), _get(self.primary, "FILTER")

    def date_obs(self) -> Any:
        return _get(self.ext, "DATE-OBS", _get(self.primary, "DATE-OBS"))


_CLASSES = {cls.name: cls for cls in (ACSKeywords, WFC3Keywords, WFPC2Keywords, STISKeywords,
                                      NICMOSKeywords)}


def keywords_for(primary: fits.Header | None, ext: fits.Header | None) -> InstrumentKeywords:
    """The metadata reader for the instrument named by INSTRUME.

    Parameters
    ----------
    primary : astropy.io.fits.Header or None
        Primary header.
    ext : astropy.io.fits.Header or None
        Extension header.

    Returns
    -------
    InstrumentKeywords
        An :class:`ACSKeywords`, :class:`WFC3Keywords`... or the default.
    """
    inst = str(_get(primary, "INSTRUME", "") or _get(ext, "INSTRUME", "") or "").upper()
    return _CLASSES.get(inst, InstrumentKeywords)(primary, ext)
