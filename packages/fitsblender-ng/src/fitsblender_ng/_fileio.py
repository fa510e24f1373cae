"""Atomic FITS writes: temp file in the same directory, fsync, verify, ``os.replace``.

fitsblender-ng does not depend on stwcs-ng, so it keeps this small
equivalent of ``stwcs_ng.fileio.atomic_write``.  A failed write leaves the
target byte-identical and removes the temporary file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from pathlib import Path

from astropy.io import fits

from .errors import FileUpdateError

__all__ = ["atomic_write", "check_writable", "incomplete_reason"]

log = logging.getLogger(__name__)


def check_writable(path: str | Path) -> Path:
    """Fail early when ``path`` cannot be (re)written.

    Parameters
    ----------
    path : str or Path
        The file to be written or replaced.

    Returns
    -------
    Path
        ``path`` as a Path.

    Raises
    ------
    FileUpdateError
        If the file exists and is read-only, or its directory is missing or
        not writable.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileUpdateError("directory does not exist", filename=str(path))
    if path.exists() and not os.access(path, os.W_OK):
        raise FileUpdateError("file is read-only", filename=str(path))
    if not os.access(parent, os.W_OK):
        raise FileUpdateError("directory is not writable", filename=str(path))
    return path


_BLOCK = 2880
_CARD = 80


def _card_int(text: str) -> int | None:
    value = text.split("/", 1)[0].strip()
    try:
        return int(value)
    except ValueError:
        return None


def _read_header(fh, offset: int) -> tuple[dict[str, str], int] | None:
    """Value texts of the cards of the header at ``offset`` and its length in bytes.

    None when the header has no ``END`` card before the end of the file.
    """
    fh.seek(offset)
    cards: dict[str, str] = {}
    length = 0
    while True:
        block = fh.read(_BLOCK)
        if len(block) < _BLOCK:
            return None
        length += _BLOCK
        text = block.decode("ascii", errors="replace")
        for i in range(0, _BLOCK, _CARD):
            card = text[i:i + _CARD]
            key = card[:8].rstrip()
            if key == "END":
                return cards, length
            if card[8:10] == "= " and key not in cards:
                cards[key] = card[10:]


def _data_bytes(cards: dict[str, str]) -> int | None:
    """Declared data size (unpadded) of one HDU, from its header cards; None if undefined."""
    bitpix = _card_int(cards.get("BITPIX", ""))
    naxis = _card_int(cards.get("NAXIS", ""))
    if bitpix not in (8, 16, 32, 64, -32, -64) or naxis is None or not 0 <= naxis <= 999:
        return None
    if naxis == 0:
        return 0
    dims = [_card_int(cards.get(f"NAXIS{i}", "")) for i in range(1, naxis + 1)]
    if any(d is None or d < 0 for d in dims):
        return None
    groups = cards.get("GROUPS", "").split("/", 1)[0].strip() == "T"
    if groups and dims[0] == 0:  # random groups: NAXIS1 = 0 is not a dimension
        dims = dims[1:]
    pcount = _card_int(cards.get("PCOUNT", "0")) or 0
    gcount = _card_int(cards.get("GCOUNT", "1"))
    gcount = 1 if gcount is None else gcount
    count = 1
    for d in dims:
        count *= d
    return abs(bitpix) // 8 * gcount * (pcount + count)


def incomplete_reason(path: str | Path) -> str | None:
    """Why a FITS file is shorter than its headers declare, or None when it is complete.

    Only the headers are read (one seek per HDU): the file must hold every
    header and every HDU's declared data (``|BITPIX|/8 * GCOUNT * (PCOUNT +
    NAXIS1*...*NAXISn)`` bytes) padded to whole 2880-byte blocks, as the FITS
    standard writes them, and its size must be a multiple of 2880 bytes.
    Whole blocks after the last HDU that do not start an ``XTENSION`` header
    are ignored (as FITS readers do).  A file cut exactly after one of its
    HDUs is a complete, shorter FITS file and cannot be told from one.

    Parameters
    ----------
    path : str or Path
        An existing file.

    Returns
    -------
    str or None
        A plain-words description of the problem (empty file, header without
        ``END``, data cut short), or None.

    Raises
    ------
    OSError
        If the file cannot be opened or read.
    """
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        return "empty file (0 bytes)"
    offset = 0
    index = 0
    with open(path, "rb") as fh:
        while offset < size:
            fh.seek(offset)
            start = fh.read(10)
            if index == 0 and start != b"SIMPLE  = ":
                return "not a FITS file (it does not start with a SIMPLE card)"
            if index > 0 and start != b"XTENSION= ":
                break  # trailing bytes after the last HDU
            header = _read_header(fh, offset)
            if header is None:
                return (f"truncated: the header of HDU {index} has no END card before the "
                        f"end of the file ({size} bytes)")
            cards, hlen = header
            nbytes = _data_bytes(cards)
            if nbytes is None:
                return f"HDU {index} declares no valid BITPIX/NAXISn data size"
            padded = -(-nbytes // _BLOCK) * _BLOCK
            end = offset + hlen + padded
            if end > size:
                return (f"truncated: HDU {index} declares {nbytes} bytes of data, the file "
                        f"ends {end - size} bytes short of its end ({size} of {end} bytes)")
            offset = end
            index += 1
    if size % _BLOCK:
        return (f"truncated: its size ({size} bytes) is not a multiple of 2880 (a partial "
                f"block after HDU {index - 1})")
    return None


def atomic_write(hdulist: fits.HDUList, path: str | Path) -> Path:
    """Write ``hdulist`` to ``path`` atomically.

    The list is written to a temporary file next to ``path`` (cards that
    astropy can fix are fixed, with its warnings), flushed and fsynced,
    re-opened and verified, and then moved over ``path`` with ``os.replace``.
    An existing file keeps its permission bits.

    Parameters
    ----------
    hdulist : astropy.io.fits.HDUList
        What to write.
    path : str or Path
        Destination.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    FileUpdateError
        If the destination is not writable, or writing or verifying fails; the
        destination is then unchanged.
    """
    path = check_writable(path)
    parent = path.parent if str(path.parent) else Path(".")
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise FileUpdateError(f"cannot create a temporary file in {str(parent)!r} ({exc}); "
                              "nothing was changed", filename=str(path)) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            hdulist.writeto(fh, output_verify="fix")
            fh.flush()
            os.fsync(fh.fileno())
        _verify(tmp, len(hdulist))
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except FileUpdateError:
        _discard(tmp)
        raise
    except Exception as exc:  # a short write surfaces as astropy's AttributeError
        _discard(tmp)
        raise FileUpdateError(f"could not write ({type(exc).__name__}: {exc})",
                              filename=str(path)) from exc
    with contextlib.suppress(OSError):
        dir_fd = os.open(parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    log.debug("wrote %s", path)
    return path


def _verify(tmp: Path, n_hdus: int) -> None:
    try:
        with fits.open(tmp, memmap=True, do_not_scale_image_data=True) as check:
            if len(check) != n_hdus:
                raise FileUpdateError(f"verification found {len(check)} HDUs, expected {n_hdus}",
                                      filename=str(tmp))
            check.verify("exception")
            for hdu in check:
                _ = hdu.data
    except FileUpdateError:
        raise
    except (OSError, ValueError, TypeError, fits.VerifyError) as exc:
        raise FileUpdateError(f"written file does not verify: {exc}", filename=str(tmp)) from exc


def _discard(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        tmp.unlink()
