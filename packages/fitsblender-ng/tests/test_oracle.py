"""Compatibility with the original fitsblender 0.4.4 (run only when it is installed).

The original package ships small headers of old missions (EUVE, FGS, FOS, HRS,
IUE, NICMOS, UIT, WFPC2) inside its test folder; they are read in place from
the installed original, never copied.
"""

from __future__ import annotations

import gc
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from fitsblender_ng import testing as T
from fitsblender_ng.blender import INDEF, HeaderSet, blend
from fitsblender_ng.blendheaders import blendheaders, get_blended_headers
from fitsblender_ng.rules import RulesFile

pytestmark = pytest.mark.oracle


def _original():
    return pytest.importorskip("fitsblender")


def _same(ours, theirs) -> bool:
    if isinstance(theirs, float | np.floating) or isinstance(ours, float | np.floating):
        try:
            return math.isclose(float(ours), float(theirs), rel_tol=1e-12, abs_tol=0.0)
        except (TypeError, ValueError):
            return False
    if isinstance(theirs, str) or isinstance(ours, str):
        return str(ours).strip() == str(theirs).strip()
    return ours == theirs


def test_old_mission_headers_low_level_spec():
    fb = _original()
    files = sorted((Path(fb.__file__).parent / "tests").glob("*.fits"))
    if not files:
        pytest.skip("the installed fitsblender has no test headers")
    headers = [fits.getheader(f) for f in files]
    spec = [("CRPIX1", "CRPIXM", np.mean), ("CRPIX1", "CRPIXC", np.mean, "constant", 0),
            ("CRPIX1", "crpix"), ("OBSERVER", "observer"), ("CRPIX1", "CRPIXS", np.sum),
            ("CRPIX1", "CRPIXL", fb.blender.last), ("CRPIX1", "CRPIXD", np.std),
            ("CRPIX1", "CRPIXMIN", np.min), ("CRPIX1", "CRPIXMAX", np.max)]
    theirs, ttab = fb.fitsblender(headers, spec)
    rules = RulesFile.parse(
        "CRPIX1 CRPIXM mean\nCRPIX1 CRPIXC mean constant=0\nCRPIX1 crpix\nOBSERVER observer\n"
        "CRPIX1 CRPIXS sum\nCRPIX1 CRPIXL last\nCRPIX1 CRPIXD stddev\nCRPIX1 CRPIXMIN min\n"
        "CRPIX1 CRPIXMAX max\n")
    sets = [HeaderSet(h, h, exposure=str(i)) for i, h in enumerate(headers)]
    res = blend(sets, rules, history=False)
    for name, value in theirs.items():
        assert _same(res.primary[name], value), name
    ours = res.table.data
    np.testing.assert_allclose(ours["crpix"], np.ma.filled(ttab["crpix"].astype(float), np.nan))
    want_obs = [INDEF if m else str(v) for v, m in zip(ttab["observer"].data,
                                                       ttab["observer"].mask, strict=True)]
    assert list(ours["observer"]) == want_obs


@pytest.fixture
def acs_inputs(tmp_path, monkeypatch):
    paths = T.write_exposures([T.acs_wfc_exposure(i, data=True) for i in range(3)], tmp_path)
    monkeypatch.chdir(tmp_path)  # the original searches the current directory for rules
    return [f"{p.name}[sci,{v}]" for p in paths for v in (1, 2)]


def test_get_blended_headers_matches_original_with_its_acs_rules(acs_inputs):
    fb = _original()
    from fitsblender import blendheaders as original

    rules_file = Path(fb.__file__).parent / "acs_header.rules"
    t_hdrs, t_tab = original.get_blended_headers(acs_inputs, rules_file=str(rules_file))
    o_hdrs, o_tab = get_blended_headers(acs_inputs, rules_file=rules_file)

    skip = {"", "HISTORY", "COMMENT", "RULEFILE", "BLENDVER", "RULESVER"}
    for kind, (ours, theirs) in enumerate(zip(o_hdrs, t_hdrs, strict=True)):
        ours_keys = set(ours.keys()) - skip
        theirs_keys = set(theirs.keys()) - skip
        # documented difference: structural keywords are never removed by table rules
        # (the original drops them, which makes its headers invalid FITS)
        assert ours_keys - theirs_keys <= {"SIMPLE", "EXTEND", "EXTNAME", "EXTVER", "NAXIS1",
                                           "NAXIS2", "BITPIX", "NAXIS", "PCOUNT",
                                           "GCOUNT", "XTENSION"}, kind
        assert theirs_keys - ours_keys == set(), kind
        for key in theirs_keys:
            assert _same(ours[key], theirs[key]), (kind, key, ours[key], theirs[key])
    assert o_hdrs[0]["RULESVER"] == t_hdrs[0]["RULESVER"]

    ours, theirs = o_tab.data, t_tab.data
    assert len(ours) == len(theirs) == 6
    # documented difference: a keyword in both PRIMARY and SCI takes the SCI value in our table
    with fits.open(acs_inputs[0].split("[")[0]) as probe:
        prim, sci = probe[0].header, probe[1].header
        both = {k for k in prim if k and k in sci and prim[k] != sci[k]}
    assert {"BITPIX", "NAXIS"} <= both
    for name in theirs.columns.names:
        if name in both:
            assert list(ours[name]) == [sci[name]] * 6
            continue
        col = theirs[name]
        if name not in ours.columns.names:
            # documented difference: we leave out columns that no input has
            assert all((isinstance(v, str) and v == "nan")
                       or (not isinstance(v, str) and np.isnan(v)) for v in col), name
            continue
        mine = ours[name]
        for a, b in zip(mine, col, strict=True):
            if isinstance(b, str) and b == "nan":
                assert a == INDEF, name
            else:
                assert _same(a, b), (name, a, b)
    assert [n for n in theirs.columns.names if n in ours.columns.names] == ours.columns.names


def test_original_blendheaders_breaks_products_ours_does_not(tmp_path, monkeypatch):
    """0.4.4 drops mandatory cards (XTENSION, PCOUNT ...) and cannot write; we write valid FITS."""
    _original()
    from fitsblender import blendheaders as original

    monkeypatch.chdir(tmp_path)
    paths = T.write_exposures([T.acs_wfc_exposure(i, data=True) for i in range(2)], tmp_path)
    chips = [f"{p.name}[sci,{v}]" for p in paths for v in (1, 2)]
    product = T.drizzle_product(chips, tmp_path / "o_drz.fits")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # the original leaks its open file
        with pytest.raises(fits.VerifyError):
            original.blendheaders(str(product), output=str(tmp_path / "orig_out.fits"))
        gc.collect()
    written = blendheaders(product, output=tmp_path / "ours_out.fits")
    with fits.open(written) as hdul:
        hdul.verify("exception")
        assert [h.name for h in hdul] == ["PRIMARY", "SCI", "WHT", "CTX", "HDRTAB"]
