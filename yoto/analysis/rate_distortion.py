"""Rate-distortion curves and Bjøntegaard deltas of compression models.

The YOTO paper (§4.2, Figures 5 and 10) plots bits per pixel against PSNR and
against MS-SSIM in dB for one YOTO model evaluated at many λ and for
separately trained fixed-λ models. This module turns eval rows
(`model_dir/metrics.jsonl`, from training or from `yoto.compress evaluate`)
into such curves, draws them, and summarises the gap between two curves by
the Bjøntegaard delta rate (BD-rate: the average bit-rate difference at equal
quality, in percent) and delta quality (BD-PSNR: the average quality
difference at equal rate, in dB).

  G. Bjøntegaard, "Calculation of average PSNR differences between RD-curves",
  VCEG-M33, 2001.

Two interpolations are offered: 'cubic', the original (a cubic polynomial of
log rate in quality, fitted by least squares; needs 4 points), and 'pchip',
the piecewise cubic Hermite interpolation later adopted by VCEG/JVET (exact
through the points; needs 2). Both integrate over the quality (or log-rate)
interval the two curves share.
"""

import dataclasses
import math
from typing import Mapping, Optional, Sequence, Tuple, Union

from matplotlib.backends import backend_agg
from matplotlib.figure import Figure
import numpy as np
from scipy import interpolate

from yoto.analysis import metrics

LMBDA = "distortion"  # λ is the weight of the distortion loss.
QUALITY_LABELS = {"psnr": "PSNR (dB)", "ms_ssim_db": "MS-SSIM (dB)"}
METHODS = ("cubic", "pchip")


@dataclasses.dataclass(frozen=True)
class RdCurve:
  """Rate-distortion points of one method, sorted by rate.

  Attributes:
    name: the legend label.
    lmbdas: λ of each point.
    bpp: bits per pixel of each point (range-coded when evaluated so).
    quality: metric name -> values ('psnr', 'ms_ssim_db').
    errors: optional error bars (e.g. 95 % half-widths over seeds) of 'bpp'
      and of each quality, drawn by `rd_figure`.
  """

  name: str
  lmbdas: np.ndarray
  bpp: np.ndarray
  quality: Mapping[str, np.ndarray]
  errors: Optional[Mapping[str, np.ndarray]] = None


def _rate(values: Mapping[str, float], rate_key: Optional[str]) -> float:
  """The rate of a row: actual range-coded bpp where measured."""
  for key in [rate_key] if rate_key else ["actual_bpp", "rate"]:
    if key in values:
      return float(values[key])
  raise metrics.MetricsError(
    f"Eval values {sorted(values)} hold no rate ({rate_key or 'actual_bpp'}"
    "); is this a compression run?"
  )


def _curve(name, lmbdas, points, rate_key) -> RdCurve:
  """Builds a curve from (λ, values) pairs, sorted by rate."""
  bpp = np.array([_rate(values, rate_key) for values in points])
  order = np.argsort(bpp, kind="stable")
  quality = {
    key: np.array([float(points[i].get(key, math.nan)) for i in order])
    for key in QUALITY_LABELS
  }
  return RdCurve(name, np.asarray(lmbdas, float)[order], bpp[order], quality)


def yoto_curve(
  run: metrics.RunMetrics, name: str = "YOTO", rate_key: Optional[str] = None
) -> RdCurve:
  """One point per eval λ of a YOTO run."""
  lmbdas = [w[LMBDA] for w in run.eval_weights]
  return _curve(
    name, lmbdas, [run.values_at(w) for w in run.eval_weights], rate_key
  )


def fixed_curve(
  runs: Sequence[metrics.RunMetrics],
  name: str = "Fixed weight",
  rate_key: Optional[str] = None,
) -> RdCurve:
  """One point per fixed-λ run, at the λ it was trained with."""
  for run in runs:
    if not run.train_weights or LMBDA not in run.train_weights:
      raise metrics.MetricsError(
        f"Cannot tell which λ {run.model_dir} was trained with; train "
        "fixed models with LinearlyScalarizedOptimizer.weights = "
        "{'distortion': λ, 'rate': 1.0}."
      )
  return _curve(
    name,
    [r.train_weights[LMBDA] for r in runs],
    [r.own_values() for r in runs],
    rate_key,
  )


