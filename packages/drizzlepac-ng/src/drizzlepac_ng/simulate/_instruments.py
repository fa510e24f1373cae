"""Synthetic camera definitions: chip geometry, IDC polynomials, detector properties.

The numbers below are *our own* values, chosen to have the magnitude of the real
cameras (ACS/WFC: 0.05"/pixel, a strong skew and tens of pixels of non-linear
distortion at the chip corners; WFC3/UVIS: 0.04"/pixel, ~10 pixels).  They are
not a calibration of any real instrument.

Polynomial convention (that of the IDCTAB reference files): for a chip with
reference pixel ``(XREF, YREF)`` (1-based) and ``x = X_pix - XREF``,
``y = Y_pix - YREF``, the distortion-corrected focal-plane position in arcsec is::

    Xc = sum_{n=1..N} sum_{m=0..n} CX[n, m] * x**m * y**(n - m)
    Yc = sum_{n=1..N} sum_{m=0..n} CY[n, m] * x**m * y**(n - m)

so ``CX11`` is the x-scale term and ``CX10`` the y term of ``Xc``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..errors import ConfigError

__all__ = ["ChipModel", "CameraModel", "camera_model", "INSTRUMENTS", "resolve_shape"]

#: Accepted spellings of the instruments.
INSTRUMENTS = {
    "ACS/WFC": "ACS/WFC",
    "ACS": "ACS/WFC",
    "WFC": "ACS/WFC",
    "WFC3/UVIS": "WFC3/UVIS",
    "WFC3": "WFC3/UVIS",
    "UVIS": "WFC3/UVIS",
}

#: Small chip shape (ny, nx) used by ``shape="small"``.
SMALL_SHAPE = (128, 256)
ORDER = 4


def _coeff_array(terms: dict[str, float]) -> np.ndarray:
    """Build a (ORDER+1, ORDER+1) array ``C[n, m]`` from names like ``"21"``.

    Values are rounded to float32 because the IDCTAB stores them as 4-byte reals;
    using the rounded values everywhere makes the reference table and the
    headers describe exactly the same model.
    """
    arr = np.zeros((ORDER + 1, ORDER + 1))
    for key, value in terms.items():
        n, m = int(key[0]), int(key[1])
        arr[n, m] = float(np.float32(value))
    return arr


@dataclasses.dataclass(frozen=True)
class ChipModel:
    """Geometry of one chip.

    Attributes
    ----------
    ccdchip : int
        ``CCDCHIP`` value.
    extver : int
        EXTVER of the chip's SCI extension in the FLC/FLT file.
    shape : tuple of int
        ``(ny, nx)`` of the science array.
    xref, yref : float
        Reference pixel of the polynomial (1-based FITS convention).
    v2ref, v3ref : float
        Position of the reference pixel in the telescope V2/V3 frame (arcsec).
    scale : float
        Model plate scale (``SCALE`` column, arcsec/pixel).
    theta : float
        ``THETA`` column (deg): orientation of the chip's Y axis w.r.t. V3.
    cx, cy : ndarray
        ``(ORDER+1, ORDER+1)`` coefficient arrays (see the module docstring).
    """

    ccdchip: int
    extver: int
    shape: tuple[int, int]
    xref: float
    yref: float
    v2ref: float
    v3ref: float
    scale: float
    theta: float
    cx: np.ndarray
    cy: np.ndarray

    @property
    def linear(self) -> np.ndarray:
        """The linear matrix ``[[CX11, CX10], [CY11, CY10]]`` (arcsec/pixel)."""
        return np.array([[self.cx[1, 1], self.cx[1, 0]], [self.cy[1, 1], self.cy[1, 0]]])


@dataclasses.dataclass(frozen=True)
class CameraModel:
    """A synthetic camera: chips plus detector and header properties.

    ``chips`` are in EXTVER order; ``reference_extver`` is the chip whose
    reference point defines the pointing (CCDCHIP 2 for both cameras, i.e.
    SCI,1, as in the pipeline).
    """

    name: str
    instrume: str
    detector: str
    chips: tuple[ChipModel, ...]
    parity: tuple[tuple[float, float], tuple[float, float]]
    shrink: float
    gain: float
    readnoise: float
    full_well: float
    sky_rate: float  # e-/s/pixel
    dark_rate: float  # e-/s/pixel
    default_exptime: float
    filters: tuple[str, str] | tuple[str]
    photometry: dict[str, tuple[float, float, float]]
    ref_env: str  # 'jref' or 'iref'
    ref_root: str  # root name of the synthetic reference files
    rootname_prefix: str
    aperture: str
    npol_cdelt: int
    npol_amplitude: float
    d2im_amplitude: float

    @property
    def reference_chip(self) -> ChipModel:
        """The chip defining the pointing (CCDCHIP 2)."""
        for chip in self.chips:
            if chip.ccdchip == 2:
                return chip
        return self.chips[0]

    @property
    def full_size(self) -> bool:
        """True when the chips have the real detector size."""
        return self.shrink == 1.0

    def chip(self, extver: int) -> ChipModel:
        """Return the chip of SCI extension ``extver``."""
        for c in self.chips:
            if c.extver == extver:
                return c
        raise ConfigError(f"{self.name} has no SCI extension {extver}")


# --- our own ACS/WFC-like model (values of realistic magnitude, not a calibration) ---
_ACS_FULL = (2048, 4096)
_ACS_CHIPS = {
    # ccdchip: (extver, v2ref, v3ref, linear + non-linear terms)
    2: (1, 256.9, 302.1, {
        "10": 0.00197, "11": 0.049790, "20": 9.1e-08, "21": -2.55e-07, "22": 4.30e-07,
        "30": -5.0e-13, "31": -2.70e-11, "32": -3.1e-12, "33": -2.28e-11,
        "40": 1.0e-16, "41": -7.5e-16, "42": 1.8e-15, "43": 5.0e-16, "44": 1.05e-15,
    }, {
        "10": 0.050250, "11": 0.00150, "20": -3.55e-07, "21": 3.10e-07, "22": -7.7e-08,
        "30": -2.10e-11, "31": -4.5e-12, "32": -2.55e-11, "33": 3.6e-12,
        "40": -1.0e-15, "41": -7.0e-16, "42": -1.3e-15, "43": -1.5e-16, "44": -7.8e-16,
    }),
    1: (2, 260.95, 198.45, {
        "10": 0.00229, "11": 0.049210, "20": 8.6e-08, "21": -3.60e-07, "22": 4.05e-07,
        "30": 2.6e-12, "31": -2.60e-11, "32": -6.3e-12, "33": -2.25e-11,
        "40": 7.0e-15, "41": -1.0e-15, "42": 4.7e-15, "43": 1.6e-15, "44": 9.0e-16,
    }, {
        "10": 0.048560, "11": 0.00215, "20": -4.65e-07, "21": 2.90e-07, "22": -1.22e-07,
        "30": -1.95e-11, "31": -2.5e-12, "32": -2.15e-11, "33": 3.45e-12,
        "40": -8.3e-15, "41": 2.1e-15, "42": -4.7e-15, "43": -1.7e-15, "44": -8.0e-16,
    }),
}

# --- our own WFC3/UVIS-like model ---
_UVIS_FULL = (2051, 4096)
_UVIS_CHIPS = {
    2: (1, -27.40, -33.20, {
        "10": 0.00018, "11": 0.039780, "20": 4.0e-09, "21": -1.18e-07, "22": 1.15e-07,
        "30": 1.1e-12, "31": 5.5e-13, "32": -5.2e-13, "33": 1.2e-12,
        "40": -2.9e-16, "41": 4.3e-16, "42": -6.6e-16, "43": 2.7e-16, "44": -2.9e-16,
    }, {
        "10": 0.039820, "11": 0.00236, "20": -1.23e-07, "21": 1.10e-07, "22": -2.5e-09,
        "30": 6.0e-13, "31": -2.0e-13, "32": 4.0e-13, "33": 1.0e-14,
        "40": 6.8e-16, "41": -2.6e-17, "42": 7.4e-16, "43": 3.4e-16, "44": 1.1e-16,
    }),
    1: (2, 31.20, 25.55, {
        "10": 0.00021, "11": 0.039570, "20": 3.5e-09, "21": -1.12e-07, "22": 1.10e-07,
        "30": 1.0e-12, "31": 5.0e-13, "32": -4.8e-13, "33": 1.1e-12,
        "40": -2.5e-16, "41": 4.0e-16, "42": -6.0e-16, "43": 2.5e-16, "44": -2.6e-16,
    }, {
        "10": 0.039640, "11": 0.00228, "20": -1.19e-07, "21": 1.06e-07, "22": -2.2e-09,
        "30": 5.5e-13, "31": -1.8e-13, "32": 3.7e-13, "33": 1.2e-14,
        "40": 6.2e-16, "41": -2.2e-17, "42": 7.0e-16, "43": 3.1e-16, "44": 1.0e-16,
    }),
}


def resolve_shape(instrument: str, shape) -> tuple[int, int]:
    """Return the chip shape ``(ny, nx)`` for a ``shape`` option.

    Parameters
    ----------
    instrument : str
        Canonical instrument name.
    shape : None, "full", "small" or (ny, nx)
        None and "full" mean the real detector size; "small" is 128 x 256.

    Returns
    -------
    tuple of int

    Raises
    ------
    ConfigError
        If the shape is not understood or too small.
    """
    full = _ACS_FULL if instrument == "ACS/WFC" else _UVIS_FULL
    if shape is None or (isinstance(shape, str) and shape.lower() == "full"):
        return full
    if isinstance(shape, str):
        if shape.lower() == "small":
            return SMALL_SHAPE
        raise ConfigError(f"unknown shape {shape!r}: use 'full', 'small' or (ny, nx)")
    try:
        ny, nx = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise ConfigError(f"shape must be 'full', 'small' or (ny, nx), not {shape!r}") from None
    if ny < 32 or nx < 32:
        raise ConfigError(f"chip shape {shape!r} is too small (minimum 32 x 32)")
    if ny > full[0] or nx > full[1]:
        raise ConfigError(f"chip shape {shape!r} exceeds the detector size {full}")
    return ny, nx


def _shrink_coeffs(c: np.ndarray, k: float) -> np.ndarray:
    """Miniaturise a polynomial by ``k``: same fractional deformation on a chip k times smaller.

    With ``x_full = k x_small`` and focal-plane offsets also divided by ``k``,
    the order-n coefficients scale by ``k**(n-1)``; the linear terms (the pixel
    scale) are unchanged.
    """
    out = c.copy()
    for n in range(c.shape[0]):
        out[n] = c[n] * k ** (n - 1) if n >= 1 else c[n]
    return np.array([[float(np.float32(v)) for v in row] for row in out])


def camera_model(instrument: str = "ACS/WFC", shape=None) -> CameraModel:
    """Return the synthetic camera for an instrument and chip shape.

    For chips smaller than the real detector, the whole camera is miniaturised
    by ``k = min(full_nx / nx, full_ny / ny)``: the pixel scale stays the real
    one, the polynomial keeps the same *fractional* deformation (so the
    distortion per pixel -- scale and skew variations across the chip -- is
    realistic, while the corner offsets in pixels shrink by ``k``), and the
    V2/V3 separation of the chips shrinks by ``k``.

    Parameters
    ----------
    instrument : str
        "ACS/WFC" or "WFC3/UVIS" (aliases "ACS", "WFC3", "UVIS").
    shape : None, "full", "small" or (ny, nx)
        Chip shape.

    Returns
    -------
    CameraModel

    Raises
    ------
    ConfigError
        For an unknown instrument or shape.
    """
    key = INSTRUMENTS.get(str(instrument).strip().upper())
    if key is None:
        raise ConfigError(f"unknown instrument {instrument!r}; use 'ACS/WFC' or 'WFC3/UVIS'")
    ny, nx = resolve_shape(key, shape)
    acs = key == "ACS/WFC"
    full = _ACS_FULL if acs else _UVIS_FULL
    table = _ACS_CHIPS if acs else _UVIS_CHIPS
    k = min(full[1] / nx, full[0] / ny)
    scale = 0.05 if acs else 0.03962
    theta = 0.0 if acs else 45.0
    ref_v2, ref_v3 = table[2][1], table[2][2]
    chips = []
    for ccdchip in (2, 1):
        extver, v2, v3, cx_terms, cy_terms = table[ccdchip]
        cx = _shrink_coeffs(_coeff_array(cx_terms), k)
        cy = _shrink_coeffs(_coeff_array(cy_terms), k)
        v2s = ref_v2 + (v2 - ref_v2) / k
        v3s = ref_v3 + (v3 - ref_v3) / k
        chips.append(ChipModel(
            ccdchip=ccdchip, extver=extver, shape=(ny, nx),
            xref=float(nx // 2), yref=float(ny // 2) if acs else float(math.ceil(ny / 2)),
            v2ref=float(np.float32(v2s)), v3ref=float(np.float32(v3s)),
            scale=round(float(np.float32(scale)), 8), theta=theta, cx=cx, cy=cy,
        ))
    size_tag = "" if k == 1.0 else f"{nx}x{ny}"
    if acs:
        return CameraModel(
            name="ACS/WFC", instrume="ACS", detector="WFC", chips=tuple(chips),
            parity=((1.0, 0.0), (0.0, -1.0)), shrink=k, gain=2.0, readnoise=4.2,
            full_well=84700.0, sky_rate=0.09, dark_rate=0.006, default_exptime=480.0,
            filters=("CLEAR1L", "F814W"),
            photometry={  # filter: (PHOTFLAM, PHOTPLAM, PHOTBW) -- approximate
                "F814W": (7.03e-20, 8045.5, 653.0), "F606W": (7.86e-20, 5921.9, 672.3),
                "F475W": (1.82e-19, 4746.9, 419.9), "F555W": (1.96e-19, 5360.9, 360.1),
            },
            ref_env="jref", ref_root=f"simacswfc{size_tag}", rootname_prefix="j",
            aperture="WFC", npol_cdelt=64 if k == 1.0 else 16,
            npol_amplitude=0.03, d2im_amplitude=0.05,
        )
    return CameraModel(
        name="WFC3/UVIS", instrume="WFC3", detector="UVIS", chips=tuple(chips),
        parity=((-1.0, 0.0), (0.0, 1.0)), shrink=k, gain=1.56, readnoise=3.1,
        full_well=63000.0, sky_rate=0.05, dark_rate=0.002, default_exptime=420.0,
        filters=("F606W",),
        photometry={
            "F606W": (1.11e-19, 5889.2, 659.4), "F555W": (1.84e-19, 5308.4, 517.1),
            "F814W": (1.49e-19, 8039.1, 666.7), "F438W": (6.75e-19, 4326.5, 197.5),
        },
        ref_env="iref", ref_root=f"simwfc3uvis{size_tag}", rootname_prefix="i",
        aperture="UVIS", npol_cdelt=64 if k == 1.0 else 16,
        npol_amplitude=0.02, d2im_amplitude=0.03,
    )
