"""Conversion of the IDCTAB polynomial to SIP coefficients, and SIP evaluation.

With the linear matrix ``M = [[CX11, CX10], [CY11, CY10]]`` of an IDC model,
the full IDC polynomial ``P(u, v)`` (arcsec) equals ``M @ (u + A(u, v),
v + B(u, v))`` where ``A``/``B`` are the SIP polynomials (Shupe et al. 2005)
and ``u, v`` pixel offsets from the reference pixel (CRPIX).  Hence, for every
order ``n >= 2`` and ``m <= n``::

    [A_m_(n-m), B_m_(n-m)] = inv(M) @ [CX[n, m], CY[n, m]]

The CD matrix carries ``M`` (rotated onto the sky), so the SIP part holds the
non-linear terms in pixel units.
"""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from .idctab import IDCModel

__all__ = ["idc_to_sip", "sip_keywords", "evaluate_sip", "remove_sip_keywords",
           "SIP_KEYWORD_PATTERN"]

#: Keyword name prefixes of SIP coefficients (used to clean a header).
SIP_KEYWORD_PATTERN = ("A_", "B_", "AP_", "BP_")


def idc_to_sip(model: IDCModel) -> tuple[np.ndarray, np.ndarray]:
    """Return the SIP ``A`` and ``B`` arrays of an IDC model.

    Parameters
    ----------
    model : IDCModel
        The (time-dependence corrected, possibly shifted) model.

    Returns
    -------
    (A, B) : tuple of ndarray
        ``(order+1, order+1)`` arrays, ``A[p, q]`` multiplying ``u**p * v**q``;
        terms of total order below 2 are zero.

    Raises
    ------
    ValueError
        If the linear matrix is singular.
    """
    m = model.linear
    if not np.isfinite(m).all() or abs(np.linalg.det(m)) < 1e-300:
        raise ValueError("the linear part of the IDC model is singular")
    minv = np.linalg.inv(m)
    n = model.order
    a = np.zeros((n + 1, n + 1))
    b = np.zeros((n + 1, n + 1))
    for order in range(2, n + 1):
        for p in range(order + 1):
            sa, sb = minv @ np.array([model.cx[order, p], model.cy[order, p]])
            a[p, order - p] = sa
            b[p, order - p] = sb
    return a, b


def sip_keywords(a: np.ndarray, b: np.ndarray) -> list[tuple[str, object, str]]:
    """Header cards for SIP arrays.

    All coefficients of total order 2..N are written (also zeros, so that
    the order is complete), as ``A_ORDER``, ``A_p_q``, ``B_ORDER``, ``B_p_q``.

    Parameters
    ----------
    a, b : ndarray
        SIP arrays from :func:`idc_to_sip`.

    Returns
    -------
    list of (keyword, value, comment)
        The cards, in writing order.
    """
    n = a.shape[0] - 1
    cards: list[tuple[str, object, str]] = []
    for name, arr, axis in (("A", a, 1), ("B", b, 2)):
        cards.append((f"{name}_ORDER", n, f"SIP polynomial order, axis {axis}, detector to sky"))
        for p in range(n + 1):
            for q in range(n + 1 - p):
                if p + q >= 2:
                    cards.append((f"{name}_{p}_{q}", float(arr[p, q]),
                                  "SIP distortion coefficient"))
    return cards


def remove_sip_keywords(header: fits.Header) -> None:
    """Delete every SIP keyword (``A_*``, ``B_*``, ``AP_*``, ``BP_*``) from a header, in place.

    Parameters
    ----------
    header : astropy.io.fits.Header
        The header to clean.
    """
    doomed = [k for k in header.keys()
              if k.startswith(SIP_KEYWORD_PATTERN)
              and (k.endswith("ORDER") or k.split("_", 1)[1].replace("_", "").isdigit())]
    for k in dict.fromkeys(doomed):
        del header[k]


def evaluate_sip(a: np.ndarray, b: np.ndarray, u, v) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate the SIP polynomials.

    Parameters
    ----------
    a, b : ndarray
        SIP arrays, ``a[p, q]`` multiplying ``u**p * v**q``.
    u, v : array_like
        Pixel offsets from CRPIX.

    Returns
    -------
    (f, g) : tuple of ndarray
        ``A(u, v)`` and ``B(u, v)`` (pixels).
    """
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    f = np.zeros(np.broadcast(u, v).shape)
    g = np.zeros_like(f)
    for p in range(a.shape[0]):
        for q in range(a.shape[1]):
            if a[p, q] or b[p, q]:
                term = u ** p * v ** q
                f = f + a[p, q] * term
                g = g + b[p, q] * term
    return f, g
