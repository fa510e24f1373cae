"""Compatibility with the original ``drizzle`` package's ``blot_image`` (optional).

Skipped unless ``drizzle`` (>= 3.0) is installed.  Deliberate differences, each
with a test below that shows our behaviour is the right one:

* NaN in the pixel map: drizzle 3.0.0 raises; we fill the pixel with fillval.
* Positions in the last rows of the source (y > ny - 3): drizzle 3.0.0's poly5
  extends the image differently in y than in x and does not reproduce a
  plane there, and its nearest/poly3 read one row past the end of the array
  for y in [ny - 0.5, ny).  We use point reflection in both axes (as the
  current upstream drizzle does), which is exact for planes.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from drizzlepac_ng.blot import blot_image

pytestmark = pytest.mark.oracle
drizzle_resample = pytest.importorskip("drizzle.resample")

ORACLE_INTERPS = ["nearest", "linear", "poly3", "poly5", "lanczos3", "lanczos5"]


def _pixmap(out_shape, a, b, c, d, dx, dy):
    y, x = np.indices(out_shape, dtype=np.float64)
    return np.dstack([a * x + b * y + dx, c * x + d * y + dy])


def _cases():
    rng = np.random.default_rng(42)
    data = rng.normal(10.0, 3.0, size=(60, 70)).astype(np.float32)
    maps = [
        _pixmap((50, 66), 0.97, 0.05, -0.04, 0.95, 0.3, 0.2),  # rotation + scale
        _pixmap((48, 80), 0.85, 0.0, 0.0, 0.93, -3.7, 1.1),  # partly off the left edge
        _pixmap((40, 40), 1.3, 0.2, 0.1, 1.2, 5.5, 2.25),
    ]
    warp = _pixmap((50, 60), 1.0, 0.0, 0.0, 0.9, 1.0, 1.0)
    warp[..., 0] += 0.8 * np.sin(warp[..., 1] / 7.0)
    warp[..., 1] += 0.6 * np.cos(warp[..., 0] / 9.0)
    maps.append(warp)
    return data, maps


@pytest.mark.parametrize("interp", ORACLE_INTERPS)
def test_matches_drizzle_blot(interp):
    data, maps = _cases()
    ny = data.shape[0]
    for pm in maps:
        # keep clear of the top rows where drizzle 3.0.0 misbehaves (module docstring)
        pm = pm.copy()
        pm[..., 1] = np.where(pm[..., 1] > ny - 3.0, ny + 5.0, pm[..., 1])
        ref = drizzle_resample.blot_image(data, pm, interp=interp, fillval=-1.0, iscale=1.7)
        ours = blot_image(data, pm, interp=interp, fillval=-1.0, iscale=1.7)
        assert_allclose(ours, ref, atol=1e-4, rtol=1e-6)


def test_default_arguments_match():
    data, maps = _cases()
    pm = maps[0]
    assert_allclose(blot_image(data, pm), drizzle_resample.blot_image(data, pm), atol=1e-4)


def test_nan_pixmap_filled_where_drizzle_raises():
    data, maps = _cases()
    pm = maps[0].copy()
    pm[3, 4] = np.nan
    with pytest.raises(Exception, match="NaN"):
        drizzle_resample.blot_image(data, pm, interp="poly5")
    out = blot_image(data, pm, interp="poly5", fillval=-5.0)
    assert out[3, 4] == -5.0
    # every other pixel agrees with drizzle on the same map without the NaN
    pm[3, 4] = (1.0, 1.0)
    ref = drizzle_resample.blot_image(data, pm, interp="poly5", fillval=-5.0)
    mask = np.ones(out.shape, bool)
    mask[3, 4] = False
    assert_allclose(out[mask], ref[mask], atol=1e-4)


@pytest.mark.parametrize("interp", ["poly3", "poly5"])
def test_top_rows_ours_exact_for_a_plane(interp):
    y, x = np.indices((40, 50), dtype=np.float64)
    data = (3.0 + 0.5 * x + 0.25 * y).astype(np.float32)
    pm = _pixmap((45, 55), 0.9, 0.0, 0.0, 0.88, 0.1, 0.2)
    keep = pm[..., 1] < 39.4  # drizzle 3.0.0 reads past the array beyond this for poly3
    truth = 3.0 + 0.5 * pm[..., 0] + 0.25 * pm[..., 1]
    ours = blot_image(data, pm, interp=interp)
    ref = drizzle_resample.blot_image(data, pm, interp=interp)
    err_ours = np.abs(ours - truth)[keep].max()
    err_ref = np.abs(ref - truth)[keep].max()
    assert err_ours < 2e-5
    assert err_ours <= max(err_ref, 2e-5)  # float32 rounding aside, never worse
