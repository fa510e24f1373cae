"""imagefindpars / refimagefindpars: names, defaults, validation."""

from __future__ import annotations

import inspect

import pytest

from drizzlepac_ng.errors import ConfigError
from drizzlepac_ng.imagefindpars import ImageFindPars, find_parameter_names, imagefindpars_defaults
from drizzlepac_ng.refimagefindpars import RefImageFindPars, refimagefindpars_defaults

ORIGINAL = {
    "computesig": True, "skysigma": 0.0, "conv_width": 3.5, "peakmin": None, "peakmax": None,
    "threshold": 4.0, "nsigma": 1.5, "ratio": 1.0, "theta": 0.0, "fluxmin": None,
    "fluxmax": None, "dqbits": "", "use_sharp_round": False, "sharplo": 0.2, "sharphi": 1.0,
    "roundlo": -1.0, "roundhi": 1.0,
}


def test_signature_has_the_17_original_parameters():
    params = inspect.signature(ImageFindPars).parameters
    assert list(params) == list(ORIGINAL)
    assert {k: p.default for k, p in params.items()} == ORIGINAL
    assert find_parameter_names() == tuple(ORIGINAL)


def test_defaults_identical_for_reference():
    assert imagefindpars_defaults() == ORIGINAL
    assert refimagefindpars_defaults() == ORIGINAL
    assert isinstance(RefImageFindPars(), ImageFindPars)


def test_from_dict_and_blank_limits():
    p = ImageFindPars.from_dict({"threshold": "5", "peakmax": "INDEF", "_task_": "x"})
    assert p.threshold == 5.0 and p.peakmax is None


@pytest.mark.parametrize("bad", [{"nosuch": 1}, {"ratio": 0.0}, {"conv_width": -1},
                                 {"threshold": "abc"}, {"computesig": False, "skysigma": 0.0},
                                 {"fluxmin": "x"}])
def test_bad_values_raise(bad):
    with pytest.raises(ConfigError):
        ImageFindPars.from_dict(bad)
