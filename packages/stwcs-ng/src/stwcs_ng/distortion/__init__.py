"""HST distortion models as pure functions over tables, arrays and headers.

Modules
-------
idctab
    Read an IDCTAB row into an :class:`~stwcs_ng.distortion.idctab.IDCModel`.
sip
    IDC polynomial -> SIP coefficients; SIP evaluation.
tdd
    ACS/WFC time-dependent distortion.
va
    Velocity aberration of a linear WCS.
makewcs
    Linear WCS of each chip from the model, the pointing and the roll.
lookup
    NPOL and D2IM lookup-table extensions and keywords.
"""

from .idctab import IDCModel, TDDCoefficients, evaluate_idc, read_idctab, shift_model
from .makewcs import LinearWCS, chip_wcs, parity_for, reference_frame, troll
from .sip import evaluate_sip, idc_to_sip, sip_keywords
from .tdd import apply_tdd, decimal_year
from .va import apply_velocity_aberration

__all__ = [
    "IDCModel",
    "TDDCoefficients",
    "LinearWCS",
    "read_idctab",
    "evaluate_idc",
    "shift_model",
    "idc_to_sip",
    "sip_keywords",
    "evaluate_sip",
    "apply_tdd",
    "decimal_year",
    "apply_velocity_aberration",
    "troll",
    "parity_for",
    "reference_frame",
    "chip_wcs",
]
