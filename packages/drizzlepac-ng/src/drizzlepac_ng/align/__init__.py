"""Image alignment: source finding, catalog matching, fitting and WCS updates (tweakreg)."""

from .wcsupdate import (
    FitSummary,
    apply_linear_correction,
    correct_image_wcs,
    interpret_wcsname_type,
    update_image_wcs,
)

__all__ = [
    "FitSummary",
    "apply_linear_correction",
    "correct_image_wcs",
    "interpret_wcsname_type",
    "update_image_wcs",
]
