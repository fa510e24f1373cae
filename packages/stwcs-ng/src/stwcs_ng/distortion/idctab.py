"""Reading the polynomial distortion model from an IDCTAB reference table.

An IDCTAB is a FITS binary table with one row per (chip, direction, filter
combination).  Each row holds the reference pixel (``XREF``, ``YREF``), its
position in the telescope V2/V3 frame (``V2REF``, ``V3REF``, arcsec), the
detector orientation ``THETA`` (degrees, optional), the plate scale
``SCALE`` (arcsec/pixel) and the coefficients ``CXij``/``CYij`` (older tables:
``Aij``/``Bij``) of two polynomials of order ``NORDER`` (primary header)::

    X = sum_{i=1..N} sum_{j=0..i} CX[i, j] * dx**j * dy**(i - j)
    Y = sum_{i=1..N} sum_{j=0..i} CY[i, j] * dx**j * dy**(i - j)

with ``dx = x - XREF``, ``dy = y - YREF`` in detector pixels; ``X``, ``Y``
are in arcsec in a frame aligned with V2/V3 (up to parity and THETA).
Note the index convention: the second index ``j`` is the power of ``dx``.

For ACS/WFC, the primary header also holds the time-dependent distortion
(TDD) coefficients; they are read into :class:`TDDCoefficients` (see
:mod:`stwcs_ng.distortion.tdd` for how they are applied).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from math import comb

import numpy as np
from astropy.io import fits

from ..errors import IDCRowNotFoundError, ReferenceFileError

__all__ = [
    "IDCModel",
    "TDDCoefficients",
    "normalize_filter",
    "read_idctab",
    "read_tdd_coefficients",
    "evaluate_idc",
    "shift_model",
    "scale_model",
]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TDDCoefficients:
    """Time-dependent distortion coefficients of an ACS/WFC IDCTAB (one chip).

    Attributes
    ----------
    form : str
        ``"skew"`` (pre-2014 tables: ``TDDORDER``, ``TDD_An``, ``TDD_Bn``),
        ``"2014"`` (``TDD_CYA/B<chip>``, ``TDD_CXA/B<chip>``) or ``"2015"``
        (``TDD_CTA/B``, ``TDD_CYA/B``, ``TDD_CXA/B`` with a chip suffix).
    date : float
        Reference epoch ``TDD_DATE`` (decimal year).
    order : int
        Polynomial order of the ``"skew"`` form.
    a, b : tuple of float
        ``TDD_A`` and ``TDD_B`` coefficients of the ``"skew"`` form.
    terms : dict
        Named coefficients of the 2014/2015 forms (``"TDD_CYB"`` ...); a
        missing coefficient is None.
    """

    form: str
    date: float
    order: int = 0
    a: tuple[float, ...] = ()
    b: tuple[float, ...] = ()
    terms: dict = dataclasses.field(default_factory=dict)


#: Coefficients used when an ACS/WFC IDCTAB carries none (ACS ISR 2007-08).
DEFAULT_TDD = TDDCoefficients(form="skew", date=2004.5, order=1,
                              a=(0.095, 0.090 / 2.5), b=(-0.029, -0.030 / 2.5))


@dataclasses.dataclass(frozen=True)
class IDCModel:
    """One row of an IDCTAB, as a polynomial distortion model.

    Attributes
    ----------
    order : int
        Polynomial order (at least 3; the arrays are ``(order+1, order+1)``).
    cx, cy : ndarray
        Coefficients: ``cx[i, j]`` multiplies ``dx**j * dy**(i-j)``; arcsec.
    xref, yref : float
        Reference pixel (1-based detector pixels, divided by the binning).
    xsize, ysize : float
        Detector size the model is defined over.
    v2ref, v3ref : float
        V2/V3 position of the reference pixel (arcsec).
    theta : float
        Orientation of the detector Y axis relative to V3 (degrees).
    scale : float
        Plate scale (arcsec/pixel, times the binning).
    chip : int
        The chip the row was selected for.
    filter1, filter2 : str
        The normalised filters used to select the row.
    row : int
        0-based index of the selected row in the table.
    tdd : TDDCoefficients or None
        ACS/WFC time-dependent coefficients (None when not applicable or the
        table has none; see :data:`DEFAULT_TDD`).
    table_order : int
        ``NORDER`` as written in the table.
    """

    order: int
    cx: np.ndarray
    cy: np.ndarray
    xref: float
    yref: float
    xsize: float
    ysize: float
    v2ref: float
    v3ref: float
    theta: float
    scale: float
    chip: int = 1
    filter1: str = "CLEAR"
    filter2: str = "CLEAR"
    row: int = -1
    tdd: TDDCoefficients | None = None
    table_order: int = 0

    @property
    def linear(self) -> np.ndarray:
        """The linear matrix ``[[CX11, CX10], [CY11, CY10]]`` (arcsec/pixel)."""
        return np.array([[self.cx[1, 1], self.cx[1, 0]],
                         [self.cy[1, 1], self.cy[1, 0]]], dtype=np.float64)

    def replace(self, **changes) -> IDCModel:
        """Return a copy with some attributes changed."""
        return dataclasses.replace(self, **changes)


def normalize_filter(name: object) -> str:
    """Normalise a filter name for IDCTAB row matching.

    Blank, None and any name starting with ``CLEAR`` become ``"CLEAR"``;
    other names are stripped and upper-cased.

    Parameters
    ----------
    name : str or None
        The filter name from a header or a table.

    Returns
    -------
    str
        The normalised name.
    """
    text = "" if name is None else str(name).strip().upper()
    if not text or text.startswith("CLEAR"):
        return "CLEAR"
    return text


def _table_filter(value: object) -> str:
    text = str(value).strip().upper()
    if "CLEAR" in text:
        return "CLEAR"
    return text


def _open_table(table: str | os.PathLike | fits.HDUList) -> tuple[fits.HDUList, bool, str]:
    if isinstance(table, fits.HDUList):
        return table, False, str(table.filename() or "<IDCTAB>")
    name = str(table)
    try:
        hdul = fits.open(name, memmap=False)
        hdul.readall()
    except FileNotFoundError as exc:
        raise ReferenceFileError("IDCTAB file not found", filename=name) from exc
    except (OSError, ValueError, TypeError) as exc:
        raise ReferenceFileError(f"IDCTAB cannot be read as FITS ({exc})", filename=name) from exc
    return hdul, True, name


def read_tdd_coefficients(primary_header: fits.Header, chip: int) -> TDDCoefficients | None:
    """Read the ACS/WFC time-dependent distortion coefficients of one chip.

    Parameters
    ----------
    primary_header : astropy.io.fits.Header
        Primary header of the IDCTAB.
    chip : int
        CCDCHIP of the exposure's chip (1 or 2).

    Returns
    -------
    TDDCoefficients or None
        None when the header holds no TDD keywords (the caller then uses
        :data:`DEFAULT_TDD`).
    """
    h = primary_header
    c = int(chip)

    def _opt(kw: str):
        value = h.get(kw)
        if value is None or (isinstance(value, str) and value.strip().upper() in ("", "N/A")):
            return None
        return float(value)

    if "TDD_CTB1" in h:
        names = ("TDD_CTA", "TDD_CTB", "TDD_CYA", "TDD_CYB", "TDD_CXA", "TDD_CXB")
        return TDDCoefficients(form="2015", date=float(h["TDD_DATE"]),
                               terms={n: _opt(f"{n}{c}") for n in names})
    if "TDD_CYB1" in h:
        terms = {n: _opt(f"{n}{c}") for n in ("TDD_CYA", "TDD_CYB", "TDD_CXA", "TDD_CXB")}
        for alpha in ("TDD_CYA", "TDD_CXA"):  # zero means "not used" in these tables
            if terms[alpha] == 0.0:
                terms[alpha] = None
        return TDDCoefficients(form="2014", date=float(h["TDD_DATE"]), terms=terms)
    if "TDDORDER" in h:
        n = int(h["TDDORDER"])
        a = tuple(float(h.get(f"TDD_A{i}", 0.0)) for i in range(n + 1))
        b = tuple(float(h.get(f"TDD_B{i}", 0.0)) for i in range(n + 1))
        return TDDCoefficients(form="skew", date=float(h["TDD_DATE"]), order=n, a=a, b=b)
    return None


def read_idctab(table: str | os.PathLike | fits.HDUList, *, chip: int = 1,
                filter1: str | None = None, filter2: str | None = None,
                detector: str | None = None, direction: str = "forward",
                binned: int = 1) -> IDCModel:
    """Select the IDCTAB row of one chip and return its model.

    The first row (in table order) whose filters equal the normalised
    ``filter1``/``filter2`` (see :func:`normalize_filter`; table values
    containing ``CLEAR`` count as ``CLEAR``), whose ``DIRECTION`` is
    ``direction`` and whose ``DETCHIP`` is ``chip`` or -999 is used.
    Tables with a single ``FILTER`` column (WFC3, NICMOS) match ``filter1``
    only.  For ACS/SBC, ``CLEAR`` means ``F115LP`` / ``N/A``.  If ``CX11`` is
    exactly 1 the coefficients are in units of the scale and are multiplied
    by ``SCALE``.  With ``binned > 1`` the reference pixel and size are
    divided by the binning and the term of order ``n`` multiplied by
    ``binned**n`` (coefficients per binned pixel).

    Parameters
    ----------
    table : str, path-like or astropy.io.fits.HDUList
        The IDCTAB (already resolved file name, or an open HDUList).
    chip : int, optional
        The chip (``CCDCHIP``).
    filter1, filter2 : str, optional
        The exposure's filters.
    detector : str, optional
        Detector name; read from the table's primary header when None.
    direction : str, optional
        ``"forward"`` (the only direction used by updatewcs).
    binned : int, optional
        On-chip binning factor (``BINAXIS1``).

    Returns
    -------
    IDCModel
        The model of the selected row.

    Raises
    ------
    ReferenceFileError
        If the table cannot be read or lacks required columns.
    IDCRowNotFoundError
        If no row matches.
    """
    hdul, close, name = _open_table(table)
    try:
        return _read_idctab(hdul, name, chip=int(chip), filter1=filter1, filter2=filter2,
                            detector=detector, direction=direction, binned=int(binned or 1))
    finally:
        if close:
            hdul.close()


def _read_idctab(hdul: fits.HDUList, name: str, *, chip: int, filter1, filter2,
                 detector, direction: str, binned: int) -> IDCModel:
    if len(hdul) < 2 or not isinstance(hdul[1], fits.BinTableHDU):
        raise ReferenceFileError("IDCTAB has no binary table in extension 1", filename=name)
    phdr = hdul[0].header
    data = hdul[1].data
    cols = [c.upper() for c in data.names]
    if detector is None:
        detector = phdr.get("DETECTOR", phdr.get("CAMERA", ""))
    detector = str(detector).strip().upper()
    instrument = str(phdr.get("INSTRUME", "")).strip().upper()

    f1, f2 = normalize_filter(filter1), normalize_filter(filter2)
    if detector == "SBC":
        if f1 == "CLEAR":
            f1, f2 = "F115LP", "N/A"
        if f2 == "CLEAR":
            f2 = "N/A"
    try:
        norder = int(phdr["NORDER"])
    except (KeyError, ValueError, TypeError) as exc:
        raise ReferenceFileError("IDCTAB primary header has no usable NORDER", filename=name) \
            from exc
    for required in ("XREF", "YREF", "SCALE"):
        if required not in cols:
            raise ReferenceFileError(f"IDCTAB has no {required} column", filename=name)
    prefix = ("CX", "CY") if "CX10" in cols else ("A", "B")

    def col(cname: str):
        return data.field(cname)

    nrows = len(data)
    if "FILTER1" in cols and "FILTER2" in cols:
        t1 = [_table_filter(v) for v in col("FILTER1")]
        t2 = [_table_filter(v) for v in col("FILTER2")]
    elif "FILTER" in cols:
        t1 = [_table_filter(v) for v in col("FILTER")]
        t2 = ["CLEAR"] * nrows
    elif "OPT_ELEM" in cols:
        t1 = [_table_filter(v) for v in col("OPT_ELEM")]
        t2 = [f2] * nrows
    else:
        t1, t2 = [f1] * nrows, [f2] * nrows
    chips = [int(v) for v in col("DETCHIP")] if "DETCHIP" in cols else [1] * nrows
    dirs = ([str(v).strip().lower() for v in col("DIRECTION")] if "DIRECTION" in cols
            else ["forward"] * nrows)
    want_dir = direction.strip().lower()
    row = next((i for i in range(nrows)
                if t1[i] == f1 and t2[i] == f2 and dirs[i] == want_dir
                and chips[i] in (chip, -999)), -1)
    if row < 0:
        raise IDCRowNotFoundError(
            f"no IDCTAB row for chip {chip}, filters {f1!r}/{f2!r}, direction {want_dir!r}",
            filename=name)

    order = max(norder, 3)
    cx = np.zeros((order + 1, order + 1), dtype=np.float64)
    cy = np.zeros_like(cx)
    for i in range(1, norder + 1):
        for j in range(i + 1):
            xc, yc = f"{prefix[0]}{i}{j}", f"{prefix[1]}{i}{j}"
            if xc not in cols or yc not in cols:
                raise ReferenceFileError(f"IDCTAB lacks coefficient column {xc} or {yc}",
                                         filename=name)
            cx[i, j] = float(col(xc)[row])
            cy[i, j] = float(col(yc)[row])
    scale = round(float(col("SCALE")[row]), 8)
    if cx[1, 1] == 1.0 and scale != 1.0:
        cx *= scale
        cy *= scale
    v2ref = float(col("V2REF")[row]) if "V2REF" in cols else 0.0
    v3ref = float(col("V3REF")[row]) if "V3REF" in cols else 0.0
    theta = float(col("THETA")[row]) if "THETA" in cols else 0.0
    xsize = float(col("XSIZE")[row]) if "XSIZE" in cols else 0.0
    ysize = float(col("YSIZE")[row]) if "YSIZE" in cols else 0.0
    tdd = None
    if instrument == "ACS" and detector == "WFC":
        tdd = read_tdd_coefficients(phdr, chip)
    log.debug("IDCTAB %s: row %d for chip %d, filters %s/%s", name, row + 1, chip, f1, f2)
    model = IDCModel(order=order, cx=cx, cy=cy,
                     xref=float(col("XREF")[row]), yref=float(col("YREF")[row]),
                     xsize=xsize, ysize=ysize, v2ref=v2ref, v3ref=v3ref, theta=theta,
                     scale=scale, chip=chip, filter1=f1, filter2=f2, row=row, tdd=tdd,
                     table_order=norder)
    return scale_model(model, binned) if binned != 1 else model


def scale_model(model: IDCModel, binned: int) -> IDCModel:
    """Express a model in binned pixels.

    Parameters
    ----------
    model : IDCModel
        Model in unbinned detector pixels.
    binned : int
        Binning factor.

    Returns
    -------
    IDCModel
        Reference pixel and size divided by ``binned``, the order-``n``
        coefficients multiplied by ``binned**n``, the scale by ``binned``.
    """
    powers = np.array([float(binned) ** i for i in range(model.order + 1)])[:, None]
    return model.replace(cx=model.cx * powers, cy=model.cy * powers,
                         xref=model.xref / binned, yref=model.yref / binned,
                         xsize=model.xsize / binned, ysize=model.ysize / binned,
                         scale=model.scale * binned)


def evaluate_idc(cx: np.ndarray, cy: np.ndarray, dx, dy) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate the IDC polynomials at offsets from the reference pixel.

    Parameters
    ----------
    cx, cy : ndarray
        Coefficient arrays (``cx[i, j]`` multiplies ``dx**j * dy**(i-j)``).
    dx, dy : array_like
        Offsets from the reference pixel (pixels).

    Returns
    -------
    (X, Y) : tuple of ndarray
        Positions in the IDC frame (arcsec).
    """
    dx = np.asarray(dx, dtype=np.float64)
    dy = np.asarray(dy, dtype=np.float64)
    x_out = np.zeros(np.broadcast(dx, dy).shape)
    y_out = np.zeros_like(x_out)
    n = cx.shape[0] - 1
    for i in range(n + 1):
        for j in range(i + 1):
            term = dx ** j * dy ** (i - j)
            x_out = x_out + cx[i, j] * term
            y_out = y_out + cy[i, j] * term
    return x_out, y_out


