"""Resolution of jref$-style reference-file names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stwcs_ng.errors import ReferenceFileError
from stwcs_ng.updatewcs.reffiles import check_reference, is_blank_reference, resolve_reference


@pytest.mark.parametrize("value", ["", "  ", "N/A", "n/a", "NONE", "INDEF", None])
def test_blank_values(value):
    assert is_blank_reference(value)


def test_not_blank():
    assert not is_blank_reference("jref$x_idc.fits")


@pytest.mark.parametrize("folder", ["refs", "refs/"])
def test_resolve_with_and_without_trailing_slash(tmp_path, folder):
    env = {"jref": str(tmp_path / folder)}
    path = resolve_reference("jref$abc_idc.fits", environ=env)
    assert path == tmp_path / "refs" / "abc_idc.fits"


@pytest.mark.parametrize("prefix", ["jref", "iref", "uref", "oref", "nref"])
def test_every_hst_prefix(tmp_path, prefix):
    (tmp_path / "x.fits").write_bytes(b"x")
    assert check_reference(f"{prefix}$x.fits", environ={prefix: str(tmp_path)}) == \
        tmp_path / "x.fits"


def test_plain_path_is_used_as_given(tmp_path):
    f = tmp_path / "local_idc.fits"
    f.write_bytes(b"x")
    assert check_reference(str(f), environ={}) == f


def test_unset_variable_names_the_variable():
    with pytest.raises(ReferenceFileError, match="'jref'.*not set") as info:
        resolve_reference("jref$abc_idc.fits", environ={}, keyword="IDCTAB", filename="a.fits")
    assert info.value.filename == "a.fits"
    assert isinstance(info.value, OSError)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(ReferenceFileError, match="abc_idc.fits.*does not exist"):
        check_reference("jref$abc_idc.fits", environ={"jref": str(tmp_path)}, keyword="IDCTAB")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX non-root")
def test_unreadable_file(tmp_path):
    f = tmp_path / "abc_idc.fits"
    f.write_bytes(b"x")
    f.chmod(0)
    try:
        with pytest.raises(ReferenceFileError, match="not a readable file"):
            check_reference("jref$abc_idc.fits", environ={"jref": str(tmp_path)})
    finally:
        f.chmod(0o644)


def test_blank_name_is_an_error():
    with pytest.raises(ReferenceFileError):
        resolve_reference("N/A", environ={})


def test_default_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("jref", str(tmp_path) + "/")
    assert resolve_reference("jref$q.fits") == Path(tmp_path) / "q.fits"
