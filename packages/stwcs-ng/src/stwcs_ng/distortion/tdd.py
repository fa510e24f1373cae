"""ACS/WFC time-dependent distortion (TDD).

The ACS/WFC distortion drifts with time.  Three calibrations exist, told
apart by the keywords in the IDCTAB primary header (see
:func:`stwcs_ng.distortion.idctab.read_tdd_coefficients`):

``"skew"`` (ACS ISR 2007-08; also the default when a table has no TDD keywords)
    ``alpha = sum_c TDD_A[c] * (t - TDD_DATE)**c`` and likewise ``beta``; the
    coefficient vectors ``(CX, CY)`` are transformed by ``R(+t) @ S @ R(-t)``
    with ``t = 2.234529`` deg and
    ``S = [[1 + beta/2048, alpha/2048], [alpha/2048, 1 - beta/2048]]``
    (the skew is defined in a frame rotated by that angle from V2/V3).  The
    two chips' reference points also move (:func:`zero_point_offset`).
``"2014"``
    ``CY11 = TDD_CYA + TDD_CYB * dt`` (or ``CY11 += TDD_CYB * dt`` without
    ``TDD_CYA``) and ``CX11 = TDD_CXA + TDD_CXB * dt`` when ``TDD_CXA`` is given.
``"2015"``
    ``CX11 += TDD_CXB * dt``, ``CY11 += TDD_CTB * dt``, ``CY10 += TDD_CYB * dt``.

``t`` is the decimal year of the observation: year + day-of-year / 365.25.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import math

import numpy as np

from .idctab import DEFAULT_TDD, IDCModel, TDDCoefficients

__all__ = ["decimal_year", "skew_alpha_beta", "apply_tdd", "zero_point_offset", "TDDResult",
           "TDD_ROTATION_DEG"]

log = logging.getLogger(__name__)

#: Angle (degrees) between the frame of the skew model and V2/V3.
TDD_ROTATION_DEG = 2.234529

#: Chip positions (full-frame WFC pixels) whose motion defines the zero-point offsets.
_TDD_XYREF = {1: (2048.0, 3072.0), 2: (2048.0, 1024.0)}


@dataclasses.dataclass(frozen=True)
class TDDResult:
    """What :func:`apply_tdd` did.

    Attributes
    ----------
    model : IDCModel
        The corrected model.
    form : str
        The calibration form used.
    alpha, beta : float or None
        Skew terms (``"skew"`` form only).
    keywords : dict
        Header keywords describing the correction (name -> (value, comment)).
    defaulted : bool
        True when the table had no TDD coefficients and the default skew
        solution (:data:`~stwcs_ng.distortion.idctab.DEFAULT_TDD`) was used.
    """

    model: IDCModel
    form: str
    alpha: float | None
    beta: float | None
    keywords: dict
    defaulted: bool = False


def decimal_year(date_obs: str) -> float:
    """Decimal year of a ``DATE-OBS`` value: year + day-of-year / 365.25.

    Parameters
    ----------
    date_obs : str
        ``YYYY-MM-DD`` (a time part after ``T`` is ignored).

    Returns
    -------
    float
        The decimal year.

    Raises
    ------
    ValueError
        If the date cannot be parsed.
    """
    text = str(date_obs).strip().split("T")[0]
    day = datetime.date.fromisoformat(text)
    return day.year + day.timetuple().tm_yday / 365.25


def _rot(theta_deg: float) -> np.ndarray:
    t = math.radians(theta_deg)
    return np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])


def skew_alpha_beta(coeffs: TDDCoefficients, year: float) -> tuple[float, float]:
    """Skew terms of the ``"skew"`` form at a date.

    Parameters
    ----------
    coeffs : TDDCoefficients
        Coefficients of the ``"skew"`` form.
    year : float
        Decimal year of the observation.

    Returns
    -------
    (alpha, beta) : tuple of float
        The skew terms.
    """
    dt = year - coeffs.date
    alpha = sum(coeffs.a[c] * dt ** c for c in range(coeffs.order + 1))
    beta = sum(coeffs.b[c] * dt ** c for c in range(coeffs.order + 1))
    return float(alpha), float(beta)


def apply_tdd(model: IDCModel, date_obs: str) -> TDDResult:
    """Apply the ACS/WFC time-dependent distortion to a model.

    Parameters
    ----------
    model : IDCModel
        Model read from an ACS/WFC IDCTAB; its ``tdd`` attribute selects the
        form (None: the default ``"skew"`` coefficients; the caller should warn
        for observations after 2009, see ``TDDResult.defaulted``).
    date_obs : str
        ``DATE-OBS`` of the exposure.

    Returns
    -------
    TDDResult
        The corrected model and the keywords to record.

    Raises
    ------
    ValueError
        If ``date_obs`` cannot be parsed.
    """
    year = decimal_year(date_obs)
    coeffs = model.tdd
    defaulted = coeffs is None
    if defaulted:
        coeffs = DEFAULT_TDD
    cx, cy = model.cx.copy(), model.cy.copy()
    kws: dict = {}
    alpha = beta = None
    if coeffs.form == "skew":
        alpha, beta = skew_alpha_beta(coeffs, year)
        skew = np.array([[1 + beta / 2048.0, alpha / 2048.0],
                         [alpha / 2048.0, 1 - beta / 2048.0]])
        mat = _rot(TDD_ROTATION_DEG) @ skew @ _rot(-TDD_ROTATION_DEG)
        new = mat @ np.vstack([cx.ravel(), cy.ravel()])
        cx, cy = new[0].reshape(cx.shape), new[1].reshape(cy.shape)
        kws["TDDALPHA"] = (alpha, "time-dependent y-skew offset (pre-2014 IDCTAB)")
        kws["TDDBETA"] = (beta, "time-dependent y-skew rate (pre-2014 IDCTAB)")
    elif coeffs.form == "2014":
        dt = year - coeffs.date
        t = coeffs.terms
        if t.get("TDD_CYB") is not None:
            if t.get("TDD_CYA") is None:
                cy[1, 1] += t["TDD_CYB"] * dt
            else:
                cy[1, 1] = t["TDD_CYA"] + t["TDD_CYB"] * dt
        if t.get("TDD_CXA") is not None and t.get("TDD_CXB") is not None:
            cx[1, 1] = t["TDD_CXA"] + t["TDD_CXB"] * dt
        comments = {"TDD_CYA": "time-dependent y-skew offset (2014 IDCTAB)",
                    "TDD_CYB": "time-dependent y-scale rate (2014 IDCTAB)",
                    "TDD_CXA": "time-dependent x-skew offset (2014 IDCTAB)",
                    "TDD_CXB": "time-dependent x-scale rate (2014 IDCTAB)"}
        kws.update({k: (t[k], c) for k, c in comments.items() if t.get(k) is not None})
    elif coeffs.form == "2015":
        dt = year - coeffs.date
        t = coeffs.terms
        if t.get("TDD_CXB") is not None:
            cx[1, 1] += t["TDD_CXB"] * dt
        if t.get("TDD_CTB") is not None:
            cy[1, 1] += t["TDD_CTB"] * dt
        if t.get("TDD_CYB") is not None:
            cy[1, 0] += t["TDD_CYB"] * dt
        comments = {"TDD_CTA": "time-dependent x-skew offset (>2015 IDCTAB)",
                    "TDD_CTB": "time-dependent y-skew rate (>2015 IDCTAB)",
                    "TDD_CYA": "time-dependent y-scale offset (>2015 IDCTAB)",
                    "TDD_CYB": "time-dependent y-scale rate (>2015 IDCTAB)",
                    "TDD_CXA": "time-dependent x-scale offset (>2015 IDCTAB)",
                    "TDD_CXB": "time-dependent x-scale rate (>2015 IDCTAB)"}
        kws.update({k: (t[k], c) for k, c in comments.items() if t.get(k) is not None})
    else:  # pragma: no cover - read_tdd_coefficients only makes the three forms
        raise ValueError(f"unknown TDD form {coeffs.form!r}")
    return TDDResult(model=model.replace(cx=cx, cy=cy), form=coeffs.form,
                     alpha=alpha, beta=beta, keywords=kws,
                     defaulted=defaulted and year > 2009.0)


def zero_point_offset(chip: int, alpha: float | None, beta: float | None) -> np.ndarray:
    """Motion of a WFC chip's reference point caused by the skew (``"skew"`` form).

    Parameters
    ----------
    chip : int
        CCDCHIP (1 or 2); other values give no offset.
    alpha, beta : float or None
        Skew terms from :func:`skew_alpha_beta`; None gives no offset.

    Returns
    -------
    ndarray
        ``(dV2, dV3)`` correction in arcsec at the nominal 0.05"/pixel
        scale (the caller rescales it and subtracts the V3 part).
    """
    if alpha is None or beta is None or chip not in _TDD_XYREF:
        return np.zeros(2)
    tdd = np.array([[beta, alpha], [alpha, -beta]])
    x, y = _TDD_XYREF[chip]
    xy0 = np.array([x - 2048.0, y - 2048.0])
    return (_rot(TDD_ROTATION_DEG) / 2048.0) @ (tdd @ xy0) * 0.05