def rows_curve(
  name: str, rows: Sequence[Mapping], rate_key: Optional[str] = None
) -> RdCurve:
  """One point per eval row ({'weights': {...}, 'values': {...}}, as in
  metrics.jsonl or from `yoto.compress.evaluate`)."""
  return _curve(
    name,
    [row["weights"][LMBDA] for row in rows],
    [row["values"] for row in rows],
    rate_key,
  )


def load_curves(
  yoto_dirs: Sequence[str],
  fixed_dirs: Sequence[str] = (),
  step: Optional[int] = None,
  split: Optional[str] = None,
  rate_key: Optional[str] = None,
) -> Tuple[list, Optional[RdCurve]]:
  """([YOTO curve per run], fixed-λ curve or None) from model_dirs.

  Each YOTO run is named after its directory; the fixed runs form one curve.
  """
  curves, fixed = [], None
  for i, directory in enumerate(yoto_dirs):
    yoto, fixed_runs = metrics.load_comparison(
      directory, fixed_dirs if i == 0 else (), step, split
    )
    curves.append(yoto_curve(yoto, yoto.name, rate_key))
    if i == 0 and fixed_runs:
      fixed = fixed_curve(fixed_runs, rate_key=rate_key)
  return curves, fixed


def _checked_points(rate, quality, label, method):
  rate = np.asarray(rate, float)
  quality = np.asarray(quality, float)
  if rate.shape != quality.shape or rate.ndim != 1:
    raise ValueError(
      f"The {label} curve needs equally long 1-D rate and "
      f"quality, got shapes {rate.shape} and {quality.shape}."
    )
  if (
    np.any(~np.isfinite(rate))
    or np.any(rate <= 0)
    or np.any(~np.isfinite(quality))
  ):
    raise ValueError(
      f"The {label} curve has non-positive or non-finite points."
    )
  needed = 4 if method == "cubic" else 2
  if len(rate) < needed:
    raise ValueError(
      f"BD with method={method!r} needs at least {needed} "
      f"points per curve; the {label} curve has {len(rate)}"
      + (" (use method='pchip')." if method == "cubic" else ".")
    )
  return rate, quality


def _integral_of_fit(x, y, low, high, method):
  """∫ f over [low, high] where f interpolates y(x) (x ascending)."""
  order = np.argsort(x)
  x, y = x[order], y[order]
  if method == "cubic":
    antiderivative = np.polyint(np.polyfit(x, y, 3))
    return np.polyval(antiderivative, high) - np.polyval(antiderivative, low)
  if len(np.unique(x)) != len(x):
    raise ValueError(
      "pchip needs distinct abscissae; average repeated points first."
    )
  return interpolate.PchipInterpolator(x, y).integrate(low, high)


def _bd(x_ref, y_ref, x_test, y_test, method):
  """Mean of (y_test - y_ref) over the x interval both curves cover."""
  if method not in METHODS:
    raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
  low = max(x_ref.min(), x_test.min())
  high = min(x_ref.max(), x_test.max())
  if not high > low:
    raise ValueError(
      "The two curves do not overlap: there is no common "
      "interval to compare them on."
    )
  difference = _integral_of_fit(
    x_test, y_test, low, high, method
  ) - _integral_of_fit(x_ref, y_ref, low, high, method)
  return difference / (high - low)


def bd_rate(
  reference_rate,
  reference_quality,
  test_rate,
  test_quality,
  method: str = "cubic",
) -> float:
  """Bjøntegaard delta rate of test vs reference, in percent.

  The average relative bit-rate difference at equal quality: -10 means the
  test method needs 10 % fewer bits than the reference for the same quality
  (on the quality interval both curves cover).
  """
  ref_rate, ref_quality = _checked_points(
    reference_rate, reference_quality, "reference", method
  )
  test_rate, test_quality = _checked_points(
    test_rate, test_quality, "test", method
  )
  mean_log_ratio = _bd(
    ref_quality, np.log(ref_rate), test_quality, np.log(test_rate), method
  )
  return float((math.exp(mean_log_ratio) - 1.0) * 100.0)


