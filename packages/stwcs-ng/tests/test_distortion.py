"""Pure distortion math: IDCTAB reading, SIP, TDD, velocity aberration, makewcs, lookup tables."""

from __future__ import annotations

import math

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import given, settings
from hypothesis import strategies as st

from stwcs_ng.distortion import lookup
from stwcs_ng.distortion.idctab import (
    DEFAULT_TDD,
    evaluate_idc,
    normalize_filter,
    read_idctab,
    read_tdd_coefficients,
    shift_model,
)
from stwcs_ng.distortion.makewcs import (
    LinearWCS,
    chip_wcs,
    parity_for,
    reference_frame,
    subarray_reference,
    troll,
)
from stwcs_ng.distortion.sip import evaluate_sip, idc_to_sip, remove_sip_keywords, sip_keywords
from stwcs_ng.distortion.tdd import apply_tdd, decimal_year, skew_alpha_beta, zero_point_offset
from stwcs_ng.distortion.va import apply_velocity_aberration, diff_angles
from stwcs_ng.errors import IDCRowNotFoundError, ReferenceFileError

RNG = np.random.default_rng(20240601)


def _coeff_cols(norder, rng, scale=0.05):
    cols = {}
    for prefix in ("CX", "CY"):
        for i in range(1, norder + 1):
            for j in range(i + 1):
                cols[f"{prefix}{i}{j}"] = rng.normal(0, 1e-6 / 10 ** (3 * (i - 2)), 4) \
                    if i > 1 else None
    # linear terms: near-diagonal with a small skew, in arcsec/pixel
    cols["CX11"] = np.full(4, scale * 0.985)
    cols["CX10"] = np.full(4, scale * 0.045)
    cols["CY11"] = np.full(4, scale * 0.042)
    cols["CY10"] = np.full(4, scale * 0.97)
    return cols


def make_idctab(path=None, *, norder=4, unit_cx11=False, header_extra=None, seed=1):
    """Small synthetic IDCTAB: rows for chip 1/2 x two filter combinations."""
    rng = np.random.default_rng(seed)
    cols = _coeff_cols(norder, rng)
    if unit_cx11:
        for k in list(cols):
            cols[k] = cols[k] / 0.05
    table_cols = [
        fits.Column("DETCHIP", "I", array=np.array([1, 2, 1, 2])),
        fits.Column("DIRECTION", "8A", array=np.array(["FORWARD"] * 3 + ["INVERSE"])),
        fits.Column("FILTER1", "8A", array=np.array(["CLEAR1L", "CLEAR1L", "F606W", "F606W"])),
        fits.Column("FILTER2", "8A", array=np.array(["F814W", "F814W", "CLEAR2L", "CLEAR2L"])),
        fits.Column("XSIZE", "J", array=np.full(4, 4096)),
        fits.Column("YSIZE", "J", array=np.full(4, 2048)),
        fits.Column("XREF", "E", array=np.full(4, 2048.0)),
        fits.Column("YREF", "E", array=np.full(4, 1024.0)),
        fits.Column("V2REF", "E", array=np.array([260.0, 256.0, 261.0, 257.0])),
        fits.Column("V3REF", "E", array=np.array([198.0, 302.0, 199.0, 303.0])),
        fits.Column("SCALE", "E", array=np.full(4, 0.05)),
    ]
    for name in sorted(cols):
        table_cols.append(fits.Column(name, "D", array=np.asarray(cols[name], dtype=float)))
    prim = fits.PrimaryHDU()
    prim.header["INSTRUME"] = "ACS"
    prim.header["DETECTOR"] = "WFC"
    prim.header["NORDER"] = norder
    for k, v in (header_extra or {}).items():
        prim.header[k] = v
    hdul = fits.HDUList([prim, fits.BinTableHDU.from_columns(table_cols)])
    if path is not None:
        hdul.writeto(path)
    return hdul


# ---------------------------------------------------------------------------- IDCTAB


@pytest.mark.parametrize("name,expected", [("CLEAR1L", "CLEAR"), ("clear2s", "CLEAR"),
                                           ("", "CLEAR"), (None, "CLEAR"), (" f814w ", "F814W")])
