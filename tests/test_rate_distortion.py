"""Tests of yoto.analysis.rate_distortion: curves, BD-rate, RD plots."""

import json

import numpy as np
import pytest

from yoto.analysis import metrics
from yoto.analysis import rate_distortion as rd

RATES = np.array([0.1, 0.25, 0.5, 1.0, 2.0])
PSNR = np.array([26.0, 29.0, 32.0, 35.0, 38.0])


@pytest.mark.parametrize("method", rd.METHODS)
def test_bd_rate_of_a_curve_against_itself_is_zero(method):
  assert rd.bd_rate(RATES, PSNR, RATES, PSNR, method) == pytest.approx(
    0.0, abs=1e-9
  )
  assert rd.bd_quality(RATES, PSNR, RATES, PSNR, method) == pytest.approx(
    0.0, abs=1e-9
  )


@pytest.mark.parametrize("method", rd.METHODS)
def test_bd_rate_of_a_constant_rate_factor_is_that_factor(method):
  # 10 % more bits at every quality: exactly +10 %, whatever the fit.
  assert rd.bd_rate(RATES, PSNR, 1.1 * RATES, PSNR, method) == pytest.approx(
    10.0, abs=1e-6
  )
  assert rd.bd_rate(RATES, PSNR, 0.8 * RATES, PSNR, method) == pytest.approx(
    -20.0, abs=1e-6
  )


@pytest.mark.parametrize("method", rd.METHODS)
def test_bd_quality_of_a_constant_shift_is_that_shift(method):
  assert rd.bd_quality(RATES, PSNR, RATES, PSNR + 0.5, method) == pytest.approx(
    0.5, abs=1e-9
  )


def test_bd_rate_matches_a_hand_computed_linear_case():
  # PSNR = a + b log(rate) for both: log-rate differs by Δ/b everywhere.
  log_rates = np.log(RATES)
  psnr_ref = 30 + 4 * log_rates
  psnr_test = 31 + 4 * log_rates  # 1 dB better: log rate lower by 1/4.
  expected = (np.exp(-0.25) - 1) * 100
  assert rd.bd_rate(RATES, psnr_ref, RATES, psnr_test) == pytest.approx(
    expected, abs=1e-6
  )
  assert rd.bd_quality(RATES, psnr_ref, RATES, psnr_test) == pytest.approx(
    1.0, abs=1e-9
  )


def test_bd_only_uses_the_common_quality_interval():
  # The test curve covers only the upper half; there it is 10 % cheaper.
  test_rates, test_psnr = 0.9 * RATES[2:], PSNR[2:]
  assert rd.bd_rate(
    RATES, PSNR, test_rates, test_psnr, "pchip"
  ) == pytest.approx(-10.0, abs=1e-6)


@pytest.mark.parametrize(
  "rates,psnr,message",
  [
    (RATES[:3], PSNR[:3], "at least 4 points"),
    (RATES, PSNR[:4], "equally long"),
    (-RATES, PSNR, "non-positive"),
    (RATES + 10, PSNR + 50, "do not overlap"),
  ],
)
def test_bd_rate_rejects_bad_curves(rates, psnr, message):
  with pytest.raises(ValueError, match=message):
    rd.bd_rate(RATES, PSNR, rates, psnr)


def _write_run(directory, kind, rows_values, train_lmbda=None):
  directory.mkdir()
  with open(directory / "metrics.jsonl", "w") as f:
    for lmbda, values in rows_values:
      row = {
        "step": 100,
        "split": "test",
        "model": kind,
        "weights": {"distortion": lmbda, "rate": 1.0},
        "values": values,
        "num_examples": 8,
      }
      if train_lmbda is not None:
        row["train_weights"] = {"distortion": train_lmbda, "rate": 1.0}
      f.write(json.dumps(row) + "\n")
  return str(directory)


def _values(bpp, psnr):
  return {
    "actual_bpp": bpp,
    "rate": bpp * 0.99,
    "distortion": 1.0,
    "full_loss": 1.0,
    "psnr": psnr,
    "ms_ssim_db": psnr / 3,
  }


def test_curves_from_metrics_files(tmp_path):
  lmbdas = [0.26, 0.0012, 0.01]  # Evaluated in any order.
  yoto_dir = _write_run(
    tmp_path / "yoto",
    "yoto",
    [
      (lmbda, _values(b, p))
      for lmbda, b, p in zip(lmbdas, [1.5, 0.1, 0.4], [34.0, 26.0, 30.0])
    ],
  )
  fixed_dirs = [
    _write_run(
      tmp_path / f"fixed_{own}",
      "fixed",
      [(lmbda, _values(b, p)) for lmbda in lmbdas],
      train_lmbda=own,
    )
    for own, b, p in [
      (0.0012, 0.09, 26.5),
      (0.01, 0.38, 30.5),
      (0.26, 1.4, 34.5),
    ]
  ]
  (yoto,), fixed = rd.load_curves([yoto_dir], fixed_dirs)
  np.testing.assert_allclose(yoto.lmbdas, [0.0012, 0.01, 0.26])
  np.testing.assert_allclose(yoto.bpp, [0.1, 0.4, 1.5])  # actual_bpp.
  np.testing.assert_allclose(yoto.quality["psnr"], [26.0, 30.0, 34.0])
  np.testing.assert_allclose(fixed.lmbdas, [0.0012, 0.01, 0.26])
  np.testing.assert_allclose(fixed.bpp, [0.09, 0.38, 1.4])
  assert rd.curve_bd_rate(fixed, yoto, method="pchip") > 0  # YOTO worse.
  figure = rd.rd_figure([yoto, fixed], title="demo")
  assert len(figure.axes) == 2
  assert [a.get_ylabel() for a in figure.axes] == ["PSNR (dB)", "MS-SSIM (dB)"]
  assert len(figure.axes[0].lines) == 2


def test_fixed_curve_needs_the_training_lambda(tmp_path):
  run = metrics.RunMetrics(
    "runs/x",
    "fixed",
    1,
    "test",
    {},
    ({"distortion": 0.01, "rate": 1.0},),
    train_weights=None,
  )
  with pytest.raises(metrics.MetricsError, match="trained with"):
    rd.fixed_curve([run])
