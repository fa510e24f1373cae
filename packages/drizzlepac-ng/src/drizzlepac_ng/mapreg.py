"""mapreg: map DS9 region files in sky coordinates onto the chips of exposures.

``MapReg`` replaces the original ``drizzlepac.mapreg.MapReg``: region files
(sky coordinates, or image coordinates of a reference image) are mapped
through each chip's full distortion model into its pixel coordinates, and
one DS9 region file is written per chip,
``<outpath>/<image root>_<extname><extver>_twreg.reg`` (``_extn<N>_twreg``
for extensions given by number), keeping only regions that touch the chip.
Chips without any region get no file.  ``catfname`` writes the
``image reg1 reg2 ...`` list used by tweakreg's ``exclusions``.

Needs the optional package ``regions`` (``pip install drizzlepac-ng[regions]``),
which reads and writes the DS9 files.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

from . import _coords
from .errors import ConfigError, DrizzlepacError, InputFileError

__all__ = ["MapReg", "map_region_files", "region_file_name"]

log = logging.getLogger(__name__)

_FILTERS = {"": "fast", "fast": "fast", "precise": "precise", "none": None}


def _regions_module():
    try:
        import regions
    except ImportError as exc:
        raise DrizzlepacError("mapreg needs the optional package 'regions' to read and write "
                              "DS9 region files: pip install 'drizzlepac-ng[regions]'") from exc
    return regions


def _read_regions(path: str | os.PathLike):
    regions = _regions_module()
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"a region file must be given by its name, not {path!r}")
    p = Path(path)
    if not p.is_file():
        raise InputFileError("region file does not exist", filename=str(p))
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            regs = regions.Regions.parse(text, format="ds9")
    except (ValueError, TypeError, KeyError, IndexError, OSError) as exc:
        raise InputFileError(f"cannot parse the DS9 region file ({exc})", filename=str(p)) \
            from exc
    for w in caught:  # lines the parser skipped
        log.warning("%s: %s", p, w.message)
    return list(regs)


def _as_list(value: Any, *, split_comma: bool = True) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)) and not (len(value) == 2 and isinstance(value[0], str)
                                                 and isinstance(value[1], int)):
        return list(value)
    if isinstance(value, str):
        text = value.strip()
        if not text or text in ("None", "INDEF"):
            return []
        if text.startswith("@"):
            try:
                lines = Path(text[1:]).read_text().splitlines()
            except OSError as exc:
                raise InputFileError(f"cannot read list file ({exc})", filename=text[1:]) \
                    from exc
            return [ln.split("#", 1)[0].replace(",", " ").split()[0] for ln in lines
                    if ln.split("#", 1)[0].strip()]
        if split_comma and "," in text:
            return [t.strip() for t in text.split(",") if t.strip()]
        return [text]
    return [value]


def region_file_name(image: str, ext: Any) -> str:
    """Name of the region file written for one extension of an image.

    Parameters
    ----------
    image : str
        Image file name.
    ext : int or (str, int)
        HDU index or ``(EXTNAME, EXTVER)``.

    Returns
    -------
    str
        ``<root>_<extname><extver>_twreg.reg`` or ``<root>_extn<N>_twreg.reg``.
    """
    root = os.path.splitext(os.path.basename(image))[0]
    if isinstance(ext, tuple):
        return f"{root}_{ext[0]}{ext[1]}_twreg.reg"
    return f"{root}_extn{int(ext)}_twreg.reg"


def _image_extensions(hdul, spec: Any, filename: str) -> list[tuple[int, Any]]:
    """(HDU index, naming key) for each requested extension."""
    from stwcs_ng.wcsutil._ext import parse_extension

    items = spec if isinstance(spec, list) else [spec]
    out: list[tuple[int, Any]] = []
    for item in items:
        if isinstance(item, str) and ";" in item:
            out.extend(_image_extensions(hdul, [s for s in item.split(";") if s.strip()],
                                         filename))
            continue
        with _coords.drizzlepac_errors():
            parsed = parse_extension(item)
        if parsed is None:
            raise ConfigError(f"invalid extension specification {item!r}")
        if isinstance(parsed, int):
            if parsed >= len(hdul):
                raise InputFileError(f"no extension {parsed}", filename=filename,
                                     extension=parsed)
            out.append((parsed, parsed))
            continue
        spelled = (item.split(",")[0].strip() if isinstance(item, str)
                   else str(item[0]).strip())
        name, ver = (parsed, None) if isinstance(parsed, str) else parsed
        found = False
        for i, h in enumerate(hdul):
            if str(h.header.get("EXTNAME", "")).strip().upper() != name:
                continue
            v = int(h.header.get("EXTVER", 1))
            if ver is None or v == ver:
                out.append((i, (spelled, v)))
                found = True
        if not found:
            raise InputFileError("extension does not exist", filename=filename,
                                 extension=name if ver is None else (name, ver))
    return out


def _check_wcs(wcs, shape: tuple[int, int] | None, filename: str, extension: Any) -> None:
    """Refuse an image whose WCS cannot map regions (singular or non-finite CD matrix)."""
    from .astrodrizzle.outwcs import check_chip_wcs

    if shape is None or min(shape) <= 0:
        ps = getattr(wcs, "pixel_shape", None)
        shape = (int(ps[1]), int(ps[0])) if ps and None not in ps and min(ps) > 0 else (1, 1)
    check_chip_wcs(wcs, shape, filename=filename, extension=extension)


def _linear_copy(wcs):
    lin = wcs.deepcopy()
    lin.sip = None
    lin.cpdis1 = lin.cpdis2 = None
    lin.det2im1 = lin.det2im2 = None
    return lin


def _to_pixel(region, wcs, lin):
    from stwcs_ng.errors import NoConvergence

    try:
        return region.to_pixel(wcs)
    except NoConvergence:
        return region.to_pixel(lin)  # far from the chip: the linear WCS places it well enough


def _touches(region, nx: int, ny: int, method: str | None) -> bool:
    if method is None:
        return True
    if method == "precise":
        try:
            mask = region.to_mask(mode="center")
            img = mask.to_image((ny, nx))
            return img is not None and bool(img.any())
        except (NotImplementedError, AttributeError, ValueError, TypeError):
            pass
    try:
        bb = region.bounding_box
        return bb.ixmax > 0 and bb.ixmin < nx and bb.iymax > 0 and bb.iymin < ny
    except (NotImplementedError, AttributeError, ValueError, TypeError):
        c = getattr(region, "center", None)
        if c is None:
            return True
        return -0.5 <= float(c.x) < nx - 0.5 and -0.5 <= float(c.y) < ny - 0.5


def map_region_files(input_reg: Any, images: Any, img_wcs_ext: Any = "sci", refimg: Any = None,
                     ref_wcs_ext: Any = "sci", chip_reg: Any = None,
                     outpath: str | os.PathLike | None = "./regions", filter: str | None = None,
                     catfname: str | None = None, iteractive: bool = False,
                     append: bool = False, verbose: bool = True) -> dict[str, list[str | None]]:
    """Map region files onto image extensions (the work behind :func:`MapReg`).

    Parameters
    ----------
    input_reg : str or list of str
        DS9 region file(s).  Regions in image coordinates need ``refimg``.
    images : str or list of str
        Images (names, wildcards, comma lists or ``@list`` files).
    img_wcs_ext : str, int, tuple or list, optional
        Extensions receiving regions: ``'sci'`` (every SCI extension),
        ``('sci', 2)``, ``'sci,2'``, an HDU index, or a list (``'sci;dq'``).
    refimg : str, optional
        Image (``'ref.fits[sci,1]'``) whose WCS defines the image-coordinate
        input regions.
    ref_wcs_ext : str or tuple, optional
        Extension of ``refimg`` when its name carries none; with several input
        region files, file *i* uses EXTVER *i* of this EXTNAME.
    chip_reg : str or list, optional
        Region file(s) in image coordinates added to every chip's output
        (a list: one per extension of ``img_wcs_ext``, in order; None skips).
    outpath : str or path-like, optional
        Existing output directory (``'./regions'``; None: current directory).
    filter : str, optional
        Which regions are kept: ``'fast'`` (default; bounding box overlaps
        the chip), ``'precise'`` (some pixel centre of the chip lies inside
        the region) or ``'none'`` (keep all).
    catfname : str, optional
        Write ``image reg1 reg2 ...`` lines (``None`` for chips without
        regions) to ``outpath/catfname``.
    iteractive : bool, optional
        Accepted for compatibility (unused, as in the original).
    append : bool, optional
        Add to existing output region files instead of replacing them.
    verbose : bool, optional
        Log each file written at INFO level (DEBUG otherwise).

    Returns
    -------
    dict
        Image name -> region file name per extension (None when empty).

    Raises
    ------
    DrizzlepacError
        If the ``regions`` package is not installed.
    ConfigError
        If a parameter is invalid (unknown filter, image-coordinate regions
        without ``refimg``, no input region file).
    InputFileError
        If a region file or image is missing, unreadable or has no regions,
        ``outpath`` does not exist, an extension is missing, or an image's
        WCS defines no pixel scale (singular or non-finite CD matrix; see
        :func:`drizzlepac_ng.astrodrizzle.outwcs.check_chip_wcs`).
    FileUpdateError
        If an output file cannot be written.
    """
    from stwcs_ng.fileio import open_fits
    from stwcs_ng.wcsutil import HSTWCS
    from stwcs_ng.wcsutil._ext import split_filename

    regions = _regions_module()
    del iteractive
    level = logging.INFO if verbose else logging.DEBUG
    key = "" if filter is None else str(filter).strip().lower()
    if key not in _FILTERS:
        raise ConfigError(f"filter must be 'fast', 'precise' or 'none', not {filter!r}")
    method = _FILTERS[key]
    out_dir = Path(outpath) if not _coords.is_blank(outpath) else Path(os.curdir)
    if not out_dir.is_dir():
        raise InputFileError("the output directory does not exist", filename=str(out_dir))
    reg_files = [r for r in _as_list(input_reg) if not _coords.is_blank(r)]
    if not reg_files:
        raise ConfigError("input_reg must name at least one region file")

    # -- input regions, all turned into sky regions ----------------------------------------------
    sky_regions = []
    for k, fname in enumerate(reg_files):
        regs = _read_regions(fname)
        if not regs:
            raise InputFileError("region file contains no regions", filename=str(fname))
        pix = [r for r in regs if isinstance(r, regions.PixelRegion)]
        sky_regions.extend(r for r in regs if not isinstance(r, regions.PixelRegion))
        if pix:
            if _coords.is_blank(refimg):
                raise ConfigError(f"{fname} has regions in image coordinates: give refimg, the "
                                  "image whose WCS they refer to")
            ref_name, embedded = split_filename(str(refimg))
            if embedded is not None and len(reg_files) == 1:
                ref_ext = embedded
            else:
                base = embedded if isinstance(embedded, str) else ref_wcs_ext
                base = base[0] if isinstance(base, tuple) else base
                ref_ext = (str(base or "SCI"), k + 1 if len(reg_files) > 1 else 1)
            with _coords.drizzlepac_errors():
                ref_wcs = HSTWCS(ref_name, ext=ref_ext)
            _check_wcs(ref_wcs, None, ref_name, ref_ext)
            sky_regions.extend(r.to_sky(ref_wcs) for r in pix)

    chip_specs = _as_list(chip_reg) if not isinstance(chip_reg, list) else chip_reg
    chip_lists: list[list | None] = [None if _coords.is_blank(c) else _read_regions(c)
                                     for c in chip_specs]

    # -- every image and extension ---------------------------------------------------------------
    images_list = _coords.expand_files(images)
    spec = _as_list(img_wcs_ext, split_comma=False) if isinstance(img_wcs_ext, str) else \
        img_wcs_ext
    if isinstance(spec, list) and len(spec) == 1:
        spec = spec[0]
    result: dict[str, list[str | None]] = {}
    for image in images_list:
        with _coords.drizzlepac_errors(), open_fits(image) as hdul:
            exts = _image_extensions(hdul, spec, image)
            written: list[str | None] = []
            for n, (idx, naming) in enumerate(exts):
                if not hdul[idx].is_image:
                    raise InputFileError("extension is not an image", filename=image,
                                         extension=idx)
                wcs = HSTWCS(hdul, ext=idx)
                nx = int(hdul[idx].header.get("NAXIS1", 0))
                ny = int(hdul[idx].header.get("NAXIS2", 0))
                _check_wcs(wcs, (ny, nx), image, naming)
                lin = _linear_copy(wcs)
                mapped = [_to_pixel(r, wcs, lin) for r in sky_regions]
                if len(chip_lists) == 1 and not isinstance(chip_reg, list):
                    extra = chip_lists[0]
                else:
                    extra = chip_lists[n] if n < len(chip_lists) else None
                mapped.extend(extra or [])
                kept = [r for r in mapped if _touches(r, nx, ny, method)]
                if not kept:
                    written.append(None)
                    log.log(level, "%s[%s]: no region falls on this chip; no file written",
                            image, naming)
                    continue
                fname = region_file_name(image, naming)
                target = out_dir / fname
                if append and target.exists():
                    kept = _read_regions(target) + kept
                text = regions.Regions(kept).serialize(format="ds9")
                _coords.write_text_atomic(target, text)
                log.log(level, "%s[%s]: %d region(s) written to %s", image, naming, len(kept),
                        target)
                written.append(fname)
        result[image] = written
    if not _coords.is_blank(catfname):
        lines = "".join(f"{img} {' '.join(r or 'None' for r in regs)}\n"
                        for img, regs in result.items())
        _coords.write_text_atomic(out_dir / str(catfname), lines)
    return result


def MapReg(input_reg: Any, images: Any, img_wcs_ext: Any = "sci", refimg: Any = "",
           ref_wcs_ext: Any = "sci", chip_reg: Any = "", outpath: Any = "./regions",
           filter: Any = "", catfname: Any = "", iteractive: bool = False, append: bool = False,
           verbose: bool = True) -> dict[str, list[str | None]]:
    """Map DS9 region files onto every chip of every image, one region file per chip.

    Parameters
    ----------
    input_reg : str or list of str
        Region file(s): a name, a comma list or an ``@list`` file.  Sky
        coordinates (fk5, icrs, ...), or image coordinates of ``refimg``.
    images : str or list of str
        Images: names, wildcards, comma lists or ``@list`` files.
    img_wcs_ext : str, int, tuple or list, optional
        Extensions to map onto (default ``'sci'``: every SCI extension;
        several separated by ``;``).
    refimg : str, optional
        Reference image for image-coordinate input regions.
    ref_wcs_ext : str or tuple, optional
        Its extension (see :func:`map_region_files`).
    chip_reg : str or list, optional
        Image-coordinate region file(s) added to the chips' outputs.
    outpath : str, optional
        Existing output directory (default ``'./regions'``).
    filter : str, optional
        ``''``/``'fast'`` (default: drop regions whose bounding box misses the
        chip), ``'precise'`` or ``'none'``.
    catfname : str, optional
        Exclusions catalog file name (in ``outpath``).
    iteractive : bool, optional
        Unused (the original's spelling is kept).
    append : bool, optional
        Append to existing output region files.
    verbose : bool, optional
        Log the files written at INFO level.

    Returns
    -------
    dict
        Image name -> region file name (or None) per extension.

    Raises
    ------
    DrizzlepacError, ConfigError, InputFileError, FileUpdateError
        See :func:`map_region_files`.

    Examples
    --------
    >>> MapReg("stars_fk5.reg", "j8bt06nyq_flc.fits", outpath=".",
    ...        catfname="exclusions.cat")  # doctest: +SKIP
    {'j8bt06nyq_flc.fits': ['j8bt06nyq_flc_sci1_twreg.reg', None]}
    """
    return map_region_files(
        input_reg, images, img_wcs_ext=img_wcs_ext,
        refimg=None if _coords.is_blank(refimg) else refimg,
        ref_wcs_ext=ref_wcs_ext, chip_reg=None if _coords.is_blank(chip_reg) else chip_reg,
        outpath=outpath, filter="" if filter is None else filter,
        catfname=None if _coords.is_blank(catfname) else catfname, iteractive=iteractive,
        append=append, verbose=verbose)
