"""Headerlets on the real WFC3 samples (HDRLET extensions written by the STScI pipeline)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from stwcs_ng.fileio import atomic_write, read_fits
from stwcs_ng.wcsutil import headerlet as hlmod
from stwcs_ng.wcsutil._hdrlet_hdu import HeaderletHDU, hdrlet_bytes
from stwcs_ng.wcsutil.headerlet import (
    Headerlet,
    apply_headerlet_as_primary,
    extract_headerlet,
    headerlet_summary,
    restore_from_headerlet,
)
from stwcs_ng.wcsutil.hstwcs import HSTWCS

pytestmark = pytest.mark.hstdata

ROOT = Path(__file__).resolve().parents[3]
HST = ROOT.parent / "shared" / "data" / "hst"
SAMPLES = {"flc": ("sample_ipppssoot_flc.fits", (1, 2)),
           "flt": ("sample_ipppssoot_flt.fits", (1,))}
_X, _Y = np.meshgrid(np.arange(1.0, 11.0), np.arange(1.0, 11.0))


def _sample(kind: str) -> Path:
    path = HST / SAMPLES[kind][0]
    if not path.is_file():
        pytest.skip(f"real HST sample {path.name} not available")
    return path


def _raw_hdrlets(path: Path) -> list[tuple[int, fits.Header, bytes]]:
    """HDRLET extensions read independently of our code: (index, header, data bytes)."""
    out = []
    raw = path.read_bytes()
    with fits.open(path) as hdul:
        for i, hdu in enumerate(hdul):
            if str(hdu.header.get("XTENSION", "")).strip() == "HDRLET":
                info = hdul.fileinfo(i)
                n = hdu.header["NAXIS1"]
                out.append((i, hdu.header.copy(), raw[info["datLoc"]:info["datLoc"] + n]))
    return out


def _hdrlet_ids(kind: str) -> list:
    """Every HDRLET of a sample; all but the first and last are marked slow."""
    path = HST / SAMPLES[kind][0]
    if not path.is_file():
        return [(kind, -1)]
    idx = [i for i, _, _ in _raw_hdrlets(path)]
    return [(kind, i) if i in (idx[0], idx[-1]) else pytest.param(kind, i, marks=pytest.mark.slow)
            for i in idx]


def _sky_file(path: Path, extvers) -> list[np.ndarray]:
    with fits.open(path) as hdul:
        return [np.array(HSTWCS(hdul, ext=("SCI", v)).all_pix2world(_X, _Y, 1)) for v in extvers]


def _sky_hlet(hl: Headerlet, extvers) -> list[np.ndarray]:
    return [np.array(hl.wcs(v).all_pix2world(_X, _Y, 1)) for v in extvers]


def _max_diff(a, b) -> float:
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b, strict=True))


def _pixels(path: Path) -> dict[str, bytes]:
    with fits.open(path) as hdul:
        return {f"{h.name},{h.ver}": h.data.tobytes() for h in hdul
                if h.name in ("SCI", "ERR", "DQ", "SAMP", "TIME")}


@pytest.mark.parametrize("kind", ["flc", "flt"])
def test_open_gives_headerlet_hdus(kind):
    path = _sample(kind)
    with fits.open(path) as hdul:
        hdrlets = [h for h in hdul if h.name == "HDRLET"]
        assert hdrlets
        for h in hdrlets:  # whatever HDU class astropy chose (ours, or stwcs's)
            hl = Headerlet.fromhdu(h)
            assert hl.destim == hdul[0].header["ROOTNAME"].strip()
            assert hl.sipwcs_indices()


@pytest.mark.parametrize("kind", ["flc", "flt"])
def test_summary_lists_every_hdrlet(kind, capsys):
    path = _sample(kind)
    expected = _raw_hdrlets(path)
    table = headerlet_summary(str(path), quiet=False)
    printed = capsys.readouterr().out
    assert list(table["EXTN"]) == [i for i, _, _ in expected]
    for row, (_, header, _) in zip(table, expected, strict=True):
        for col in ("HDRNAME", "WCSNAME", "DISTNAME"):
            assert row[col] == header[col].strip()
        assert row["HDRNAME"][:20] in printed


@pytest.mark.parametrize("kind", ["flc", "flt"])
def test_read_fits_and_atomic_write_keep_hdrlets(kind, tmp_path):
    """With the HDRLET class registered, fileio copies keep HDRLET bytes exactly."""
    path = _sample(kind)
    with fits.open(path) as hdul:
        if not isinstance(hdul["HDRLET", 1], HeaderletHDU):
            pytest.skip("another HDRLET class (the original stwcs) was registered later in "
                        "this process; fileio copies then depend on that class")
    out = tmp_path / "copy.fits"
    atomic_write(read_fits(path), out)
    before = [(h.tostring(), data) for _, h, data in _raw_hdrlets(path)]
    after = [(h.tostring(), data) for _, h, data in _raw_hdrlets(out)]
    assert after == before


@pytest.mark.parametrize(("kind", "index"), _hdrlet_ids("flc") + _hdrlet_ids("flt"))
def test_extract_apply_restore(kind, index, tmp_path):
    src = _sample(kind)
    extvers = SAMPLES[kind][1]
    work = tmp_path / src.name
    work.write_bytes(src.read_bytes())
    sky0 = _sky_file(src, extvers)
    pix0 = _pixels(src)

    # extract: the file holds the embedded headerlet, byte for byte
    out = extract_headerlet(str(work), tmp_path / "h.fits", extnum=index)
    hl = Headerlet.fromfile(out)
    embedded = dict((i, data) for i, _, data in _raw_hdrlets(src))[index]
    with fits.open(out) as a, fits.open(__import__("io").BytesIO(embedded)) as b:
        assert [h.header.tostring() for h in a] == [h.header.tostring() for h in b]
    assert work.read_bytes() == src.read_bytes()  # extracting changes nothing

    # apply as primary: HSTWCS of the file equals the headerlet alone
    archived = apply_headerlet_as_primary(str(work), out)[0]
    assert archived is not None
    assert _max_diff(_sky_file(work, extvers), _sky_hlet(hl, extvers)) < 1e-9
    assert _pixels(work) == pix0
    with fits.open(work) as hdul:
        assert hdul["SCI", 1].header["HDRNAME"] == hl.hdrname
        assert hdul[0].header["NEXTEND"] == len(hdul) - 1

    # restore the archived previous WCS: the original positions come back
    restore_from_headerlet(str(work), hdrname=archived)
    assert _max_diff(_sky_file(work, extvers), sky0) < 1e-9
    assert _pixels(work) == pix0


def test_pipeline_hdrlets_without_extver_are_usable(tmp_path):
    """HDRLETs lacking EXTVER (written by some STWCS versions) are listed and selected."""
    src = _sample("flt")
    with fits.open(src) as hdul:  # copy HDRLETs by their bytes: any registered class works
        copy = fits.HDUList([HeaderletHDU(data=hdrlet_bytes(h), header=h.header.copy())
                             if h.name == "HDRLET" else h.copy() for h in hdul])
    first = next(i for i, h in enumerate(copy) if h.name == "HDRLET")
    del copy[first].header["EXTVER"]
    path = tmp_path / "noextver.fits"
    copy.writeto(path)
    table = headerlet_summary(str(path), quiet=True)
    assert first in list(table["EXTN"])
    name = table["HDRNAME"][0]
    assert hlmod.find_headerlet_HDUs(str(path), hdrname=name) == [first]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    hlmod.extract_headerlet(str(path), tmp_path / "x.fits", hdrname=name)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