def test_normalize_filter(name, expected):
    assert normalize_filter(name) == expected


def test_row_selection_by_chip_and_filters():
    tab = make_idctab()
    m1 = read_idctab(tab, chip=1, filter1="CLEAR1S", filter2="F814W")
    m2 = read_idctab(tab, chip=2, filter1="CLEAR1L", filter2="F814W")
    m3 = read_idctab(tab, chip=1, filter1="F606W", filter2="CLEAR2L")
    assert (m1.row, m2.row, m3.row) == (0, 1, 2)
    assert (m1.v2ref, m2.v3ref) == (260.0, 302.0)
    assert m1.order == 4 and m1.cx.shape == (5, 5)
    assert m1.cx[1, 1] == pytest.approx(0.05 * 0.985)
    # the table row values are used as written
    assert m1.cx[2, 1] == tab[1].data["CX21"][0]


def test_direction_must_match():
    tab = make_idctab()  # the only chip-2 F606W row is INVERSE
    with pytest.raises(IDCRowNotFoundError, match="chip 2"):
        read_idctab(tab, chip=2, filter1="F606W", filter2="CLEAR2L")


def test_no_matching_filter():
    with pytest.raises(IDCRowNotFoundError, match="F555W"):
        read_idctab(make_idctab(), chip=1, filter1="F555W", filter2="CLEAR2L")
    # the error is both a ReferenceFileError and a LookupError
    assert issubclass(IDCRowNotFoundError, LookupError)
    assert issubclass(IDCRowNotFoundError, ReferenceFileError)


def test_unit_cx11_is_scaled_by_scale():
    plain = read_idctab(make_idctab(), chip=1, filter1="CLEAR", filter2="F814W")
    tab = make_idctab(unit_cx11=True)
    tab[1].data["CX11"][:] = 1.0
    unit = read_idctab(tab, chip=1, filter1="CLEAR", filter2="F814W")
    assert unit.cx[1, 1] == pytest.approx(0.05)
    assert unit.cx[2, 0] == pytest.approx(plain.cx[2, 0])


def test_low_order_tables_padded_to_three():
    m = read_idctab(make_idctab(norder=2), chip=1, filter1="CLEAR", filter2="F814W")
    assert m.order == 3 and m.table_order == 2
    assert not m.cx[3].any()


def test_binning_scales_terms_by_power():
    tab = make_idctab()
    m = read_idctab(tab, chip=1, filter1="CLEAR", filter2="F814W")
    b = read_idctab(tab, chip=1, filter1="CLEAR", filter2="F814W", binned=2)
    assert b.xref == m.xref / 2 and b.scale == m.scale * 2
    # evaluation in binned pixels equals evaluation in unbinned pixels
    dx, dy = RNG.uniform(-900, 900, 20), RNG.uniform(-500, 500, 20)
    np.testing.assert_allclose(evaluate_idc(b.cx, b.cy, dx / 2, dy / 2),
                               evaluate_idc(m.cx, m.cy, dx, dy), rtol=1e-12, atol=1e-12)


def test_unreadable_table(tmp_path):
    bad = tmp_path / "bad_idc.fits"
    bad.write_text("not fits at all")
    with pytest.raises(ReferenceFileError, match="cannot be read"):
        read_idctab(bad)
    with pytest.raises(ReferenceFileError, match="not found"):
        read_idctab(tmp_path / "missing_idc.fits")


def test_table_without_norder():
    tab = make_idctab()
    del tab[0].header["NORDER"]
    with pytest.raises(ReferenceFileError, match="NORDER"):
        read_idctab(tab, chip=1, filter2="F814W")


def test_sbc_clear_means_f115lp():
    tab = make_idctab()
    tab[1].data["FILTER1"][0] = "F115LP"
    tab[1].data["FILTER2"][0] = "N/A"
    m = read_idctab(tab, chip=1, filter1="CLEAR", filter2="CLEAR", detector="SBC")
    assert m.row == 0 and m.filter1 == "F115LP"


