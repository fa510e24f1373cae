"""altwcs compared with the original stwcs 1.7.7 altwcs on the real WFC3 sample."""

from __future__ import annotations

import warnings

import pytest
from astropy.io import fits

from stwcs_ng.wcsutil import altwcs

pytestmark = [pytest.mark.oracle, pytest.mark.hstdata]


def test_queries_and_archive_match(wfc3_flc, copy_to_tmp):
    oalt = pytest.importorskip("stwcs.wcsutil.altwcs")
    orig_path = copy_to_tmp(wfc3_flc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(orig_path, mode="update") as h1:
            for ext in (("SCI", 1), ("SCI", 2)):
                assert altwcs.wcskeys(h1, ext) == oalt.wcskeys(h1, ext)
                assert altwcs.wcsnames(h1, ext) == oalt.wcsnames(h1, ext)
                assert altwcs.available_wcskeys(h1, ext) == oalt.available_wcskeys(h1, ext)
                assert altwcs.next_wcskey(h1, ext) == oalt.next_wcskey(h1, ext)
            result = oalt.archive_wcs(h1, [("SCI", 1), ("SCI", 2)], wcsname="MINE")
            expected = {v: h1["SCI", v].header.copy() for v in (1, 2)}
            h1.close(output_verify="ignore")
    with fits.open(wfc3_flc) as h2:
        assert altwcs.archive_wcs(h2, [("SCI", 1), ("SCI", 2)], wcsname="MINE") == result
        key = result[0]
        for v in (1, 2):
            a, b = expected[v], h2["SCI", v].header
            ours = {k for k in b if k.endswith(key) and len(k) > 1}
            theirs = {k for k in a if k.endswith(key) and len(k) > 1}
            assert ours == theirs
            for k in ours:
                if isinstance(a[k], float):
                    assert b[k] == pytest.approx(a[k], rel=1e-12), k
                else:
                    assert str(b[k]).strip() == str(a[k]).strip(), k