def bd_quality(
  reference_rate,
  reference_quality,
  test_rate,
  test_quality,
  method: str = "cubic",
) -> float:
  """Bjøntegaard delta quality (e.g. BD-PSNR, dB) of test vs reference.

  The average quality difference at equal rate: positive means the test
  method is better.
  """
  ref_rate, ref_quality = _checked_points(
    reference_rate, reference_quality, "reference", method
  )
  test_rate, test_quality = _checked_points(
    test_rate, test_quality, "test", method
  )
  return float(
    _bd(np.log(ref_rate), ref_quality, np.log(test_rate), test_quality, method)
  )


def curve_bd_rate(
  reference: RdCurve,
  test: RdCurve,
  quality: str = "psnr",
  method: str = "cubic",
) -> float:
  """BD-rate (percent) of curve `test` against curve `reference`."""
  return bd_rate(
    reference.bpp,
    reference.quality[quality],
    test.bpp,
    test.quality[quality],
    method,
  )


def rd_figure(
  curves: Sequence[RdCurve],
  title: Optional[str] = None,
  qualities: Sequence[str] = ("psnr", "ms_ssim_db"),
  annotate: bool = True,
) -> Figure:
  """bpp against each quality metric (one panel each), one line per curve.

  Built on `matplotlib.figure.Figure` with the Agg canvas (no pyplot), like
  `yoto.analysis.plots`; save it with `plots.save` or show `plots.to_png`.
  """
  figure = Figure(figsize=(5.0 * len(qualities), 4.2), dpi=100)
  backend_agg.FigureCanvasAgg(figure)
  axes_list = np.atleast_1d(figure.subplots(1, len(qualities)))
  markers = "os^vD<>"
  for axes, quality in zip(axes_list, qualities):
    for i, curve in enumerate(curves):
      errors = curve.errors or {}
      line = axes.errorbar(
        curve.bpp,
        curve.quality[quality],
        yerr=errors.get(quality),
        xerr=errors.get("bpp"),
        marker=markers[i % len(markers)],
        label=curve.name,
        capsize=2,
      ).lines[0]
      if annotate:
        for lmbda, x, y in zip(curve.lmbdas, curve.bpp, curve.quality[quality]):
          axes.annotate(
            f"{lmbda:.2g}",
            (x, y),
            textcoords="offset points",
            xytext=(3, -9),
            fontsize=6,
            color=line.get_color(),
          )
    axes.set_xlabel("bits per pixel")
    axes.set_ylabel(QUALITY_LABELS.get(quality, quality))
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
  if title:
    figure.suptitle(title)
  figure.tight_layout()
  return figure


def sweep_figure(
  original: np.ndarray,
  points: Union[Sequence, Mapping[str, Sequence]],
  title: Optional[str] = None,
) -> Figure:
  """The original next to its decodings at several λ, each with its cost.

  Args:
    original: uint8 [H, W, 3].
    points: objects with `lmbda`, `decoded` (uint8 [H, W, 3]), `bpp` and
      `psnr`, e.g. from `yoto.compress.sweep`; or {row label: such points}
      for one row per codec (e.g. YOTO above the fixed codecs), the
      original at the start of each.
    title: figure title.
  """
  rows = dict(points) if isinstance(points, Mapping) else {"": points}
  count = max(len(p) for p in rows.values()) + 1
  height, width = original.shape[:2]
  panel = 3.0
  figure = Figure(
    figsize=(panel * count, len(rows) * (panel * height / width + 0.6)), dpi=100
  )
  backend_agg.FigureCanvasAgg(figure)
  axes_grid = np.array(figure.subplots(len(rows), count)).reshape(
    len(rows), count
  )
  for axes_row, (label, row) in zip(axes_grid, rows.items()):
    panels = [(original, "original")] + [
      (
        p.decoded,
        f"{label + ', ' if label else ''}λ={p.lmbda:.3g}\n"
        f"{p.bpp:.3f} bpp, {p.psnr:.1f} dB",
      )
      for p in row
    ]
    for axes in axes_row:
      axes.set_axis_off()
    for axes, (image, text) in zip(axes_row, panels):
      axes.imshow(image)
      axes.set_title(text, fontsize=9)
  if title:
    figure.suptitle(title)
  figure.tight_layout()
  return figure