def test_tdd_coefficient_forms():
    assert read_tdd_coefficients(fits.Header(), 1) is None
    skew = read_tdd_coefficients(fits.Header({"TDDORDER": 1, "TDD_DATE": 2004.5,
                                              "TDD_A0": 0.1, "TDD_A1": 0.02,
                                              "TDD_B0": -0.03, "TDD_B1": -0.01}), 2)
    assert skew.form == "skew" and skew.a == (0.1, 0.02) and skew.b == (-0.03, -0.01)
    f14 = read_tdd_coefficients(fits.Header({"TDD_DATE": 2004.5, "TDD_CYB1": 1e-6,
                                             "TDD_CYA1": 0.0, "TDD_CXB2": 2e-6}), 1)
    assert f14.form == "2014" and f14.terms["TDD_CYB"] == 1e-6 and f14.terms["TDD_CYA"] is None
    f15 = read_tdd_coefficients(fits.Header({"TDD_DATE": 2004.5, "TDD_CTB1": 1e-6,
                                             "TDD_CTB2": 3e-6, "TDD_CXB2": 4e-6}), 2)
    assert f15.form == "2015" and f15.terms["TDD_CTB"] == 3e-6 and f15.terms["TDD_CYB"] is None


# ---------------------------------------------------------------------------- polynomial


@settings(max_examples=40, deadline=None)
@given(xs=st.floats(-300, 300), ys=st.floats(-300, 300))
def test_shift_model_reexpands_polynomial(xs, ys):
    m = read_idctab(make_idctab(), chip=1, filter2="F814W")
    s = shift_model(m, xs, ys)
    dx, dy = np.array([-1500.0, 3.0, 800.0]), np.array([700.0, -2.0, -900.0])
    np.testing.assert_allclose(evaluate_idc(s.cx, s.cy, dx, dy),
                               evaluate_idc(m.cx, m.cy, dx + xs, dy + ys), rtol=1e-9, atol=1e-9)


def test_sip_reproduces_idc_polynomial():
    m = read_idctab(make_idctab(), chip=2, filter2="F814W")
    a, b = idc_to_sip(m)
    assert a.shape == (5, 5) and a[0, 1] == 0 and a[1, 0] == 0 and a[0, 0] == 0
    u, v = RNG.uniform(-2048, 2048, 50), RNG.uniform(-1024, 1024, 50)
    f, g = evaluate_sip(a, b, u, v)
    xy = m.linear @ np.vstack([u + f, v + g])
    np.testing.assert_allclose(xy, np.vstack(evaluate_idc(m.cx, m.cy, u, v)), rtol=0,
                               atol=1e-12)


def test_sip_keywords_and_cleanup():
    m = read_idctab(make_idctab(), chip=1, filter2="F814W")
    cards = sip_keywords(*idc_to_sip(m))
    names = [c[0] for c in cards]
    assert names[0] == "A_ORDER" and "B_ORDER" in names
    # orders 2..4: 3 + 4 + 5 coefficients per axis
    assert sum(n.startswith("A_") and n != "A_ORDER" for n in names) == 12
    h = fits.Header()
    h["A_DUMMY"] = "keep"  # not a SIP coefficient
    h["AP_1_1"] = 1.0
    for c in cards:
        h.set(*c)
    remove_sip_keywords(h)
    assert list(h.keys()) == ["A_DUMMY"]


def test_singular_linear_part():
    m = read_idctab(make_idctab(), chip=1, filter2="F814W")
    cx = m.cx.copy()
    cx[1] = 0.0
    with pytest.raises(ValueError, match="singular"):
        idc_to_sip(m.replace(cx=cx))


# ---------------------------------------------------------------------------- TDD


def test_decimal_year():
    assert decimal_year("2004-07-01") == pytest.approx(2004 + 183 / 365.25)
    assert decimal_year("2010-01-01T12:00:00") == pytest.approx(2010 + 1 / 365.25)
    with pytest.raises(ValueError):
        decimal_year("01/07/04")


