"""The ``HDRLET`` FITS extension: a complete headerlet file embedded in a science file.

On-disk layout (the one STWCS writes, so files round-trip between the two
packages)::

    XTENSION= 'HDRLET'   non-standard extension
    BITPIX  = 8
    NAXIS   = 1
    NAXIS1  = <byte length of the embedded FITS file>
    PCOUNT  = 0
    GCOUNT  = 1
    XIND1.. = <byte offset of embedded HDU 1, 2, ...> (0 in files written by old STWCS)
    COMPRESS= F          (T: the embedded file is gzip-compressed)
    HDRNAME, DATE, SIPNAME, WCSNAME, DISTNAME, NPOLFILE, D2IMFILE
    EXTNAME = 'HDRLET'
    EXTVER  = n

The data part is the embedded file's bytes, padded with zeros to a multiple
of 2880 bytes like any FITS data.

This module only defines the HDU class; :mod:`stwcs_ng.wcsutil.headerlet`
registers it with astropy (see the note there).  Every function of stwcs-ng
that reads HDRLET extensions goes through :func:`hdrlet_bytes`, which works
with *any* HDU class astropy chose for the extension (ours, the original
STWCS class when ``stwcs`` is imported in the same process, or astropy's
generic :class:`~astropy.io.fits.hdu.base.NonstandardExtHDU`).
"""

from __future__ import annotations

import gzip
import io
import warnings
import zlib
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.io.fits.hdu.base import DELAYED

from ..errors import HeaderletError

__all__ = ["HeaderletHDU", "is_hdrlet_hdu", "hdrlet_bytes", "build_hdrlet_hdu", "fit_comment"]

#: Cards copied from the embedded primary header to the HDRLET header, with comments.
_SUMMARY_CARDS = (
    ("HDRNAME", "Headerlet name"),
    ("DATE", "Date FITS file was generated"),
    ("SIPNAME", "SIP distortion model name"),
    ("WCSNAME", "WCS name"),
    ("DISTNAME", "Distortion model name"),
    ("NPOLFILE", "origin of non-polynomial distortion model"),
    ("D2IMFILE", "origin of detector to image correction"),
)


def _pad(n: int) -> int:
    return (-n) % 2880


def fit_comment(value, comment: str) -> str:
    """``comment``, or ``''`` when value and comment do not fit on one 80-char card."""
    if isinstance(value, str) and len(value.replace("'", "''")) + len(comment) > 64:
        return ""
    return comment


class HeaderletHDU(fits.FitsHDU):
    """A ``XTENSION='HDRLET'`` extension holding a complete headerlet FITS file.

    Unlike astropy's generic non-standard HDU, this class keeps its data when
    copied (``hdu.copy()``) or built in memory, and gives the embedded file
    as :attr:`hdulist` (decompressed when ``COMPRESS=T``).

    Parameters
    ----------
    data : bytes, bytearray or uint8 ndarray, optional
        The raw bytes of the data part (the embedded file, compressed or not).
    header : astropy.io.fits.Header, optional
        The extension header.
    name, ver : optional
        EXTNAME / EXTVER.
    **kwargs
        Passed to astropy.
    """

    _extension = "HDRLET"

    def __init__(self, data: Any = None, header: fits.Header | None = None,
                 name: str | None = None, ver: int | None = None, **kwargs: Any) -> None:
        explicit = data is not None and data is not DELAYED
        super().__init__(data=None if explicit else data, header=header, name=name,
                         ver=ver, **kwargs)
        if explicit:
            if isinstance(data, np.ndarray):
                raw = np.ascontiguousarray(data).view(np.uint8).ravel().copy()
            else:
                raw = np.frombuffer(bytes(data), dtype=np.uint8).copy()
            hdr = self._header
            for kw, value in (("XTENSION", self._extension), ("BITPIX", 8), ("NAXIS", 1)):
                if hdr.get(kw) != value:
                    hdr[kw] = value
            hdr["NAXIS1"] = raw.size
            hdr.setdefault("PCOUNT", 0)
            hdr.setdefault("GCOUNT", 1)
            self.__dict__["data"] = raw

    @property
    def hdulist(self) -> fits.HDUList:
        """The embedded file, read fully into memory (decompressed if needed)."""
        return fits.HDUList([h.copy() for h in _open_embedded(hdrlet_bytes(self), self.header)])

    @property
    def headerlet(self):
        """The embedded file as a :class:`~stwcs_ng.wcsutil.headerlet.Headerlet`."""
        from .headerlet import Headerlet

        return Headerlet.fromhdu(self)

    @classmethod
    def fromheaderlet(cls, headerlet: fits.HDUList, compress: bool = False) -> HeaderletHDU:
        """Build the extension from a headerlet (see :func:`build_hdrlet_hdu`).

        Parameters
        ----------
        headerlet : astropy.io.fits.HDUList
            A headerlet.
        compress : bool, optional
            Gzip the embedded file.

        Returns
        -------
        HeaderletHDU
        """
        return build_hdrlet_hdu(headerlet, compress=compress)

    def _summary(self):
        return (self.name, self.ver, self.__class__.__name__, len(self._header),
                (int(self._header.get("NAXIS1", 0)),))