def shift_model(model: IDCModel, xs: float, ys: float) -> IDCModel:
    """Re-expand the polynomials about a new origin.

    The returned model satisfies ``P'(dx, dy) = P(dx + xs, dy + ys)``: its
    origin is the old reference pixel plus ``(xs, ys)``.  The reference pixel
    attributes are left unchanged (as in the original, which keeps
    ``XREF``/``YREF`` for bookkeeping); constant terms appear in
    ``cx[0, 0]``/``cy[0, 0]``.

    Parameters
    ----------
    model : IDCModel
        The model.
    xs, ys : float
        Offset of the new origin from the old one (pixels).

    Returns
    -------
    IDCModel
        The shifted model.
    """
    if xs == 0 and ys == 0:
        return model
    n = model.order
    ncx = np.zeros_like(model.cx)
    ncy = np.zeros_like(model.cy)
    # term cx[i, j] dx^j dy^(i-j) with dx -> dx + xs, dy -> dy + ys contributes to
    # every (m, n) with n <= j and m - n <= i - j.
    for i in range(n + 1):
        for j in range(i + 1):
            if model.cx[i, j] == 0 and model.cy[i, j] == 0:
                continue
            for p in range(j + 1):
                for q in range(i - j + 1):
                    w = comb(j, p) * comb(i - j, q) * xs ** (j - p) * ys ** (i - j - q)
                    ncx[p + q, p] += model.cx[i, j] * w
                    ncy[p + q, p] += model.cy[i, j] * w
    return model.replace(cx=ncx, cy=ncy)
