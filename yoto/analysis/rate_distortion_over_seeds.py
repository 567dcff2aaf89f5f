"""Rate-distortion curves over training seeds: Bjøntegaard deltas as
intervals, seed-mean curves with error bars, and the span of a sweep.

A reproduction trains every codec with several seeds. Per seed, each YOTO
codec's curve (one point per eval λ) is compared with the curve of that
seed's fixed-λ codecs (one point each) by `rate_distortion.bd_rate` and
`bd_quality`; the deltas are then summarised over seeds as mean ± 95 %
interval (`seed_statistics.interval`), so that a BD-rate can be told from
noise.
"""

from typing import Dict, Mapping, Optional, Sequence

import numpy as np

from yoto.analysis import rate_distortion
from yoto.analysis import seed_statistics

QUALITIES = tuple(rate_distortion.QUALITY_LABELS)
# Curves per seed: {seed: {'fixed': curve, YOTO name: curve, ...}}.
SeedCurves = Mapping[int, Mapping[str, rate_distortion.RdCurve]]


def bd_values(
  fixed: rate_distortion.RdCurve, test: rate_distortion.RdCurve
) -> Dict[str, Optional[float]]:
  """BD-rate (%) and BD-quality (dB) of `test` against `fixed` per quality
  and fit: keys bd_rate_<quality>_<method>, bd_<quality>_<method>; None
  where the curves are too short or do not overlap."""
  values = {}
  for quality in QUALITIES:
    for method in rate_distortion.METHODS:
      args = (
        fixed.bpp,
        fixed.quality[quality],
        test.bpp,
        test.quality[quality],
        method,
      )
      for key, fn in (
        (f"bd_rate_{quality}_{method}", rate_distortion.bd_rate),
        (f"bd_{quality}_{method}", rate_distortion.bd_quality),
      ):
        try:
          values[key] = float(fn(*args))
        except ValueError:
          values[key] = None
  return values


def bd_per_seed(
  per_seed: SeedCurves,
) -> Dict[str, Dict[str, Dict[int, Optional[float]]]]:
  """YOTO name -> BD key -> seed -> that seed's value (`bd_values`), over
  the seeds with a fixed-λ curve."""
  values = {}
  for seed, curves in per_seed.items():
    if "fixed" not in curves:
      continue
    for name, curve in curves.items():
      if name != "fixed":
        for key, value in bd_values(curves["fixed"], curve).items():
          values.setdefault(name, {}).setdefault(key, {})[seed] = value
  return values


def bd_intervals(
  by_seed: Mapping[str, Mapping[str, Mapping[int, Optional[float]]]],
) -> Dict[str, Dict[str, Optional[seed_statistics.Interval]]]:
  """`bd_per_seed`'s values -> YOTO name -> BD key -> interval over seeds."""
  return {
    name: {
      key: seed_statistics.interval(list(values.values()))
      for key, values in keys.items()
    }
    for name, keys in by_seed.items()
  }


def bd_over_seeds(
  per_seed: SeedCurves,
) -> Dict[str, Dict[str, Optional[seed_statistics.Interval]]]:
  """YOTO name -> BD key -> interval over the seeds with both curves."""
  return bd_intervals(bd_per_seed(per_seed))


def mean_curve(
  name: str, curves: Sequence[rate_distortion.RdCurve]
) -> rate_distortion.RdCurve:
  """Seed mean of curves evaluated at the same λ, with 95 % half-widths as
  error bars (zero with one seed)."""
  lmbdas = sorted(
    set.intersection(*(set(np.round(c.lmbdas, 8)) for c in curves))
  )

  def at(curve, values, lmbda):
    return float(
      values[np.flatnonzero(np.isclose(curve.lmbdas, lmbda, rtol=1e-6))[0]]
    )

  def stats(get):
    intervals = [
      seed_statistics.interval([get(c, lmbda) for c in curves])
      for lmbda in lmbdas
    ]
    return (
      np.array([i.mean for i in intervals]),
      np.array([i.half_width or 0.0 for i in intervals]),
    )

  bpp, bpp_err = stats(lambda c, lmbda: at(c, c.bpp, lmbda))
  quality, errors = {}, {"bpp": bpp_err}
  for key in QUALITIES:
    quality[key], errors[key] = stats(
      lambda c, lmbda, k=key: at(c, c.quality[k], lmbda)
    )
  order = np.argsort(bpp, kind="stable")
  return rate_distortion.RdCurve(
    name,
    np.array(lmbdas)[order],
    bpp[order],
    {k: v[order] for k, v in quality.items()},
    {k: v[order] for k, v in errors.items()},
  )


def rate_span(fixed_curves: Sequence[rate_distortion.RdCurve]) -> dict:
  """The fixed codecs' rate range: seed-mean bpp at the lowest and highest
  λ, their ratio, and whether PSNR rises with λ in every seed."""
  mean = mean_curve("fixed", fixed_curves)
  by_lmbda = np.argsort(mean.lmbdas)
  low, high = mean.bpp[by_lmbda[0]], mean.bpp[by_lmbda[-1]]
  monotone = all(
    np.all(np.diff(c.quality["psnr"][np.argsort(c.lmbdas)]) > 0)
    for c in fixed_curves
  )
  return {
    "low_bpp": float(low),
    "high_bpp": float(high),
    "ratio": float(high / low) if low > 0 else None,
    "psnr_monotone_in_lmbda": bool(monotone),
  }
