"""Tests of stwcs_ng.wcsutil.wcscorr (the WCSCORR history table)."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from stwcs_ng.errors import MissingExtensionError, WCSKeyError
from stwcs_ng.wcsutil import altwcs, wcscorr

LAYOUT = [("WCS_ID", "40A"), ("EXTVER", "I"), ("WCS_key", "A"), ("HDRNAME", "24A"),
          ("SIPNAME", "24A"), ("NPOLNAME", "24A"), ("D2IMNAME", "24A"), ("CRVAL1", "D"),
          ("CRVAL2", "D"), ("CRPIX1", "D"), ("CRPIX2", "D"), ("CD1_1", "D"), ("CD1_2", "D"),
          ("CD2_1", "D"), ("CD2_2", "D"), ("CTYPE1", "24A"), ("CTYPE2", "24A"),
          ("ORIENTAT", "D"), ("PA_V3", "D"), ("RMS_RA", "D"), ("RMS_Dec", "D"),
          ("NMatch", "J"), ("Catalog", "40A"), ("DESCRIP", "128A")]


def test_create_layout():
    t = wcscorr.create_wcscorr(descrip=True, numrows=2, padding=3)
    assert [(c.name, c.format) for c in t.columns] == LAYOUT
    assert t.header["EXTNAME"] == "WCSCORR" and t.header["EXTVER"] == 1
    assert t.header["TROWS"] == 2 and len(t.data) == 5
    assert list(t.data["WCS_ID"]) == ["OPUS", "OPUS", "", "", ""]
    assert list(t.data["EXTVER"]) == [1, 2, 0, 0, 0]
    assert list(t.data["WCS_key"][:2]) == ["O", "O"]
    assert t.data["DESCRIP"][0] == "Original WCS computed by OPUS"
    assert list(t.data["CD1_1"]) == [1.0] * 5 and list(t.data["CD1_2"]) == [0.0] * 5
    assert "DESCRIP" not in wcscorr.create_wcscorr().columns.names


def test_init_archives_opus_and_lists_alternates(acs_hdulist):
    hdul = acs_hdulist()
    for v in (1, 2):
        altwcs.archive_header_wcs(hdul["SCI", v].header, "B", "TWEAKED")
    wcscorr.init_wcscorr(hdul)
    t = hdul["WCSCORR"]
    used = t.header["TROWS"]
    assert used == 4
    assert len(t.data) == 2 + 2 * 1 + 4 * 2  # nsci + nsci*numwcs + 4*nsci
    assert list(t.data["WCS_ID"][:4]) == ["OPUS", "OPUS", "TWEAKED", "TWEAKED"]
    assert list(t.data["EXTVER"][:4]) == [1, 2, 1, 2]
    for v in (1, 2):
        h = hdul["SCI", v].header
        assert h["WCSNAMEO"] == "OPUS"
        row = t.data[v - 1]
        assert row["CRVAL1"] == h["CRVAL1O"] and row["CD2_2"] == h["CD2_2O"]
        assert row["SIPNAME"] == "j8bt06nyq_qbu1641sj"
        assert row["NPOLNAME"] == "02c1450rj" and row["D2IMNAME"] == "02c1450oj"
        assert row["ORIENTAT"] == pytest.approx(np.degrees(np.arctan2(h["CD1_2"], h["CD2_2"])))
    # existing table is kept unless forced
    t.data["WCS_ID"][0] = "CHANGED"
    wcscorr.init_wcscorr(hdul)
    assert hdul["WCSCORR"].data["WCS_ID"][0] == "CHANGED"
    wcscorr.init_wcscorr(hdul, force=True)
    assert hdul["WCSCORR"].data["WCS_ID"][0] == "OPUS"
    assert sum(h.name == "WCSCORR" for h in hdul) == 1


def test_init_skips_drizzled_and_needs_sci(acs_hdulist):
    hdul = acs_hdulist()
    hdul[0].header["NDRIZIM"] = 4
    wcscorr.init_wcscorr(hdul)
    assert "WCSCORR" not in [h.name for h in hdul]
    empty = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(name="ERR")])
    with pytest.raises(MissingExtensionError):
        wcscorr.init_wcscorr(empty)


def test_update_appends_without_duplicates_and_grows(acs_hdulist):
    hdul = acs_hdulist()
    wcscorr.init_wcscorr(hdul)
    n0 = hdul["WCSCORR"].header["TROWS"]
    wcscorr.update_wcscorr(hdul, wcs_id="FIT1")
    t = hdul["WCSCORR"]
    assert t.header["TROWS"] == n0 + 2
    assert list(t.data["WCS_ID"][n0:n0 + 2]) == ["FIT1", "FIT1"]
    wcscorr.update_wcscorr(hdul, wcs_id="FIT1")
    assert hdul["WCSCORR"].header["TROWS"] == n0 + 2
    capacity = len(hdul["WCSCORR"].data)
    for k in range(capacity):
        for v in (1, 2):
            hdul["SCI", v].header["CRVAL1"] += 1e-5
        wcscorr.update_wcscorr(hdul, wcs_id=f"FIT{k + 2}")
    t = hdul["WCSCORR"]
    assert t.header["TROWS"] == n0 + 2 + 2 * capacity
    assert len(t.data) >= t.header["TROWS"]
    assert t.data["WCS_ID"][t.header["TROWS"] - 1] == f"FIT{capacity + 1}"
    # padding rows keep their defaults
    if len(t.data) > t.header["TROWS"]:
        assert t.data["CD1_1"][-1] == 1.0


def test_update_from_other_source(acs_hdulist):
    dest = acs_hdulist()
    src = acs_hdulist()
    for v in (1, 2):
        src["SCI", v].header["CRVAL2"] += 0.001
        src["SCI", v].header["WCSNAME"] = "FROM_SRC"
    wcscorr.update_wcscorr(dest, source=src)
    t = dest["WCSCORR"]
    used = t.header["TROWS"]
    assert list(t.data["WCS_ID"][used - 2:used]) == ["FROM_SRC", "FROM_SRC"]
    assert t.data["CRVAL2"][used - 1] == src["SCI", 2].header["CRVAL2"]


def test_restore_file_from_wcscorr(acs_hdulist, tmp_path):
    hdul = acs_hdulist()
    wcscorr.init_wcscorr(hdul)
    original = hdul["SCI", 2].header["CRVAL1"]
    path = tmp_path / "x_flt.fits"
    for v in (1, 2):
        hdul["SCI", v].header["CRVAL1"] = 33.0
    hdul.writeto(path)
    wcscorr.restore_file_from_wcscorr(str(path), id="OPUS")
    with fits.open(path) as h:
        assert h["SCI", 2].header["CRVAL1"] == original
        assert h["SCI", 2].header["WCSNAME"] == "OPUS"
    wcscorr.restore_file_from_wcscorr(str(path), id="OPUS", wcskey="R")
    with fits.open(path) as h:
        assert h["SCI", 1].header["WCSNAMER"] == "OPUS"
    before = path.read_bytes()
    with pytest.raises(WCSKeyError):
        wcscorr.restore_file_from_wcscorr(str(path), id="NOT_THERE")
    assert path.read_bytes() == before


def test_row_helpers(acs_hdulist):
    hdul = acs_hdulist()
    wcscorr.init_wcscorr(hdul)
    t = hdul["WCSCORR"]
    mask = wcscorr.find_wcscorr_row(t, {"WCS_ID": "opus", "EXTVER": 2})
    assert np.flatnonzero(mask).tolist() == [1]
    wcscorr.update_wcscorr_column(t, "Catalog", "GAIADR3", selections={"EXTVER": 1})
    assert t.data["Catalog"][0] == "GAIADR3" and t.data["Catalog"][1] == ""
    new = wcscorr.delete_wcscorr_row(t, rows=[0])
    assert new.header["TROWS"] == t.header["TROWS"] - 1
    assert new.data["EXTVER"][0] == 2


@pytest.mark.hstdata
def test_real_flc_table_rebuilt(wfc3_flc, copy_to_tmp):
    path = copy_to_tmp(wfc3_flc)
    with fits.open(path) as h:
        assert [(c.name, c.format) for c in h["WCSCORR"].columns] == LAYOUT
    wcscorr.init_wcscorr(str(path), force=True)
    with fits.open(path) as h:
        t = h["WCSCORR"]
        assert [(c.name, c.format) for c in t.columns] == LAYOUT
        nkeys = len([k for k in altwcs.wcskeys(h["SCI", 1].header) if k not in " O"])
        assert t.header["TROWS"] == 2 + 2 * nkeys
        assert list(t.data["WCS_ID"][:2]) == ["OPUS", "OPUS"]
        assert t.data["CRVAL1"][1] == h["SCI", 2].header["CRVAL1O"]
        assert len([x for x in h if x.name == "HDRLET"]) == 8


def _recorded_linear(table, row):
    """The membership rule by a plain scan of the used rows (reference)."""
    used = wcscorr.wcscorr_rows(table)
    cols = wcscorr._MATCH_COLUMNS
    target = np.array([row[c] for c in cols], dtype=np.float64)
    for k in range(used):
        if (str(table.data["WCS_ID"][k]).strip() == row["WCS_ID"]
                and int(table.data["EXTVER"][k]) == row["EXTVER"]
                and np.isclose(np.array([float(table.data[c][k]) for c in cols]), target,
                               rtol=1e-12, atol=0.0).all()):
            return True
    return False


def test_recorded_rows_membership_equals_a_scan_of_the_table():
    """Grouped look-up: same answer as scanning every used row (same key, other values, NaN)."""
    rng = np.random.default_rng(8)
    table = wcscorr.create_wcscorr(descrip=True, numrows=1)
    rows = []
    for k in range(300):
        row = wcscorr._blank_row(True)
        row["WCS_ID"] = f"FIT{int(rng.integers(0, 6))}"
        row["EXTVER"] = int(rng.integers(1, 3))
        for c in wcscorr._MATCH_COLUMNS:
            row[c] = float(rng.normal(0, 100))
        if k % 50 == 7:
            row["CRVAL1"] = np.nan
        rows.append(row)
    start = wcscorr.wcscorr_rows(table)
    table = wcscorr._append_rows(table, rows)
    assert wcscorr.wcscorr_rows(table) == start + 300
    recorded = wcscorr._RecordedRows(table)
    queries = []
    for row in rows[::3]:
        queries.append(dict(row))                                          # recorded
        near = dict(row, CD1_1=row["CD1_1"] * (1 + 1e-13))                 # within tolerance
        far = dict(row, CD2_2=row["CD2_2"] * (1 + 1e-9))                   # outside it
        queries += [near, far, dict(row, EXTVER=3), dict(row, WCS_ID="OTHER"),
                    dict(row, WCS_ID=row["WCS_ID"] + " ")]
    # a key that has many rows: values of one recorded row, key of another
    queries += [dict(rows[i], WCS_ID=rows[j]["WCS_ID"], EXTVER=rows[j]["EXTVER"])
                for i, j in rng.integers(0, 300, (60, 2))]
    got = [row in recorded for row in queries]
    assert got == [_recorded_linear(table, row) for row in queries]
    assert any(got) and not all(got)
    assert not any(row in recorded for row in rows if np.isnan(row["CRVAL1"]))
    fresh = wcscorr._RecordedRows(wcscorr.create_wcscorr(descrip=True, numrows=1))
    assert rows[0] not in fresh
