"""The blending engine on hand-made headers: header values, deletions, HDRTAB types."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from astropy.io import fits

from fitsblender_ng.blender import INDEF, HeaderSet, blend, is_protected, make_table
from fitsblender_ng.errors import MissingKeywordError
from fitsblender_ng.rules import RulesFile
from fitsblender_ng.testing import header_from_spec


def rules(text: str) -> RulesFile:
    return RulesFile.parse(text, filename="test.rules")


def primary(root: str, **kw) -> fits.Header:
    spec = [("SIMPLE", True), ("BITPIX", 16), ("NAXIS", 0), ("EXTEND", True),
            ("ROOTNAME", root), ("INSTRUME", "ACS")]
    spec += list(kw.items())
    return header_from_spec(spec)


def sci(ver: int, **kw) -> fits.Header:
    spec = [("XTENSION", "IMAGE"), ("BITPIX", -32), ("NAXIS", 2), ("NAXIS1", 10),
            ("NAXIS2", 12), ("PCOUNT", 0), ("GCOUNT", 1), ("EXTNAME", "SCI"), ("EXTVER", ver)]
    spec += list(kw.items())
    return header_from_spec(spec)


def roundtrip(table: fits.BinTableHDU) -> fits.FITS_rec:
    buf = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(buf)
    buf.seek(0)
    with fits.open(buf) as hdul:
        assert hdul[1].name == "HDRTAB"
        return hdul[1].data.copy()


def test_exposure_level_values_use_distinct_primaries():
    p1 = primary("a", EXPTIME=100.0, EXPSTART=5.0, EXPEND=6.0)
    p2 = primary("b", EXPTIME=50.0, EXPSTART=4.0, EXPEND=7.0)
    sets = [HeaderSet(p1, sci(1)), HeaderSet(p1, sci(2)), HeaderSet(p2, sci(1)),
            HeaderSet(p2.copy(), sci(2))]  # a copy of b's primary: same ROOTNAME, same exposure
    res = blend(sets, rules("EXPTIME\nEXPTIME EXPTIME sum\nEXPTIME TEXPTIME sum\n"
                            "EXPSTART EXPSTART min\nEXPEND EXPEND max\n"))
    assert res.primary["EXPTIME"] == 150.0 and res.primary["TEXPTIME"] == 150.0
    assert res.primary["EXPSTART"] == 4.0 and res.primary["EXPEND"] == 7.0
    assert list(res.table.data["EXPTIME"]) == [100.0, 100.0, 50.0, 50.0]
    assert "EXPTIME" not in res.sci  # SCI headers had none


def test_table_only_keywords_leave_headers_but_structure_stays():
    sets = [HeaderSet(primary("a"), sci(1, CCDCHIP=2, PHOTFLAM=1.0)),
            HeaderSet(primary("a"), sci(2, CCDCHIP=1, PHOTFLAM=3.0))]
    res = blend(sets, rules("ROOTNAME\nEXTNAME\nEXTVER\nNAXIS1\nCCDCHIP\nPHOTFLAM\n"
                            "PHOTFLAM PHOTFLAM mean\n"))
    assert "CCDCHIP" not in res.sci and "ROOTNAME" not in res.primary
    assert res.sci["PHOTFLAM"] == 2.0
    for key in ("EXTNAME", "EXTVER", "NAXIS1", "XTENSION", "PCOUNT"):
        assert key in res.sci
    assert res.table.columns.names == ["ROOTNAME", "EXTNAME", "EXTVER", "NAXIS1", "CCDCHIP",
                                       "PHOTFLAM"]
    assert list(res.table.data["EXTVER"]) == [1, 2]
    assert list(res.table.data["NAXIS1"]) == [10, 10]  # SCI value wins over PRIMARY


def test_protected_keywords_never_overwritten_or_deleted():
    assert is_protected("NAXIS2") and is_protected("BITPIX") and not is_protected("EXPTIME")
    sets = [HeaderSet(primary("a"), sci(1))]
    res = blend(sets, rules("<delete> NAXIS\n<delete> EXTNAME\nBITPIX BITPIX max\n"))
    assert res.sci["NAXIS"] == 2 and res.sci["EXTNAME"] == "SCI" and res.sci["BITPIX"] == -32


def test_delete_rules_and_new_keyword_placed_after_source():
    sets = [HeaderSet(primary("a", EXPTIME=1.0, NPOLEXT="x", OTHER=3), sci(1))]
    res = blend(sets, rules("<delete> NPOLEXT\nEXPTIME TEXPTIME sum\n"), history=False)
    keys = list(res.primary.keys())
    assert "NPOLEXT" not in keys
    assert keys.index("TEXPTIME") == keys.index("EXPTIME") + 1
    assert res.primary["OTHER"] == 3  # unruled keywords are copied from the first input


def test_sections_moved_to_table_and_empty_titles_removed():
    p = header_from_spec([("SIMPLE", True), ("BITPIX", 16), ("NAXIS", 0), ("ROOTNAME", "a"),
                          ("/ PROPOSAL INFORMATION",), ("PROPOSID", 1), ("PR_INV_L", "X"),
                          ("/ ENGINEERING PARAMETERS",), ("CCDAMP", "ABCD"),
                          ("/ TARGET INFORMATION",), ("TARGNAME", "M31")])
    res = blend([HeaderSet(p, sci(1))],
                rules("/ PROPOSAL INFORMATION\nPROPOSID PROPOSID multi\n"
                      "<delete> / ENGINEERING PARAMETERS\n"), history=False)
    text = repr(res.primary)
    assert "PROPOSAL INFORMATION" in text  # PROPOSID kept -> section kept
    assert "PR_INV_L" not in res.primary and "CCDAMP" not in res.primary
    assert "ENGINEERING PARAMETERS" not in text
    assert "TARGET INFORMATION" in text
    assert set(res.table.columns.names) == {"PROPOSID", "PR_INV_L"}


def test_hdrtab_types_missing_values_and_roundtrip():
    sets = [
        HeaderSet(primary("a"), sci(1, IVAL=1, FVAL=1.5, SVAL="abc", BVAL=True, MIX=1,
                                     IMISS=5, SMISS="long text", BMISS=False, ALLI=7)),
        HeaderSet(primary("b"), sci(2, IVAL=2, FVAL=2, SVAL="x", BVAL=False, MIX="N/A",
                                     ALLI=8)),
    ]
    res = blend(sets, rules("IVAL\nFVAL\nSVAL\nBVAL\nMIX\nIMISS\nSMISS\nBMISS\nALLI\n"
                            "NOWHERE\n"))
    fmt = {c.name: c.format for c in res.table.columns}
    assert fmt == {"IVAL": "K", "FVAL": "D", "SVAL": "3A", "BVAL": "L", "MIX": "3A",
                   "IMISS": "D", "SMISS": "9A", "BMISS": "D", "ALLI": "K"}
    data = roundtrip(res.table)
    assert list(data["IVAL"]) == [1, 2] and data["IVAL"].dtype.kind == "i"
    assert list(data["BVAL"]) == [True, False]
    assert list(data["MIX"]) == ["1", "N/A"]
    assert data["IMISS"][0] == 5 and math.isnan(data["IMISS"][1])
    assert list(data["SMISS"]) == ["long text", INDEF]
    assert data["BMISS"][0] == 0.0 and math.isnan(data["BMISS"][1])
    assert "NOWHERE" not in data.columns.names


def test_string_width_is_at_least_one():
    sets = [HeaderSet(primary("a"), sci(1, EMPTY="")), HeaderSet(primary("b"), sci(2, EMPTY=""))]
    res = blend(sets, rules("EMPTY\n"))
    assert res.table.columns["EMPTY"].format == "1A"
    assert list(roundtrip(res.table)["EMPTY"]) == ["", ""]


def test_undefined_values_are_missing():
    s1 = sci(1)
    s1.append(fits.Card("NOVAL"), end=True)
    s2 = sci(2, NOVAL=3.0)
    res = blend([HeaderSet(primary("a"), s1), HeaderSet(primary("a"), s2)],
                rules("NOVAL\nNOVAL NOVAL mean\n"))
    assert res.sci["NOVAL"] == 3.0
    assert math.isnan(res.table.data["NOVAL"][0])


def test_mixed_types_and_nan_in_header_rules_never_crash():
    sets = [HeaderSet(primary("a", VAL="N/A"), sci(1)), HeaderSet(primary("b", VAL=2.0), sci(2)),
            HeaderSet(primary("c", VAL=4), sci(1))]
    res = blend(sets, rules("VAL VAL mean\nVAL VMAX max\nVAL VM multi\nVAL VC concat\n"))
    assert res.primary["VAL"] == 3.0 and res.primary["VMAX"] == 4
    assert res.primary["VM"] == "MULTIPLE" and res.primary["VC"] == "N/A,2.0,4"


def test_all_non_numeric_keeps_template_value():
    sets = [HeaderSet(primary("a", VAL="N/A"), sci(1)), HeaderSet(primary("b", VAL="?"), sci(1))]
    res = blend(sets, rules("VAL VAL mean\n"))
    assert res.primary["VAL"] == "N/A"


def test_error_policy_raise_and_constant():
    sets = [HeaderSet(primary("a", GAIN=2.0), sci(1)), HeaderSet(primary("b"), sci(1))]
    with pytest.raises(MissingKeywordError, match="GAIN") as info:
        blend(sets, rules("GAIN GAIN mean raise\n"))
    assert info.value.filename == "input 2"
    res = blend(sets, rules("GAIN GAIN mean constant=4.0\nGAIN GCOL\n"))
    assert res.primary["GAIN"] == 3.0
    with pytest.raises(MissingKeywordError):
        blend(sets, rules("GAIN GCOL first raise\nGAIN\n"))
    tab = make_table(sets, rules("GAIN\n").expand([s.primary for s in sets]))
    assert math.isnan(tab.data["GAIN"][1])


def test_raise_policy_ignores_header_kinds_without_the_keyword():
    sets = [HeaderSet(primary("a"), sci(1, PHOTFLAM=1.0))]
    res = blend(sets, rules("PHOTFLAM PHOTFLAM mean raise\n"))
    assert res.sci["PHOTFLAM"] == 1.0 and "PHOTFLAM" not in res.primary


def test_differing_numbers_of_chips_and_keywords():
    pa, pb = primary("a"), primary("b")
    sets = [HeaderSet(pa, sci(1, CHIPONLY=1.0, PHOTFLAM=1.0)),
            HeaderSet(pa, sci(2, PHOTFLAM=2.0)),
            HeaderSet(pb, sci(1, PHOTFLAM=3.0, LABEL="x"))]
    res = blend(sets, rules("ROOTNAME\nEXTVER\nCHIPONLY\nPHOTFLAM\nLABEL\n"))
    data = roundtrip(res.table)
    assert len(data) == 3
    assert list(data["ROOTNAME"]) == ["a", "a", "b"]
    assert data["CHIPONLY"][0] == 1.0 and np.isnan(data["CHIPONLY"][1:]).all()
    assert list(data["LABEL"]) == [INDEF, INDEF, "x"]


def test_no_columns_gives_no_table():
    res = blend([HeaderSet(primary("a"), sci(1))], rules("EXPTIME EXPTIME sum\n"))
    assert res.table is None


def test_rules_keywords_and_history_summary():
    rf = RulesFile.parse("!VERSION = 1.1\n!INSTRUMENT = ACS\nEXPTIME TEXPTIME sum\nROOTNAME\n",
                         filename="/some/machine/path/acs_header.rules")
    res = blend([HeaderSet(primary("a", EXPTIME=3.0), sci(1))], rf)
    p = res.primary
    assert p["RULESVER"] == 1.1 and p["RULEFILE"] == "acs_header.rules"
    assert p["BLENDVER"].startswith("fitsblender-ng")
    history = [str(h) for h in p["HISTORY"]]
    assert any("sum: EXPTIME->TEXPTIME" in h for h in history)
    assert any("acs_header.rules, version 1.1, instrument ACS, 2 rules" in h for h in history)


def test_several_rules_files_are_merged():
    a = RulesFile.parse("!VERSION = 1.1\nEXPTIME EXPTIME sum\n", filename="a.rules")
    b = RulesFile.parse("!VERSION = 1.0\nFILTER FILTER multi\nEXPTIME EXPTIME sum\n",
                        filename="b.rules")
    sets = [HeaderSet(primary("a", EXPTIME=1.0, FILTER="F1"), sci(1)),
            HeaderSet(primary("b", EXPTIME=2.0, FILTER="F2"), sci(1))]
    res = blend(sets, [a, b])
    assert res.primary["EXPTIME"] == 3.0 and res.primary["FILTER"] == "MULTIPLE"
    assert res.primary["RULEFILE"] == "a.rules,b.rules"


def test_empty_inputs_or_rules_rejected():
    with pytest.raises(ValueError, match="no input"):
        blend([], rules("A\n"))
    with pytest.raises(ValueError, match="no rules"):
        blend([HeaderSet(primary("a"), sci(1))], [])


def test_outputs_are_new_objects():
    p = primary("a", EXPTIME=1.0)
    s = sci(1, PHOTFLAM=1.0)
    before_p, before_s = repr(p), repr(s)
    res = blend([HeaderSet(p, s)], rules("EXPTIME TEXPTIME sum\nPHOTFLAM\n"))
    res.primary["NEWKEY"] = 1
    assert repr(p) == before_p and repr(s) == before_s


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

cell = st.one_of(st.none(), st.booleans(), st.integers(-2**62, 2**62),
                 st.floats(allow_nan=False, allow_infinity=False),
                 st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                         max_size=20))


@settings(max_examples=60, deadline=None)
@given(st.lists(cell, min_size=1, max_size=6))
def test_any_column_round_trips_through_fits(values):
    sets = []
    for i, v in enumerate(values):
        kw = {} if v is None else {"VAL": v}
        sets.append(HeaderSet(primary(f"r{i}"), sci(1, **kw)))
    res = blend(sets, rules("VAL\n"), history=False)
    if all(v is None for v in values):
        assert res.table is None
        return
    data = roundtrip(res.table)
    assert len(data) == len(values)
    col = data["VAL"]
    for v, got in zip(values, col, strict=True):
        if v is None:
            assert got == INDEF or math.isnan(got)
        elif isinstance(got, str):
            assert got == (("T" if v else "F") if isinstance(v, bool) else
                           repr(float(v)) if isinstance(v, float) else str(v).rstrip())
        else:
            assert float(got) == pytest.approx(float(v))
