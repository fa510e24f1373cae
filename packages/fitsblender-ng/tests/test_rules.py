"""Rules-file parser: every syntax form and every error."""

from __future__ import annotations

import logging
import math

import pytest
from astropy.io import fits

from fitsblender_ng.errors import RulesNotFoundError, RulesSyntaxError
from fitsblender_ng.functions import ErrorPolicy
from fitsblender_ng.rules import (
    GENERIC_RULES,
    RulesFile,
    default_rules_path,
    find_keywords_in_section,
    find_rules_file,
    is_section_title,
)
from fitsblender_ng.testing import header_from_spec


def parse(text: str, **kw) -> RulesFile:
    return RulesFile.parse(text, filename="t.rules", **kw)


def test_directives_comments_and_blank_lines():
    rf = parse("!VERSION = 1.1\n!INSTRUMENT = wfc3\n# comment\n\n   \nEXPTIME\n")
    assert rf.version == pytest.approx(1.1)
    assert rf.instrument == "WFC3"
    assert [r.keyword for r in rf.rules] == ["EXPTIME"]
    assert rf.lines == ("EXPTIME",)


def test_directive_with_trailing_comment():
    assert parse("!VERSION = 1.0   # old\n").version == 1.0


def test_one_field_is_table_rule():
    (r,) = parse("rootname\n").rules
    assert (r.keyword, r.name, r.function, r.kind, r.target) == (
        "ROOTNAME", None, None, "table", "ROOTNAME")


def test_two_fields_rename_table_column_keeps_case():
    (r,) = parse("CRPIX1 crpix_lower\n").rules
    assert r.kind == "table" and r.name == "crpix_lower" and r.keyword == "CRPIX1"


def test_three_fields_header_rule_and_inline_comment():
    (r,) = parse("EXPTIME TEXPTIME sum   # total exposure time\n").rules
    assert (r.keyword, r.name, r.function, r.kind) == ("EXPTIME", "TEXPTIME", "sum", "header")


def test_function_name_case_insensitive_and_multi_question():
    rules = parse("FILTER1 FILTER1 MULTI\nFILTER2 FILTER2 multi?\n").rules
    assert [r.function for r in rules] == ["multi", "multi?"]


def test_fourth_field_error_policy():
    rules = parse("A A1 sum raise\nB B1 mean constant=0\nC C1 first constant='x'\n"
                  "D D1 max ignore\nE E1 min constant\n").rules
    assert rules[0].on_error == ErrorPolicy("raise")
    assert rules[1].on_error == ErrorPolicy("constant", 0)
    assert rules[2].on_error.value == "x"
    assert rules[3].on_error.kind == "ignore"
    assert math.isnan(rules[4].on_error.value)


def test_delete_keyword_with_and_without_space():
    rules = parse("<delete> NPOLEXT\n<delete>D2IMEXT\n<DELETE> A_*\n").rules
    assert [(r.keyword, r.kind) for r in rules] == [
        ("NPOLEXT", "delete"), ("D2IMEXT", "delete"), ("A_*", "delete")]


def test_section_rules():
    rules = parse("/ PROPOSAL INFORMATION\n<delete> / ENGINEERING PARAMETERS  # old\n").rules
    assert rules[0].section == "PROPOSAL INFORMATION" and rules[0].kind == "section"
    assert rules[1].section == "ENGINEERING PARAMETERS" and rules[1].kind == "delete-section"


def test_wildcards_with_and_without_function():
    rules = parse("A_*\nB_?_? B_?_? first\n").rules
    assert rules[0].is_wildcard and rules[0].kind == "table"
    assert rules[1].function == "first" and rules[1].name is None


def test_several_lines_per_keyword_and_duplicates_ignored():
    rf = parse("EXPTIME\nEXPTIME EXPTIME sum\nEXPTIME TEXPTIME sum\nEXPTIME\n")
    assert [r.kind for r in rf.rules] == ["table", "header", "header"]
    assert len(rf.lines) == 3


def test_record_valued_keyword_pattern():
    (r,) = parse("<delete> DP1.*\n").rules
    assert r.keyword == "DP1.*"