def test_skew_tdd_keeps_sip_and_changes_linear():
    m = read_idctab(make_idctab(), chip=1, filter2="F814W")
    res = apply_tdd(m, "2011-03-04")
    alpha, beta = skew_alpha_beta(DEFAULT_TDD, decimal_year("2011-03-04"))
    assert res.form == "skew" and res.defaulted
    assert res.alpha == pytest.approx(alpha) and res.keywords["TDDBETA"][0] == pytest.approx(beta)
    assert not np.allclose(res.model.linear, m.linear)
    # the skew is one linear map applied to (CX, CY): the SIP part is unchanged
    np.testing.assert_allclose(idc_to_sip(res.model)[0], idc_to_sip(m)[0], rtol=1e-9,
                               atol=1e-22)
    # determinant of the skew matrix is 1 - (alpha^2 + beta^2)/2048^2
    det = np.linalg.det(res.model.linear) / np.linalg.det(m.linear)
    assert det == pytest.approx(1 - (alpha ** 2 + beta ** 2) / 2048 ** 2, rel=1e-12)


def test_tdd_2014_and_2015_forms():
    m = read_idctab(make_idctab(header_extra={"TDD_DATE": 2004.5, "TDD_CYB1": 1e-6,
                                              "TDD_CXA1": 0.049, "TDD_CXB1": 2e-7}),
                    chip=1, filter2="F814W")
    res = apply_tdd(m, "2014-07-02")
    dt = decimal_year("2014-07-02") - 2004.5
    assert res.form == "2014"
    assert res.model.cy[1, 1] == pytest.approx(m.cy[1, 1] + 1e-6 * dt)
    assert res.model.cx[1, 1] == pytest.approx(0.049 + 2e-7 * dt)
    m = read_idctab(make_idctab(header_extra={"TDD_DATE": 2004.5, "TDD_CTB1": 1e-6,
                                              "TDD_CYB1": 2e-6, "TDD_CXB1": 3e-6}),
                    chip=1, filter2="F814W")
    res = apply_tdd(m, "2014-07-02")
    assert res.form == "2015"
    assert res.model.cy[1, 1] == pytest.approx(m.cy[1, 1] + 1e-6 * dt)
    assert res.model.cy[1, 0] == pytest.approx(m.cy[1, 0] + 2e-6 * dt)
    assert res.model.cx[1, 1] == pytest.approx(m.cx[1, 1] + 3e-6 * dt)
    assert set(res.keywords) == {"TDD_CTB", "TDD_CYB", "TDD_CXB"}
    assert res.model.cx[2, 0] == m.cx[2, 0]


def test_zero_point_offset_is_antisymmetric_between_chips():
    z1 = zero_point_offset(1, 0.3, -0.1)
    z2 = zero_point_offset(2, 0.3, -0.1)
    np.testing.assert_allclose(z1, -z2)
    assert np.hypot(*z1) == pytest.approx(0.05 * 1024 / 2048 * math.hypot(0.3, 0.1))
    assert not zero_point_offset(1, None, None).any()


# ---------------------------------------------------------------------------- VA, makewcs


def test_velocity_aberration():
    cd = np.array([[1e-5, 2e-6], [-2e-6, 1e-5]])
    new_cd, crval = apply_velocity_aberration(cd, np.array([359.99, 10.0]),
                                              np.array([0.01, 10.02]), 1.0001)
    np.testing.assert_allclose(new_cd, cd * 1.0001)
    # offsets are scaled across the RA wrap: -0.02 deg becomes -0.020002
    assert crval[0] == pytest.approx(0.01 - 0.020002)
    assert crval[1] == pytest.approx(10.02 - 0.020002)
    same_cd, same = apply_velocity_aberration(cd, np.array([1.0, 2.0]), np.zeros(2), 1.0)
    np.testing.assert_array_equal(same, [1.0, 2.0])
    assert diff_angles(1.0, 359.0) == pytest.approx(2.0)


@pytest.mark.parametrize("dec", [-80.0, -30.0, 0.0, 45.0, 85.0])
def test_troll_small_offsets_approach_roll(dec):
    # an aperture on V1 has the V1 roll (limit of tiny V2/V3 offsets)
    assert troll(123.4, dec, 1e-4, 1e-4) == pytest.approx(123.4, abs=1e-6)


