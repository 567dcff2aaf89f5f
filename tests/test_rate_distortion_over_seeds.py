"""Tests of yoto.analysis.rate_distortion_over_seeds: BD deltas as
intervals over seeds, seed-mean curves, a sweep's rate span."""

import numpy as np
import pytest

from yoto.analysis import rate_distortion as rd
from yoto.analysis import rate_distortion_over_seeds as rd_seeds
from yoto.analysis import seed_statistics

LMBDAS = np.array([0.001, 0.01, 0.1, 1.0])
RATES = np.array([0.1, 0.25, 0.6, 1.4])
PSNR = np.array([26.0, 29.0, 32.0, 35.0])


def _curve(name, bpp, psnr=PSNR, lmbdas=LMBDAS):
  return rd.RdCurve(
    name,
    np.asarray(lmbdas, float),
    np.asarray(bpp, float),
    {
      "psnr": np.asarray(psnr, float),
      "ms_ssim_db": np.asarray(psnr, float) / 2,
    },
  )


def test_bd_rate_over_seeds_is_the_interval_of_each_seeds_bd_rate_kept_per_seed():
  # Seed s: YOTO needs (1 + d_s) times the bits of that seed's fixed codecs
  # at every quality, so its BD-rate is exactly 100 d_s.
  per_seed = {
    0: {"fixed": _curve("fixed", RATES), "yoto": _curve("yoto", 1.10 * RATES)},
    1: {
      "fixed": _curve("fixed", 2 * RATES),
      "yoto": _curve("yoto", 2 * 1.30 * RATES),
    },
    2: {"yoto": _curve("yoto", RATES)},
  }  # No fixed codecs: left out.
  bd = rd_seeds.bd_over_seeds(per_seed)
  expected = seed_statistics.interval([10.0, 30.0])
  for method in rd.METHODS:
    got = bd["yoto"][f"bd_rate_psnr_{method}"]
    assert got.n == 2
    assert got.mean == pytest.approx(expected.mean, abs=1e-6)
    assert got.half_width == pytest.approx(expected.half_width, abs=1e-5)
    # Equal quality at the same λ... but shifted rates: BD-PSNR < 0.
    assert bd["yoto"][f"bd_psnr_{method}"].mean < 0
  by_seed = rd_seeds.bd_per_seed(per_seed)["yoto"]["bd_rate_psnr_pchip"]
  assert sorted(by_seed) == [0, 1]
  assert by_seed[0] == pytest.approx(10.0, abs=1e-6)
  assert by_seed[1] == pytest.approx(30.0, abs=1e-6)


def test_curves_that_do_not_overlap_give_no_bd_value():
  fixed = _curve("fixed", RATES)
  far = _curve("yoto", RATES, psnr=PSNR + 20)
  values = rd_seeds.bd_values(fixed, far)
  assert values["bd_rate_psnr_pchip"] is None
  # Three points are too few for the cubic fit, enough for pchip.
  short = _curve("yoto", RATES[:3], PSNR[:3], LMBDAS[:3])
  values = rd_seeds.bd_values(fixed, short)
  assert values["bd_rate_psnr_cubic"] is None
  assert values["bd_rate_psnr_pchip"] is not None


def test_mean_curve_averages_seeds_at_each_lambda_with_error_bars():
  a = _curve("a", RATES, PSNR)
  b = _curve("b", RATES + 0.1, PSNR + 1.0)
  # A curve with an extra λ: only the λ all seeds have are averaged.
  c = _curve(
    "c", np.append(RATES, 3.0), np.append(PSNR, 38.0), np.append(LMBDAS, 10.0)
  )
  mean = rd_seeds.mean_curve("m", [a, b, c])
  np.testing.assert_allclose(mean.lmbdas, LMBDAS)
  np.testing.assert_allclose(mean.bpp, RATES + 0.1 / 3)
  np.testing.assert_allclose(mean.quality["psnr"], PSNR + 1 / 3)
  half = seed_statistics.interval([0.0, 1.0, 0.0]).half_width
  np.testing.assert_allclose(mean.errors["psnr"], half)
  single = rd_seeds.mean_curve("one", [a])
  np.testing.assert_allclose(single.errors["bpp"], 0.0)


def test_rate_span_is_the_ratio_of_the_ends_and_checks_monotone_quality():
  span = rd_seeds.rate_span(
    [_curve("fixed", RATES), _curve("fixed", RATES * 1.2)]
  )
  assert span["low_bpp"] == pytest.approx(0.11)
  assert span["high_bpp"] == pytest.approx(1.54)
  assert span["ratio"] == pytest.approx(14.0)
  assert span["psnr_monotone_in_lmbda"]
  dip = _curve("fixed", RATES, psnr=[26.0, 29.0, 28.5, 35.0])
  assert not rd_seeds.rate_span([dip])["psnr_monotone_in_lmbda"]