def test_leading_whitespace_line_ignored_like_original(caplog):
    with caplog.at_level(logging.WARNING, logger="fitsblender_ng.rules"):
        rf = parse("  EXPTIME TEXPTIME sum\nROOTNAME\n")
    assert [r.keyword for r in rf.rules] == ["ROOTNAME"]
    assert "t.rules:1" in caplog.text


def test_unknown_function_lenient_mode_makes_table_rule(caplog):
    with caplog.at_level(logging.WARNING, logger="fitsblender_ng.rules"):
        (r,) = parse("EXPTIME TEXP average\n", strict=False).rules
    assert r.kind == "table" and r.name == "TEXP"
    assert "average" in caplog.text


def test_newer_version_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="fitsblender_ng.rules"):
        parse("!VERSION = 2.0\n")
    assert "newer" in caplog.text


@pytest.mark.parametrize(("text", "lineno", "fragment"), [
    ("!VERSION\n", 1, "needs '= <value>'"),
    ("!VERSION = abc\n", 1, "not a number"),
    ("!VERSION = 1.0\n!VERSION = 1.1\n", 2, "given twice"),
    ("!INSTRUMENT = ACS\n!INSTRUMENT = WFC3\n", 2, "given twice"),
    ("!INSTRUMENT =\n", 1, "needs '= <value>'"),
    ("!COLOR = red\n", 1, "unknown directive"),
    ("ROOTNAME\n<delete>\n", 2, "<delete> needs"),
    ("<keep> EXPTIME\n", 1, "unknown command"),
    ("/\n", 1, "needs a title"),
    ("<delete> /   \n", 1, "needs a title"),
    ("EXPTIME / EXPOSURE\n", 1, "must start with '/'"),
    ("TOOLONGKEYWORD\n", 1, "not a FITS keyword"),
    ("EXP$TIME\n", 1, "not a FITS keyword"),
    ("<delete> A B\n", 1, "takes only the keyword"),
    ("A B sum raise extra\n", 1, "too many fields"),
    ("A_* XX\n", 1, "cannot rename"),
    ("EXPTIME bad!name\n", 1, "not a valid column"),
    ("EXPTIME TEXPTIME average\n", 1, "unknown function 'average'"),
    ("EXPTIME VERYLONGNAME sum\n", 1, "not a valid FITS keyword"),
    ("EXPTIME TEXPTIME sum maybe\n", 1, "bad error policy"),
    ("EXPTIME TEXPTIME sum constant=\n", 1, "needs a value"),
    ("EXPTIME TEXPTIME sum\nEXPSTART TEXPTIME min\n", 2, "already defined on line 1"),
    ("EXPTIME COL\nEXPSTART col\n", 2, "table column"),
])
def test_syntax_errors_name_file_and_line(text, lineno, fragment):
    with pytest.raises(RulesSyntaxError) as info:
        parse(text)
    err = info.value
    assert err.filename == "t.rules" and err.lineno == lineno
    assert str(err).startswith(f"t.rules:{lineno}: ")
    assert fragment in str(err)
    assert isinstance(err, ValueError)


def test_read_missing_file(tmp_path):
    with pytest.raises(RulesNotFoundError, match="does not exist"):
        RulesFile.read(tmp_path / "nope.rules")


def test_read_file_reports_path_in_errors(tmp_path):
    path = tmp_path / "bad.rules"
    path.write_text("!VERSION = 1.1\nEXPTIME T sum\nBAD KW what\n")
    with pytest.raises(RulesSyntaxError, match=r"bad\.rules:3: unknown function"):
        RulesFile.read(path)


def test_merged_keeps_order_and_drops_duplicates():
    a = parse("ROOTNAME\nEXPTIME EXPTIME sum\n")
    b = parse("ROOTNAME\nFILTER FILTER multi\n")
    m = a.merged(b)
    assert [r.keyword for r in m.rules] == ["ROOTNAME", "EXPTIME", "FILTER"]
    assert m.lines == ("ROOTNAME", "EXPTIME EXPTIME sum", "FILTER FILTER multi")