def test_troll_against_spherical_rotation():
    """Independent check: rotate V-frame unit vectors onto the sky and measure the angle."""
    roll, ra, dec, v2, v3 = 77.0, 0.0, 35.0, 260.0, 250.0

    def vvec(v2a, v3a):  # V2/V3 (arcsec) -> unit vector, V1 = x
        a2, a3 = math.radians(v2a / 3600), math.radians(v3a / 3600)
        return np.array([math.cos(a2) * math.cos(a3), math.sin(a2) * math.cos(a3),
                         math.sin(a3)])

    # attitude: V1 at (ra_v1, dec_v1) with roll such that the aperture is at (ra, dec)
    # Build the attitude that puts V1 on the sky at (0, dec) with position angle `roll`.
    def att(ra1, dec1, pa):
        a, d, p = map(math.radians, (ra1, dec1, pa))
        rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
        ry = np.array([[math.cos(d), 0, -math.sin(d)], [0, 1, 0], [math.sin(d), 0, math.cos(d)]])
        rx = np.array([[1, 0, 0], [0, math.cos(p), math.sin(p)], [0, -math.sin(p), math.cos(p)]])
        return rz @ ry @ rx

    m = att(ra, dec, roll)
    p = m @ vvec(v2, v3)
    dec_ap = math.degrees(math.asin(p[2]))
    # position angle of V3 at the aperture: direction of increasing V3
    q = m @ vvec(v2, v3 + 1.0)
    ra_p, dec_p = math.atan2(p[1], p[0]), math.asin(p[2])
    ra_q, dec_q = math.atan2(q[1], q[0]), math.asin(q[2])
    pa = math.degrees(math.atan2(math.sin(ra_q - ra_p) * math.cos(dec_q),
                                 math.cos(dec_p) * math.sin(dec_q)
                                 - math.sin(dec_p) * math.cos(dec_q) * math.cos(ra_q - ra_p)))
    assert troll(roll, dec_ap, v2, v3) % 360 == pytest.approx(pa % 360, abs=2e-3)


def test_parity():
    np.testing.assert_array_equal(parity_for("ACS", "WFC"), [[1, 0], [0, -1]])
    np.testing.assert_array_equal(parity_for("wfc3", "ir"), [[-1, 0], [0, 1]])


def test_reference_chip_frame_and_chip_wcs():
    m = read_idctab(make_idctab(), chip=2, filter2="F814W")
    opus = LinearWCS(crpix=np.array([2048.0, 1024.0]), crval=np.array([10.0, -20.0]),
                     cd=np.array([[-1e-5, 0.0], [0.0, 1e-5]]))
    parity = parity_for("ACS", "WFC")
    frame = reference_frame(opus, m, np.array([2048.0, 1024.0]), 30.0, parity,
                            (m.v2ref, m.v3ref))
    np.testing.assert_allclose(frame.crval, [10.0, -20.0])
    assert np.hypot(*frame.cd[:, 0]) * 3600 == pytest.approx(0.05)
    own = chip_wcs(frame, m, m, np.array([2048.0, 1024.0]), parity, (m.v2ref, m.v3ref),
                   (m.v2ref, m.v3ref))
    np.testing.assert_allclose(own.crval, frame.crval)
    # CD = frame CD @ linear terms / scale (to first order)
    np.testing.assert_allclose(own.cd, frame.cd @ m.linear / m.scale, rtol=1e-6, atol=1e-12)
    # the other chip: its CRVAL sits at the V2/V3 distance
    m1 = read_idctab(make_idctab(), chip=1, filter2="F814W")
    other = chip_wcs(frame, m1, m, np.array([2048.0, 1024.0]), parity, (m1.v2ref, m1.v3ref),
                     (m.v2ref, m.v3ref))
    sep = math.degrees(math.acos(
        math.sin(math.radians(other.crval[1])) * math.sin(math.radians(frame.crval[1]))
        + math.cos(math.radians(other.crval[1])) * math.cos(math.radians(frame.crval[1]))
        * math.cos(math.radians(other.crval[0] - frame.crval[0])))) * 3600
    assert sep == pytest.approx(math.hypot(m1.v2ref - m.v2ref, m1.v3ref - m.v3ref), rel=1e-5)


