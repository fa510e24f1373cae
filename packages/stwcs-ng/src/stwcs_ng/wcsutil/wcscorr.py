"""The WCSCORR table: a history of the WCS solutions applied to an exposure.

A binary-table extension ``EXTNAME='WCSCORR'``, ``EXTVER=1`` with one row per
(WCS, chip); the header keyword ``TROWS`` counts the rows in use, the rest are
blank padding ready for later updates.  The column layout is the original
STWCS one (ORIGINALS section 5) so that files round-trip between the two
packages.

All functions that change a file take a file name (updated atomically
through :func:`stwcs_ng.fileio.atomic_update`) or an open HDUList (modified in
memory; the caller writes it).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from astropy.io import fits

from ..errors import HeaderError, MissingExtensionError, WCSKeyError
from . import altwcs
from ._ext import extension_indices, open_input, update_input
from ._names import build_d2imname, build_npolname, build_sipname

log = logging.getLogger(__name__)

__all__ = [
    "WCSCORR_COLUMNS",
    "create_wcscorr",
    "init_wcscorr",
    "update_wcscorr",
    "archive_wcs_file",
    "restore_file_from_wcscorr",
    "find_wcscorr_row",
    "delete_wcscorr_row",
    "update_wcscorr_column",
    "wcscorr_rows",
]

#: ``(name, TFORM, padding default)`` of every column, in order.
WCSCORR_COLUMNS: tuple[tuple[str, str, Any], ...] = (
    ("WCS_ID", "40A", ""),
    ("EXTVER", "I", 0),
    ("WCS_key", "A", ""),
    ("HDRNAME", "24A", ""),
    ("SIPNAME", "24A", ""),
    ("NPOLNAME", "24A", ""),
    ("D2IMNAME", "24A", ""),
    ("CRVAL1", "D", 0.0),
    ("CRVAL2", "D", 0.0),
    ("CRPIX1", "D", 0.0),
    ("CRPIX2", "D", 0.0),
    ("CD1_1", "D", 1.0),
    ("CD1_2", "D", 0.0),
    ("CD2_1", "D", 0.0),
    ("CD2_2", "D", 1.0),
    ("CTYPE1", "24A", ""),
    ("CTYPE2", "24A", ""),
    ("ORIENTAT", "D", 0.0),
    ("PA_V3", "D", 0.0),
    ("RMS_RA", "D", 0.0),
    ("RMS_Dec", "D", 0.0),
    ("NMatch", "J", 0),
    ("Catalog", "40A", ""),
    ("DESCRIP", "128A", ""),
)
_OPUS_DESCRIP = "Original WCS computed by OPUS"
_EXTNAME = "WCSCORR"


def _blank_row(descrip: bool) -> dict[str, Any]:
    return {name: default for name, _, default in WCSCORR_COLUMNS
            if descrip or name != "DESCRIP"}


def create_wcscorr(descrip: bool = False, numrows: int = 1, padding: int = 0) -> fits.BinTableHDU:
    """Create an empty WCSCORR table.

    Parameters
    ----------
    descrip : bool, optional
        Include the ``DESCRIP`` column (``init_wcscorr`` always does).
    numrows : int, optional
        Rows prepared for the OPUS WCS of chips 1..numrows (``WCS_ID='OPUS'``,
        ``WCS_key='O'``, ``EXTVER`` = row number); these count in ``TROWS``.
    padding : int, optional
        Extra blank rows.

    Returns
    -------
    astropy.io.fits.BinTableHDU
    """
    if numrows < 0 or padding < 0:
        raise ValueError("numrows and padding must be >= 0")
    total = numrows + padding
    cols = []
    for name, tform, default in WCSCORR_COLUMNS:
        if name == "DESCRIP" and not descrip:
            continue
        if tform.endswith("A"):
            arr = np.array([default] * total, dtype=f"S{tform[:-1] or 1}")
        elif tform == "I":
            arr = np.full(total, default, dtype=np.int16)
        elif tform == "J":
            arr = np.full(total, default, dtype=np.int32)
        else:
            arr = np.full(total, default, dtype=np.float64)
        if name == "WCS_ID":
            arr[:numrows] = b"OPUS"
        elif name == "EXTVER":
            arr[:numrows] = np.arange(1, numrows + 1)
        elif name == "WCS_key":
            arr[:numrows] = b"O"
        elif name == "DESCRIP":
            arr[:numrows] = _OPUS_DESCRIP.encode()
        cols.append(fits.Column(name=name, format=tform, array=arr))
    hdu = fits.BinTableHDU.from_columns(cols)
    hdu.header["EXTNAME"] = (_EXTNAME, "Table with WCS Update history")
    hdu.header["EXTVER"] = 1
    hdu.header["TROWS"] = (numrows, "Number of updated rows in table")
    return hdu


def _is_drizzled(primary: fits.Header) -> bool:
    return "NDRIZIM" in primary or "D001DATA" in primary


def _wcscorr_index(hdul: fits.HDUList) -> int | None:
    for i, hdu in enumerate(hdul):
        if str(hdu.header.get("EXTNAME", "")).strip().upper() == _EXTNAME:
            return i
    return None


def _row_values(hdul: fits.HDUList, sci: fits.Header, key: str, wcs_id: str | None = None,
                descrip: str = "") -> dict[str, Any]:
    """Column values describing WCS ``key`` of one SCI header."""
    primary = hdul[0].header
    kw = dict((b, v) for b, v, _ in altwcs.linear_wcs_keywords(sci, key))
    cd = altwcs.cd_matrix(sci, key)

    def num(name: str, default: float = 0.0) -> float:
        value = kw.get(name, sci.get(altwcs._kw(name, key), default))
        try:
            return float(value)
        except (TypeError, ValueError):
            raise HeaderError(f"{altwcs._kw(name, key)}={value!r} is not a number") from None

    name = wcs_id or str(kw.get("WCSNAME", "")).strip() or ("OPUS" if key == "O" else "")
    orientat = math.degrees(math.atan2(cd[0, 1], cd[1, 1])) if cd.shape[0] >= 2 else 0.0
    rms_ra = sci.get(altwcs._kw("RMS_RA", key), sci.get(altwcs._kw("CRDER1", key), 0.0))
    rms_dec = sci.get(altwcs._kw("RMS_DEC", key), sci.get(altwcs._kw("CRDER2", key), 0.0))
    return {
        "WCS_ID": name,
        "EXTVER": int(sci.get("EXTVER", 1)),
        "WCS_key": key.strip(),
        "HDRNAME": str(sci.get(altwcs._kw("HDRNAME", key), "")).strip(),
        "SIPNAME": build_sipname(primary, sci),
        "NPOLNAME": build_npolname(primary),
        "D2IMNAME": build_d2imname(primary),
        "CRVAL1": num("CRVAL1"), "CRVAL2": num("CRVAL2"),
        "CRPIX1": num("CRPIX1"), "CRPIX2": num("CRPIX2"),
        "CD1_1": float(cd[0, 0]), "CD1_2": float(cd[0, 1]),
        "CD2_1": float(cd[1, 0]), "CD2_2": float(cd[1, 1]),
        "CTYPE1": str(kw.get("CTYPE1", "")).strip(),
        "CTYPE2": str(kw.get("CTYPE2", "")).strip(),
        "ORIENTAT": orientat,
        "PA_V3": float(primary.get("PA_V3", 0.0) or 0.0),
        "RMS_RA": float(rms_ra or 0.0),
        "RMS_Dec": float(rms_dec or 0.0),
        "NMatch": int(sci.get(altwcs._kw("NMATCH", key), 0) or 0),
        "Catalog": str(sci.get(altwcs._kw("CATALOG", key), "")).strip(),
        "DESCRIP": descrip,
    }


def wcscorr_rows(table: fits.BinTableHDU) -> int:
    """Number of rows in use (``TROWS``, or every row when absent).

    Parameters
    ----------
    table : astropy.io.fits.BinTableHDU
        The WCSCORR table.

    Returns
    -------
    int
    """
    return int(table.header.get("TROWS", len(table.data) if table.data is not None else 0))


def _set_row(table: fits.BinTableHDU, irow: int, values: Mapping[str, Any]) -> None:
    names = table.columns.names
    for name, value in values.items():
        if name in names:
            table.data[name][irow] = value


def _append_rows(table: fits.BinTableHDU, rows: list[dict[str, Any]]) -> fits.BinTableHDU:
    """Write ``rows`` after the used ones, growing the table when needed; return the table."""
    used = wcscorr_rows(table)
    capacity = len(table.data)
    if used + len(rows) > capacity:
        grown = fits.BinTableHDU.from_columns(table.columns, nrows=used + len(rows),
                                              header=table.header)
        blank = _blank_row("DESCRIP" in table.columns.names)
        for irow in range(capacity, used + len(rows)):
            _set_row(grown, irow, blank)
        table = grown
    for k, row in enumerate(rows):
        _set_row(table, used + k, row)
    table.header["TROWS"] = (used + len(rows), "Number of updated rows in table")
    return table


def init_wcscorr(hdulist: Any, force: bool = False) -> None:
    """Create the WCSCORR table of an exposure.

    Skipped for drizzled products (``NDRIZIM`` or ``D001DATA`` in the primary
    header) and when the table exists (unless ``force``).  The first rows
    hold the OPUS WCS (key ``O``) of each chip; if a chip has no key ``O``
    its primary WCS is archived as ``O``/``OPUS`` first.  Then one row per
    other alternate WCS per chip.  Padding: ``nsci * numwcs + 4 * nsci`` rows.

    Parameters
    ----------
    hdulist : str or HDUList
        File name (updated atomically) or open HDUList (modified in memory).
    force : bool, optional
        Replace an existing table.

    Raises
    ------
    MissingExtensionError
        If the file has no SCI extension.
    InputFileError, FileUpdateError
    """
    with update_input(hdulist) as (hdul, name, _):
        primary = hdul[0].header
        if _is_drizzled(primary):
            log.info("%s is a drizzled product; no WCSCORR table", name or "input")
            return
        existing = _wcscorr_index(hdul)
        if existing is not None and not force:
            log.debug("WCSCORR table already present in %s", name or "input")
            return
        sci = extension_indices(hdul, None, extname="SCI", filename=name)
        sci = [i for i in sci if i != 0]
        if not sci:
            raise MissingExtensionError("no SCI extension", filename=name)
        if existing is not None:
            del hdul[existing]
            sci = [i - 1 if i > existing else i for i in sci]
        for i in sci:
            header = hdul[i].header
            if altwcs.OPUS_KEY not in altwcs.wcskeys(header):
                altwcs.archive_header_wcs(header, altwcs.OPUS_KEY, "OPUS",
                                          mode=altwcs.ArchiveMode.OVERWRITE_KEY)
        alt_keys = [k for k in altwcs.wcskeys(hdul[sci[0]].header) if k not in (" ", "O")]
        nsci = len(sci)
        table = create_wcscorr(descrip=True, numrows=0,
                               padding=nsci + nsci * len(alt_keys) + 4 * nsci)
        rows = [_row_values(hdul, hdul[i].header, "O", "OPUS", _OPUS_DESCRIP) for i in sci]
        for key in alt_keys:
            for i in sci:
                if key in altwcs.wcskeys(hdul[i].header):
                    rows.append(_row_values(hdul, hdul[i].header, key))
        table = _append_rows(table, rows)
        hdul.append(table)
        log.info("created WCSCORR table with %d rows", len(rows))


_MATCH_COLUMNS = ("CRVAL1", "CRVAL2", "CD1_1", "CD1_2", "CD2_1", "CD2_2")


class _RecordedRows:
    """The used rows of a WCSCORR table, read once, to test whether a WCS is recorded.

    (Each FITS_rec slice or record made by astropy copies every column
    definition; reading the columns once keeps an update fast.)  The rows
    are grouped by ``(WCS_ID, EXTVER)``, each group's CRVAL/CD values one
    array, so a membership test is one look-up and one vectorised comparison.
    """

    def __init__(self, table: fits.BinTableHDU) -> None:
        used = wcscorr_rows(table)
        data = table.data
        ids = [str(v).strip() for v in data.field("WCS_ID")[:used]]
        extvers = [int(v) for v in data.field("EXTVER")[:used]]
        values = np.column_stack([np.asarray(data.field(c)[:used], dtype=np.float64)
                                  for c in _MATCH_COLUMNS])
        groups: dict[tuple[str, int], list[int]] = {}
        for k, key in enumerate(zip(ids, extvers, strict=True)):
            groups.setdefault(key, []).append(k)
        self.values = {key: values[rows] for key, rows in groups.items()}

    def __contains__(self, row: Mapping[str, Any]) -> bool:
        """A used row has the same WCS_ID and EXTVER and CRVAL/CD within 1e-12 (relative)."""
        recorded = self.values.get((row["WCS_ID"], row["EXTVER"]))
        if recorded is None:
            return False
        target = np.array([row[c] for c in _MATCH_COLUMNS], dtype=np.float64)
        return bool(np.isclose(recorded, target, rtol=1e-12, atol=0.0).all(axis=1).any())


def update_wcscorr(hdulist: Any, source: Any = None, extname: str = "SCI",
                   wcs_id: str | None = None, active: bool = True) -> None:
    """Append rows for the WCSs of ``source`` to the WCSCORR table of ``hdulist``.

    One row per chip for every alternate WCS (other than ``O``) not yet
    recorded, and, when ``active``, for the current primary WCS (``WCS_key``
    blank, ``WCS_ID`` = ``wcs_id`` or its WCSNAME).  The table is created
    first if absent and grows when its padding is used up.

    Parameters
    ----------
    hdulist : str or HDUList
        Destination (file name updated atomically, or HDUList in memory).
    source : str or HDUList, optional
        Where the WCSs are read; default the destination itself.
    extname : str, optional
        EXTNAME of the chips.
    wcs_id : str, optional
        ``WCS_ID`` for the primary-WCS rows.
    active : bool, optional
        Record the primary WCS.

    Raises
    ------
    MissingExtensionError
        If the source has no ``extname`` extension.
    InputFileError, FileUpdateError
    """
    with update_input(hdulist) as (hdul, name, _):
        if _is_drizzled(hdul[0].header):
            log.info("%s is a drizzled product; WCSCORR not updated", name or "input")
            return
        if _wcscorr_index(hdul) is None:
            init_wcscorr(hdul)
        if source is None:
            _update(hdul, hdul, extname, wcs_id, active, name)
        else:
            with open_input(source) as (src, sname, _):
                _update(hdul, src, extname, wcs_id, active, sname)


def _update(dest: fits.HDUList, src: fits.HDUList, extname: str, wcs_id: str | None,
            active: bool, name: str | None) -> None:
    idx = _wcscorr_index(dest)
    if idx is None:  # drizzled or no SCI: nothing to do
        return
    table = dest[idx]
    recorded = _RecordedRows(table)      # the table does not change in this loop
    chips = [i for i in extension_indices(src, str(extname), filename=name)]
    rows = []
    for i in chips:
        header = src[i].header
        present = altwcs.wcskeys(header)
        for key in [k for k in present if k not in (" ", "O")]:
            row = _row_values(src, header, key)
            if row not in recorded:
                rows.append(row)
        if active and " " in present:
            row = _row_values(src, header, " ", wcs_id)
            if row not in recorded:
                rows.append(row)
    if rows:
        dest[idx] = _append_rows(table, rows)
        log.info("appended %d rows to WCSCORR", len(rows))


def archive_wcs_file(image: Any, wcs_id: str | None = None) -> None:
    """Record the current WCSs of ``image`` in its WCSCORR table (created if needed).

    Parameters
    ----------
    image : str or HDUList
        File name (updated atomically) or HDUList (modified in memory).
    wcs_id : str, optional
        ``WCS_ID`` for the primary-WCS rows.
    """
    with update_input(image) as (hdul, _, _):
        init_wcscorr(hdul)
        update_wcscorr(hdul, wcs_id=wcs_id)


def find_wcscorr_row(wcstab: Any, selections: Mapping[str, Any] | None = None) -> np.ndarray:
    """Boolean mask of the used rows matching every ``column: value`` in ``selections``.

    Parameters
    ----------
    wcstab : BinTableHDU or FITS_rec
        The WCSCORR table.
    selections : dict, optional
        String values compare stripped and case-insensitive; ``None`` or
        blank string values are ignored.

    Returns
    -------
    ndarray of bool
        One entry per table row (padding rows are False).

    Raises
    ------
    HeaderError
        If a selection names an unknown column.
    """
    if isinstance(wcstab, fits.BinTableHDU):
        data, used = wcstab.data, wcscorr_rows(wcstab)
    else:
        data, used = wcstab, len(wcstab)
    mask = np.zeros(len(data), dtype=bool)
    mask[:used] = True
    for col, value in (selections or {}).items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if col not in data.columns.names:
            raise HeaderError(f"WCSCORR has no column {col!r}")
        column = data[col]
        if isinstance(value, str):
            got = np.char.upper(np.char.strip(np.asarray(column).astype(str)))
            mask &= got == value.strip().upper()
        else:
            mask &= np.asarray(column) == value
    return mask


def delete_wcscorr_row(wcstab: fits.BinTableHDU, selections: Mapping[str, Any] | None = None,
                       rows: Any = None) -> fits.BinTableHDU:
    """Remove rows (selected by ``selections`` or indices ``rows``); return the new table.

    Parameters
    ----------
    wcstab : astropy.io.fits.BinTableHDU
        The WCSCORR table.
    selections : dict, optional
        Column values selecting rows (see :func:`find_wcscorr_row`).
    rows : int or sequence of int, optional
        Row indices.

    Returns
    -------
    astropy.io.fits.BinTableHDU
        A new table (same header, ``TROWS`` reduced).
    """
    if rows is None and not selections:
        return wcstab
    mask = np.zeros(len(wcstab.data), dtype=bool)
    if selections:
        mask |= find_wcscorr_row(wcstab, selections)
    if rows is not None:
        mask[np.atleast_1d(np.asarray(rows, dtype=int))] = True
    keep = ~mask
    new = fits.BinTableHDU(data=wcstab.data[keep].copy(), header=wcstab.header.copy())
    used = wcscorr_rows(wcstab)
    new.header["TROWS"] = (int(keep[:used].sum()), "Number of updated rows in table")
    return new


def update_wcscorr_column(wcstab: fits.BinTableHDU, column: str, values: Any,
                          selections: Mapping[str, Any] | None = None,
                          rows: Any = None) -> None:
    """Set ``column`` to ``values`` in the selected rows, in place.

    Parameters
    ----------
    wcstab : astropy.io.fits.BinTableHDU
        The WCSCORR table.
    column : str
        Column name.
    values : scalar or sequence
        New value(s) for the selected rows.
    selections : dict, optional
        Column values selecting rows (see :func:`find_wcscorr_row`).
    rows : int or sequence of int, optional
        Row indices.

    Raises
    ------
    HeaderError
        If the column does not exist.
    """
    if column not in wcstab.columns.names:
        raise HeaderError(f"WCSCORR has no column {column!r}")
    mask = np.zeros(len(wcstab.data), dtype=bool)
    if selections:
        mask |= find_wcscorr_row(wcstab, selections)
    if rows is not None:
        mask[np.atleast_1d(np.asarray(rows, dtype=int))] = True
    wcstab.data[column][mask] = values


def restore_file_from_wcscorr(image: Any, id: str = "OPUS", wcskey: str = "") -> None:
    """Rewrite each chip's WCS from the WCSCORR row ``WCS_ID == id``.

    Parameters
    ----------
    image : str or HDUList
        File name (updated atomically) or HDUList (modified in memory).
    id : str, optional
        The ``WCS_ID`` to restore.
    wcskey : str, optional
        ``''``/``' '`` writes the primary WCS; a letter writes that alternate.

    Raises
    ------
    MissingExtensionError
        If the file has no WCSCORR table.
    WCSKeyError
        If no row has that ``WCS_ID``.
    """
    key = (wcskey or " ").strip().upper() or " "
    if key != " " and (len(key) != 1 or not key.isalpha()):
        raise WCSKeyError(f"invalid WCS key {wcskey!r}")
    with update_input(image) as (hdul, name, _):
        idx = _wcscorr_index(hdul)
        if idx is None:
            raise MissingExtensionError("no WCSCORR table", filename=name)
        table = hdul[idx]
        done = 0
        for i in extension_indices(hdul, None, filename=name):
            header = hdul[i].header
            ver = int(header.get("EXTVER", 1))
            mask = find_wcscorr_row(table, {"WCS_ID": id}) & (table.data["EXTVER"] == ver)
            hits = np.flatnonzero(mask)
            if not len(hits):
                continue
            rec = table.data[hits[-1]]
            for base in ("CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", "CD1_1", "CD1_2", "CD2_1",
                         "CD2_2"):
                header[altwcs._kw(base, key)] = float(rec[base])
            for base in ("CTYPE1", "CTYPE2"):
                if str(rec[base]).strip():
                    header[altwcs._kw(base, key)] = str(rec[base]).strip()
            header[altwcs._kw("WCSNAME", key)] = str(id)
            if key == " ":
                for i_ in (1, 2):
                    for kw in (f"CDELT{i_}", f"PC{i_}_1", f"PC{i_}_2"):
                        if kw in header:
                            del header[kw]
            done += 1
        if not done:
            raise WCSKeyError(f"WCSCORR has no row with WCS_ID={id!r}", filename=name)