# -- expansion ---------------------------------------------------------------------------------
@pytest.fixture
def sectioned():
    return header_from_spec([
        ("SIMPLE", True), ("BITPIX", 16), ("NAXIS", 0),
        ("/ PROPOSAL INFORMATION",), ("PROPOSID", 9443), ("PR_INV_L", "King"),
        ("/ ENGINEERING PARAMETERS",), ("CCDAMP", "ABCD"), ("CCDGAIN", 1.0),
        ("HISTORY", "x"),
        ("A_2_0", 1e-6), ("A_0_2", 2e-6), ("B_1_1", 3e-6),
    ])


def test_is_section_title(sectioned):
    titles = [c.value for c in sectioned.cards if is_section_title(c)]
    assert titles == ["/ PROPOSAL INFORMATION", "/ ENGINEERING PARAMETERS"]


def test_find_keywords_in_section(sectioned):
    assert find_keywords_in_section(sectioned, "PROPOSAL INFORMATION") == ["PROPOSID", "PR_INV_L"]
    assert find_keywords_in_section(sectioned, "/ engineering  parameters") == [
        "CCDAMP", "CCDGAIN", "A_2_0", "A_0_2", "B_1_1"]
    assert find_keywords_in_section(sectioned, "NOT THERE") is None


def test_expand_wildcards_sections_and_deletes(sectioned):
    other = fits.Header([("A_3_0", 5e-7), ("B_0_2", 1.0)])
    rf = parse("/ PROPOSAL INFORMATION\nA_*\nB_* B_* first\n<delete> A_*\n"
               "<delete> / ENGINEERING PARAMETERS\nEXPTIME TEXPTIME sum\nCRPIX1 xpix\n")
    ex = rf.expand([sectioned, other])
    assert [c.name for c in ex.columns] == ["PROPOSID", "PR_INV_L", "A_2_0", "A_0_2", "A_3_0",
                                            "xpix"]
    assert [(f.keyword, f.name, f.function) for f in ex.functions] == [
        ("B_1_1", "B_1_1", "first"), ("B_0_2", "B_0_2", "first"),
        ("EXPTIME", "TEXPTIME", "sum")]
    assert set(ex.delete) == {"A_2_0", "A_0_2", "A_3_0", "CCDAMP", "CCDGAIN", "B_1_1"}
    assert ex.sections == ["PROPOSAL INFORMATION", "ENGINEERING PARAMETERS"]
    assert ex.table_only == {"PROPOSID", "PR_INV_L", "A_2_0", "A_0_2", "A_3_0", "CRPIX1"}


def test_expand_duplicate_column_names_first_wins():
    ex = parse("A_ORDER\nA_*\n").expand([fits.Header([("A_ORDER", 4), ("A_2_0", 1.0)])])
    assert [c.name for c in ex.columns] == ["A_ORDER", "A_2_0"]


# -- selection ---------------------------------------------------------------------------------
@pytest.mark.parametrize("inst", ["ACS", "wfc3", "STIS", "NICMOS", "WFPC2"])
def test_find_rules_file_per_instrument(inst):
    path = find_rules_file(inst)
    assert path.name == f"{inst.lower()}_header.rules" and path.is_file()
    assert RulesFile.read(path).instrument == inst.upper()


def test_find_rules_file_falls_back_to_generic():
    assert find_rules_file("NIRCAM", "JWST").name == GENERIC_RULES
    assert find_rules_file(None, None).name == GENERIC_RULES
    assert find_rules_file("../etc", "HST").name == "hst_header.rules"


def test_find_rules_file_user_file(tmp_path):
    user = tmp_path / "mine.rules"
    user.write_text("EXPTIME\n")
    assert find_rules_file("ACS", rules_file=user) == user
    with pytest.raises(RulesNotFoundError):
        find_rules_file("ACS", rules_file=tmp_path / "missing.rules")


def test_find_rules_file_ignores_current_directory(tmp_path, monkeypatch):
    (tmp_path / "acs_header.rules").write_text("!VERSION = 1.0\n!INSTRUMENT = ACS\nEXPTIME\n")
    monkeypatch.chdir(tmp_path)
    assert find_rules_file("ACS") == default_rules_path("ACS")