def test_subarray_reference():
    m = read_idctab(make_idctab(), chip=1, filter2="F814W")
    same, crpix = subarray_reference(m, np.array([5.0, 6.0]), (0.0, 0.0), (4096, 2048))
    assert same is m and tuple(crpix) == (2048.0, 1024.0)
    # polarizer case: full-size image with LTV set -> treated as full frame
    same, crpix = subarray_reference(m, np.array([5.0, 6.0]), (-10.0, -3.0), (4096, 2048))
    assert same is m
    shifted, crpix = subarray_reference(m, np.array([256.0, 256.0]), (-1000.0, -500.0),
                                        (512, 512))
    np.testing.assert_allclose(crpix, [256.0, 256.0])
    # the shifted model is centred on detector pixel crpix - ltv
    x0, y0 = evaluate_idc(m.cx, m.cy, 1256.0 - 2048.0, 756.0 - 1024.0)
    assert shifted.cx[0, 0] == pytest.approx(float(x0))
    assert shifted.cy[0, 0] == pytest.approx(float(y0))


# ---------------------------------------------------------------------------- lookup tables


def test_npol_to_pixels_inverts_linear_map():
    linear = np.array([[0.049, 0.0023], [0.0021, 0.0486]])
    dx, dy = RNG.normal(0, 0.02, (32, 64)), RNG.normal(0, 0.02, (32, 64))
    px, py = lookup.npol_to_pixels(dx, dy, linear, 0.05)
    assert px.dtype == np.float32 and px.shape == (32, 64)
    back = (linear / 0.05) @ np.vstack([px.ravel(), py.ravel()])
    np.testing.assert_allclose(back[0], dx.ravel(), atol=1e-7)
    np.testing.assert_allclose(back[1], dy.ravel(), atol=1e-7)


def test_lookup_hdu_and_keywords():
    table = fits.Header({"CDELT1": 64, "CDELT2": 64})
    ref = fits.Header({"FILENAME": "x_npl.fits", "DESCRIP": "test"})
    sci = fits.Header({"LTV1": -100.0, "LTV2": 0.0, "LTM1_1": 0.5})
    hdu = lookup.lookup_hdu("WCSDVARR", 3, np.ones((32, 64)), table, ref, "DX", sci)
    h = hdu.header
    assert (h["EXTNAME"], h["EXTVER"], h["CCDCHIP"]) == ("WCSDVARR", 3, "DX")
    assert (h["CDELT1"], h["CDELT2"], h["CRVAL1"], h["CRPIX1"]) == (32.0, 64.0, 100.0, 0.0)
    assert h["FILENAME"] == "x_npl.fits" and hdu.data.dtype == np.float32
    sh = fits.Header()
    for axis in (1, 2):
        for card in lookup.npol_keywords(axis, axis + 4, 0.1):
            sh.set(*card)
        for card in lookup.d2im_keywords(axis, axis, 0.2):
            sh.set(*card)
    assert sh["DP1.EXTVER"] == 5 and sh["CPDIS2"] == "Lookup" and sh["D2IM2.AXIS.2"] == 2
    lookup.remove_lookup_keywords(sh, "npol")
    assert "CPDIS1" not in sh and "DP1.EXTVER" not in sh and "D2IMDIS1" in sh
    lookup.remove_lookup_keywords(sh, "d2im")
    assert len(sh) == 0


def test_find_tables_by_chip():
    prim = fits.PrimaryHDU()
    prim.header["INSTRUME"] = "ACS"
    prim.header["DETECTOR"] = "WFC"
    exts = []
    for chip in (2, 1):
        for name in ("DX", "DY"):
            e = fits.ImageHDU(np.full((2, 2), chip, dtype=np.float32), name=name)
            e.header["CCDCHIP"] = chip
            exts.append(e)
    ref = fits.HDUList([prim, *exts])
    t = lookup.find_tables(ref, 1)
    assert set(t) == {"DX", "DY"} and t["DX"].data[0, 0] == 1
    prim.header["DETECTOR"] = "HRC"  # single-chip detectors: first DX/DY pair
    assert lookup.find_tables(ref, 1)["DY"].data[0, 0] == 2