def is_hdrlet_hdu(hdu: Any) -> bool:
    """True if ``hdu`` is a HDRLET extension (whatever class astropy gave it).

    Parameters
    ----------
    hdu : astropy HDU

    Returns
    -------
    bool
    """
    header = getattr(hdu, "header", None)
    if header is None:
        return False
    return str(header.get("XTENSION", "")).strip().upper() == "HDRLET"


def hdrlet_bytes(hdu: Any, *, filename: str | None = None, extension: Any = None) -> bytes:
    """The raw data part of a HDRLET extension (the embedded file, maybe gzipped).

    Parameters
    ----------
    hdu : astropy HDU
        A HDRLET extension of any class.
    filename, extension : optional
        For error messages.

    Returns
    -------
    bytes
        Exactly ``NAXIS1`` bytes.

    Raises
    ------
    HeaderletError
        If the data cannot be read (truncated file) or was lost (an HDU
        copied by an astropy class that drops non-standard data).
    """
    try:
        data = hdu.data
    except (OSError, ValueError, TypeError, IndexError) as exc:
        raise HeaderletError(f"HDRLET extension data cannot be read ({exc})",
                             filename=filename, extension=extension) from exc
    if data is None:
        raise HeaderletError("HDRLET extension has no data (lost when the HDU was copied "
                             "without the headerlet HDU class registered)",
                             filename=filename, extension=extension)
    raw = np.asarray(data).view(np.uint8).ravel().tobytes()
    try:
        n = int(hdu.header.get("NAXIS1", len(raw)))
    except (TypeError, ValueError):
        n = len(raw)
    if len(raw) < n:
        raise HeaderletError(f"HDRLET extension is truncated ({len(raw)} of {n} bytes)",
                             filename=filename, extension=extension)
    return raw[:n]


def _open_embedded(raw: bytes, header: fits.Header, *, filename: str | None = None,
                   extension: Any = None) -> fits.HDUList:
    """Open the embedded file of a HDRLET extension (in memory, fully read)."""
    if header.get("COMPRESS", False) or raw[:2] == b"\x1f\x8b":
        try:
            # one gzip member followed by the zero padding of the FITS data block
            inflater = zlib.decompressobj(wbits=31)
            raw = inflater.decompress(raw)
            if not inflater.eof:
                raise EOFError("compressed data end before the end-of-stream marker")
        except (OSError, EOFError, zlib.error) as exc:
            raise HeaderletError(f"compressed HDRLET extension cannot be decompressed ({exc})",
                                 filename=filename, extension=extension) from exc
    if not raw.startswith(b"SIMPLE  ="):
        raise HeaderletError("HDRLET extension does not hold a FITS file (corrupt data)",
                             filename=filename, extension=extension)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)
            hdul = fits.open(io.BytesIO(raw), memmap=False, lazy_load_hdus=False)
            hdul.readall()
            for hdu in hdul:  # touch the data so truncation shows here
                _ = hdu.data
    except (OSError, ValueError, TypeError, IndexError, KeyError) as exc:
        raise HeaderletError(f"HDRLET extension holds a corrupt FITS file ({exc})",
                             filename=filename, extension=extension) from exc
    if len(hdul) < 2:
        raise HeaderletError("HDRLET extension holds no SIPWCS extension (corrupt headerlet)",
                             filename=filename, extension=extension)
    return hdul


def build_hdrlet_hdu(headerlet: fits.HDUList, *, compress: bool = False,
                     extver: int | None = None) -> HeaderletHDU:
    """Serialise a headerlet into a HDRLET extension, in the STWCS layout.

    Parameters
    ----------
    headerlet : astropy.io.fits.HDUList
        The headerlet (primary header with HDRNAME, WCSNAME, ...).
    compress : bool, optional
        Gzip the embedded file (``COMPRESS=T``); deterministic (mtime 0).
    extver : int, optional
        EXTVER of the new extension.

    Returns
    -------
    HeaderletHDU
    """
    buf = io.BytesIO()
    fits.HDUList([h.copy() for h in headerlet]).writeto(buf)
    plain = buf.getvalue()
    with fits.open(io.BytesIO(plain), memmap=False) as reread:
        offsets = [int(reread.fileinfo(i)["hdrLoc"]) for i in range(1, len(reread))]
    payload = gzip.compress(plain, mtime=0) if compress else plain
    payload += b"\0" * _pad(len(payload))
    primary = headerlet[0].header
    cards = [
        ("XTENSION", "HDRLET", "FITS extension"),
        ("BITPIX", 8, "array data type"),
        ("NAXIS", 1, "number of array dimensions"),
        ("NAXIS1", len(payload), "Axis length"),
        ("PCOUNT", 0, "number of parameters"),
        ("GCOUNT", 1, "number of groups"),
    ]
    cards += [(f"XIND{i + 1}", off, f"byte offset of extension {i + 1}")
              for i, off in enumerate(offsets)]
    cards.append(("COMPRESS", bool(compress), "Uses gzip compression"))
    for kw, comment in _SUMMARY_CARDS:
        if kw == "SIPNAME":
            value = primary.get("SIPNAME", primary.get("WCSNAME", ""))
        else:
            value = primary.get(kw, "")
        cards.append((kw, value, fit_comment(value, comment)))
    cards.append(("EXTNAME", "HDRLET", "Extension name"))
    if extver is not None:
        cards.append(("EXTVER", int(extver), "Extension version"))
    return HeaderletHDU(data=payload, header=fits.Header(cards))
