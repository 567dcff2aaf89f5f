"""The analysis of the compression reproduction (`reproduce_compression`).

Per seed, the rate-distortion curve of each YOTO codec (one point per eval
λ) is compared with the curve of that seed's fixed-λ codecs (one point
each) by the Bjøntegaard deltas of `yoto.analysis.rate_distortion`; the
deltas are then summarised over seeds as mean ± 95 % interval
(`seed_statistics.interval`). The same is done at every evaluated step (the
BD-rate learning curve), on the test crops written during training and on
the held-out photos coded whole through the exported hub modules.

Crops and whole images measure different things, and the report shows why:
the test crops skip flat regions (`photo_patches.MIN_CROP_STD`), a mean of
per-crop PSNRs exceeds the PSNR of the pooled error (easy crops count as
much as hard ones), and a whole image shares context across crop borders.
`tiles` cuts the held-out photos into crops of the training size, so that
the table can set a codec's whole-image numbers beside the same pixels
coded as crops, PSNR pooled and averaged.
"""

import os
from typing import Dict, List, Mapping, Optional, Sequence

from matplotlib.backends import backend_agg
from matplotlib.figure import Figure
import numpy as np

from benchmarks import common
from benchmarks import reproduction
from yoto import compress
from yoto.analysis import metrics
from yoto.analysis import plots
from yoto.analysis import rate_distortion
from yoto.analysis import seed_statistics
from yoto.utils import photo_patches

QUALITIES = ("psnr", "ms_ssim_db")
# BD deltas in the tables: pchip (exact through the points, as VCEG/JVET
# use it); the json also holds the original cubic fit.
METHOD = "pchip"
FULL_IMAGES = photo_patches.TEST_SOURCES
CROPS, FULL, TILES = "test crops", "full photos", "tiles"


# Data.


def tiles(image: np.ndarray, size: int,
          limit: Optional[int] = None) -> List[np.ndarray]:
  """`image` [H, W, C] cut into size x size tiles, row by row; the last
  H mod size rows and W mod size columns are left out. At most `limit`."""
  tiles_ = [image[y:y + size, x:x + size]
            for y in range(0, image.shape[0] - size + 1, size)
            for x in range(0, image.shape[1] - size + 1, size)]
  return tiles_[:limit] if limit else tiles_


def held_out_photos() -> List[np.ndarray]:
  """The test split's photos (never trained on), uint8 [H, W, 3] each."""
  return [photo_patches.load_photo(name) for name in FULL_IMAGES]


# Curves.


def _fixed_lmbda(spec: reproduction.ModelSpec) -> float:
  return float(spec.weights[rate_distortion.LMBDA])


def seed_curves(specs, model_root: str, seed: int, steps: int,
                step: Optional[int] = None) -> Dict[str, rate_distortion.RdCurve]:
  """{'fixed': the fixed codecs' curve, YOTO name: its curve} of one seed's
  finished models on the test crops, at `step` (None: each model's last
  step; a YOTO model with its own steps is read at its last step)."""
  root = reproduction.seed_dir(model_root, seed)
  fixed_dirs = reproduction.finished_dirs(specs, root, steps, False)
  yoto_dirs = reproduction.finished_dirs(specs, root, steps, True)
  own = {s.name for s in specs if s.steps}
  curves = {}
  try:
    fixed = [metrics.load_run(d, step, reproduction.SPLIT)
             for d in fixed_dirs.values()]
  except metrics.MetricsError:
    return curves
  if len(fixed) >= 2:
    curves["fixed"] = rate_distortion.fixed_curve(fixed)
  for name, directory in yoto_dirs.items():
    try:
      run = metrics.load_run(directory, None if name in own else step,
                             reproduction.SPLIT)
    except metrics.MetricsError:
      continue
    curves[name] = rate_distortion.yoto_curve(run, name)
  return curves


def bd_values(fixed: rate_distortion.RdCurve,
              test: rate_distortion.RdCurve) -> Dict[str, Optional[float]]:
  """BD-rate (%) and BD-quality (dB) of `test` against `fixed` per quality
  and fit: keys bd_rate_<quality>_<method>, bd_<quality>_<method>; None
  where the curves are too short or do not overlap."""
  values = {}
  for quality in QUALITIES:
    for method in rate_distortion.METHODS:
      args = (fixed.bpp, fixed.quality[quality], test.bpp,
              test.quality[quality], method)
      for key, fn in ((f"bd_rate_{quality}_{method}", rate_distortion.bd_rate),
                      (f"bd_{quality}_{method}", rate_distortion.bd_quality)):
        try:
          values[key] = float(fn(*args))
        except ValueError:
          values[key] = None
  return values


def bd_over_seeds(per_seed: Mapping[int, Mapping[str, rate_distortion.RdCurve]]
                  ) -> Dict[str, Dict[str, Optional[seed_statistics.Interval]]]:
  """YOTO name -> BD key -> interval over the seeds with both curves."""
  values = {}
  for curves in per_seed.values():
    if "fixed" not in curves:
      continue
    for name, curve in curves.items():
      if name != "fixed":
        for key, value in bd_values(curves["fixed"], curve).items():
          values.setdefault(name, {}).setdefault(key, []).append(value)
  return {name: {key: seed_statistics.interval(v) for key, v in keys.items()}
          for name, keys in values.items()}


def evaluated_steps(specs, model_root: str, seed: int, steps: int) -> List[int]:
  """The steps at which every fixed codec of the seed was evaluated."""
  root = reproduction.seed_dir(model_root, seed)
  sets = [set(_steps_of(d)) for d in reproduction.finished_dirs(
      specs, root, steps, False).values()]
  return sorted(set.intersection(*sets)) if sets else []


def _steps_of(model_dir: str) -> List[int]:
  return [int(r["step"]) for r in metrics.read_rows(model_dir)
          if r.get("split") == reproduction.SPLIT]


def bd_learning_curves(specs, model_root: str, seed_list: Sequence[int],
                       steps: int, key: str = f"bd_rate_psnr_{METHOD}"
                       ) -> Dict[str, Dict[int, seed_statistics.Interval]]:
  """YOTO name -> step -> interval over seeds of BD `key` at that step
  (YOTO models trained for the reproduction's steps)."""
  same_steps = [s for s in specs if s.is_yoto and not s.steps]
  result = {}
  for step in evaluated_steps(specs, model_root, seed_list[0], steps):
    per_seed = {seed: seed_curves(same_steps + [s for s in specs
                                                if not s.is_yoto],
                                  model_root, seed, steps, step)
                for seed in seed_list}
    for name, keys in bd_over_seeds(per_seed).items():
      if keys.get(key) is not None:
        result.setdefault(name, {})[step] = keys[key]
  return result


# Whole photos through the hub modules.


def module_rows(model_dir: str, images: Sequence[np.ndarray],
                lmbdas: Sequence[float], split: str) -> List[dict]:
  """`compress.evaluate_images` rows of a model's exported codec: a YOTO
  codec at every λ, a fixed one at its own λ."""
  codec = compress.Codec.load(model_dir)
  if not codec.is_conditioned:
    lmbdas = [codec.fixed_lmbda]
  return compress.evaluate_images(codec, images, lmbdas, split)


def full_image_curves(specs, model_root, seed, steps, lmbdas, images,
                      split=FULL) -> Dict[str, rate_distortion.RdCurve]:
  """Like `seed_curves`, from `images` coded through the hub modules; also
  returns the rows (model name -> rows) as `curves['rows']`."""
  root = reproduction.seed_dir(model_root, seed)
  fixed_dirs = reproduction.finished_dirs(specs, root, steps, False)
  yoto_dirs = reproduction.finished_dirs(specs, root, steps, True)
  rows = {name: module_rows(d, images, lmbdas, split)
          for name, d in {**fixed_dirs, **yoto_dirs}.items()}
  curves = {}
  if len(fixed_dirs) >= 2:
    curves["fixed"] = rate_distortion.rows_curve(
        "fixed", [r for name in fixed_dirs for r in rows[name]])
  curves.update({n: rate_distortion.rows_curve(n, rows[n]) for n in yoto_dirs})
  return curves, rows


# Summaries.


def mean_curve(name: str, curves: Sequence[rate_distortion.RdCurve]
               ) -> rate_distortion.RdCurve:
  """Seed mean of curves evaluated at the same λ, with 95 % half-widths as
  error bars (zero with one seed)."""
  lmbdas = sorted(set.intersection(*(set(np.round(c.lmbdas, 8))
                                     for c in curves)))

  def at(curve, values, lmbda):
    return float(values[np.flatnonzero(np.isclose(curve.lmbdas, lmbda,
                                                  rtol=1e-6))[0]])

  def stats(get):
    intervals = [seed_statistics.interval([get(c, lmbda) for c in curves])
                 for lmbda in lmbdas]
    return (np.array([i.mean for i in intervals]),
            np.array([i.half_width or 0.0 for i in intervals]))

  bpp, bpp_err = stats(lambda c, lmbda: at(c, c.bpp, lmbda))
  quality, errors = {}, {"bpp": bpp_err}
  for key in QUALITIES:
    quality[key], errors[key] = stats(
        lambda c, lmbda, k=key: at(c, c.quality[k], lmbda))
  order = np.argsort(bpp, kind="stable")
  return rate_distortion.RdCurve(
      name, np.array(lmbdas)[order], bpp[order],
      {k: v[order] for k, v in quality.items()},
      {k: v[order] for k, v in errors.items()})


def rate_span(fixed_curves: Sequence[rate_distortion.RdCurve]) -> dict:
  """The fixed codecs' rate range: seed-mean bpp at the lowest and highest
  λ, their ratio, and whether PSNR rises with λ in every seed."""
  mean = mean_curve("fixed", fixed_curves)
  by_lmbda = np.argsort(mean.lmbdas)
  low, high = mean.bpp[by_lmbda[0]], mean.bpp[by_lmbda[-1]]
  monotone = all(np.all(np.diff(c.quality["psnr"][np.argsort(c.lmbdas)]) > 0)
                 for c in fixed_curves)
  return {"low_bpp": float(low), "high_bpp": float(high),
          "ratio": float(high / low) if low > 0 else None,
          "psnr_monotone_in_lmbda": bool(monotone)}


def _cell(value: Optional[seed_statistics.Interval], digits: int,
          unit: str) -> str:
  return "n/a" if value is None else value.format(digits, sign=True) + unit


def bd_markdown(summaries: Mapping[str, Mapping[str, Mapping]]) -> str:
  """One row per (data, YOTO model): the BD deltas as intervals."""
  rows = [[data, name] +
          [_cell(bd.get(f"bd_rate_{q}_{METHOD}"), 1, " %") for q in QUALITIES] +
          [_cell(bd.get(f"bd_{q}_{METHOD}"), 2, " dB") for q in QUALITIES]
          for data, per_model in summaries.items()
          for name, bd in per_model.items()]
  return common.markdown_table(
      ["data", "model", "BD-rate (PSNR)", "BD-rate (MS-SSIM dB)", "BD-PSNR",
       "BD-MS-SSIM (dB)"], rows)


def points_markdown(means: Mapping[str, rate_distortion.RdCurve],
                    lmbdas: Sequence[float]) -> str:
  """Per fixed λ: seed-mean bpp / PSNR of every curve at that λ."""
  rows = []
  for lmbda in lmbdas:
    row = [f"{lmbda:g}"]
    for curve in means.values():
      match = np.flatnonzero(np.isclose(curve.lmbdas, lmbda, rtol=1e-3))
      row.append("" if not match.size else
                 f"{curve.bpp[match[0]]:.3f} / "
                 f"{curve.quality['psnr'][match[0]]:.2f}")
    rows.append(row)
  return common.markdown_table(
      ["λ"] + [f"{name} bpp / PSNR" for name in means], rows)


def crops_tiles_markdown(table: Sequence[dict]) -> str:
  """The same codec on test crops, whole photos and the photos' tiles."""
  rows = [[r["model"], f"{r['lmbda']:g}"] + [
      f"{r[k]['bpp']:.3f} / {r[k]['psnr']:.2f}"
      + (f" ({r[k]['pooled_psnr']:.2f})" if "pooled_psnr" in r[k] else "")
      for k in (CROPS, FULL, TILES)] for r in table]
  return common.markdown_table(
      ["model", "λ", "test crops: bpp / mean PSNR",
       "whole photos: bpp / mean PSNR (pooled)",
       "tiles of them: bpp / mean PSNR (pooled)"], rows)


def gap_markdown(rows: Sequence[dict]) -> str:
  """Full-loss gap per λ (`seed_statistics.gap_rows`), bits per pixel."""
  methods = list(rows[0]["gaps"]) if rows else []
  table = [[f"{r['label']:g}",
            "n/a" if r["fixed"] is None else
            f"{r['fixed'].mean:.4f} (sd {r['fixed'].std or 0:.4f})"] +
           [_cell(r["gaps"][m], 4, "") +
            ("" if r["relative"][m] is None else
             f" ({100 * r['relative'][m]:+.1f} %)") for m in methods]
           for r in rows]
  return common.markdown_table(
      ["λ", "fixed full loss (seed sd)"] + [f"{m} − fixed" for m in methods],
      table)


def convergence_markdown(statements: Mapping[str, Optional[dict]]) -> str:
  rows = [[name, "n/a" if s is None else f"{s['label']:g}",
           "n/a" if s is None else f"{s['last_quarter_change']:+.4f}",
           "n/a" if s is None or s["relative_change"] is None else
           f"{100 * s['relative_change']:+.2f} %",
           "n/a" if s is None else
           f"{100 * s['share_of_improvement']:.1f} %" +
           ("" if s["plateaued"] else " (not plateaued)")]
          for name, s in statements.items()]
  return common.markdown_table(
      ["model", "worst λ", "last-quarter change (bpp units)",
       "relative change", "share of the run's improvement"], rows)


def speed_markdown(speeds: Mapping[str, Mapping[str, float]]) -> str:
  rows = [[name, f"{s['encode']:.2f}", f"{s['decode']:.2f}"]
          for name, s in speeds.items()]
  return common.markdown_table(["model", "encode MP/s", "decode MP/s"], rows)


# Figures.


def bd_steps_figure(curves: Mapping[str, Mapping[int, seed_statistics.Interval]],
                    title: str) -> Figure:
  """BD-rate (PSNR) against training steps, one line per YOTO codec, with
  95 % intervals over seeds."""
  figure = Figure(figsize=(6.0, 4.0), dpi=100)
  backend_agg.FigureCanvasAgg(figure)
  axes = figure.subplots()
  for name, per_step in curves.items():
    steps = sorted(per_step)
    axes.errorbar(steps, [per_step[s].mean for s in steps],
                  yerr=[per_step[s].half_width or 0.0 for s in steps],
                  marker="o", capsize=3, label=name)
  axes.axhline(0.0, color="gray", linewidth=0.8)
  axes.set_xlabel("training step")
  axes.set_ylabel("BD-rate vs fixed codecs, PSNR (%)")
  axes.set_title(title, fontsize=9)
  axes.grid(alpha=0.3)
  axes.legend(fontsize=8)
  figure.tight_layout()
  return figure


def decoded_figure(specs, seed_root, steps, lmbdas, image, region, title):
  """`image` coded at each of `lmbdas` by the first YOTO codec and by the
  fixed codec of that λ, shown as the `region` (y, x, size) crop."""
  y, x, size = region
  crop = lambda a: a[y:y + size, x:x + size]
  yoto_name = next(s.name for s in specs if s.is_yoto)
  fixed = {_fixed_lmbda(s): s.name for s in specs if not s.is_yoto}
  rows = {yoto_name: compress.sweep(compress.Codec.load(
      os.path.join(seed_root, yoto_name)), image, lmbdas), "fixed": []}
  for lmbda in lmbdas:
    rows["fixed"] += compress.sweep(compress.Codec.load(
        os.path.join(seed_root, fixed[lmbda])), image, [lmbda])
  rows = {label: [compress.SweepPoint(p.lmbda, crop(p.decoded), p.bpp,
                                      p.psnr) for p in points]
          for label, points in rows.items()}
  return rate_distortion.sweep_figure(crop(image), rows, title)


# The whole analysis.


def _json(value):
  if isinstance(value, seed_statistics.Interval):
    return value.to_json()
  if isinstance(value, Mapping):
    return {str(k): _json(v) for k, v in value.items()}
  return value


def _crops_tiles_table(crops, full_rows, tile_rows, fixed_lmbdas):
  """Rows of `crops_tiles_markdown`: each fixed codec at its λ and each
  YOTO codec at the fixed λ, on the three data."""
  def point(rows, lmbda):
    for row in rows:
      if np.isclose(row["weights"][rate_distortion.LMBDA], lmbda, rtol=1e-3):
        v = row["values"]
        return {"bpp": v["actual_bpp"], "psnr": v["psnr"],
                "pooled_psnr": v["pooled_psnr"]}
    return None

  def crop_point(curve, lmbda):
    i = np.flatnonzero(np.isclose(curve.lmbdas, lmbda, rtol=1e-3))
    return None if not i.size else {"bpp": float(curve.bpp[i[0]]),
                                    "psnr": float(curve.quality["psnr"][i[0]])}

  table = []
  for name, rows in full_rows.items():
    for lmbda in fixed_lmbdas:
      curve = crops.get(name) or crops.get("fixed")
      if name.startswith("fixed") and not np.isclose(
          rows[0]["weights"][rate_distortion.LMBDA], lmbda, rtol=1e-3):
        continue
      cells = {CROPS: crop_point(curve, lmbda), FULL: point(rows, lmbda),
               TILES: point(tile_rows[name], lmbda)}
      if all(cells.values()):
        table.append({"model": name, "lmbda": lmbda, **cells})
  return table


def analyse(specs, model_root: str, steps: int, seed_list: Sequence[int],
            out_dir: str, name: str, timings, eval_lmbdas: Sequence[float],
            tile_size: int = 64, max_tiles: Optional[int] = None):
  """Tables and figures of the finished models; returns (results, md)."""
  fixed_lmbdas = [_fixed_lmbda(s) for s in specs if not s.is_yoto]
  per_seed = {seed: seed_curves(specs, model_root, seed, steps)
              for seed in seed_list}
  per_seed = {s: c for s, c in per_seed.items()
              if "fixed" in c and len(c) > 1}
  if not per_seed:
    return ({"timings": timings},
            "Not enough models finished yet (per seed: one YOTO and two "
            "fixed).\n")
  seeds_done = sorted(per_seed)
  first_root = reproduction.seed_dir(model_root, seeds_done[0])
  photos = held_out_photos()
  photo_tiles = [t for p in photos for t in tiles(p, tile_size)][:max_tiles]
  full, full_rows = {}, {}
  for seed in seeds_done:
    full[seed], rows = full_image_curves(specs, model_root, seed, steps,
                                         eval_lmbdas, photos)
    full_rows.setdefault(seed, rows)
  tile_rows = {n: module_rows(os.path.join(first_root, n), photo_tiles,
                              fixed_lmbdas, TILES)
               for n in full_rows[seeds_done[0]]}
  summaries = {CROPS: bd_over_seeds(per_seed), FULL: bd_over_seeds(full)}
  names = [n for n in per_seed[seeds_done[0]]]
  means = {data: {n: mean_curve(n, [c[n] for c in curves.values() if n in c])
                  for n in names}
           for data, curves in ((CROPS, per_seed), (FULL, full))}
  span = rate_span([c["fixed"] for c in per_seed.values()])
  bd_steps = bd_learning_curves(specs, model_root, seeds_done, steps)
  # Full loss per λ and convergence, as for the β-VAE.
  curves = reproduction.collect_curves(
      specs, model_root, seeds_done, steps,
      lambda w: float(w[rate_distortion.LMBDA]))
  fixed = {_fixed_lmbda(s): s.name for s in specs if not s.is_yoto}
  present = [s.name for s in specs if s.is_yoto and s.name in curves]
  own_steps = {s.name for s in specs if s.steps}
  step = seed_statistics.final_step(
      curves, [m for m in curves if m not in own_steps])
  method_steps = {m: seed_statistics.final_step(curves, [m])
                  for m in present if m in own_steps}
  gaps = seed_statistics.gap_rows(curves, fixed, present, step,
                                  method_steps=method_steps)
  statements = {m: seed_statistics.model_convergence(
      curves, m, fixed_lmbdas if m in present else
      [lmbda for lmbda, n in fixed.items() if n == m]) for m in curves}
  table = _crops_tiles_table(per_seed[seeds_done[0]], full_rows[seeds_done[0]],
                             tile_rows, fixed_lmbdas)
  speeds = {n: {k: float(np.median([r["values"][f"{k}_megapixels_per_second"]
                                    for r in rows]))
                for k in ("encode", "decode")}
            for n, rows in full_rows[seeds_done[0]].items()}
  paths = _write_figures(specs, means, bd_steps, first_root, steps,
                         fixed_lmbdas, photos[-1], out_dir, name)
  sweep_cpu = reproduction.cpu_seconds(timings, list(fixed.values()))
  yoto_cpu = {v: reproduction.cpu_seconds(timings, [v]) for v in present}
  results = {
      "steps": steps, "seeds": seeds_done, "split": reproduction.SPLIT,
      "full_images": list(FULL_IMAGES), "bd_method": METHOD,
      "bd": _json(summaries), "fixed_rate_span": span,
      "bd_rate_psnr_by_step": _json(bd_steps),
      "curves": {data: {n: {"lmbda": c.lmbdas.tolist(), "bpp": c.bpp.tolist(),
                            **{q: c.quality[q].tolist() for q in QUALITIES},
                            "errors": {k: v.tolist()
                                       for k, v in c.errors.items()}}
                        for n, c in m.items()} for data, m in means.items()},
      "full_loss_gaps": [{"lmbda": r["label"], "fixed": _json(r["fixed"]),
                          "gaps": _json(r["gaps"]),
                          "relative": r["relative"]} for r in gaps],
      "convergence": statements, "crops_and_tiles": table,
      "speed_megapixels_per_second": speeds, "timings": timings,
      "cpu_seconds": {"fixed_sweep": sweep_cpu, **yoto_cpu},
      "files": [os.path.basename(p) for p in paths]}
  return results, _markdown(results, summaries, means, gaps, statements,
                            table, speeds, timings, fixed_lmbdas, tile_size)


def _write_figures(specs, means, bd_steps, seed_root, steps, fixed_lmbdas,
                   photo, out_dir, name) -> List[str]:
  paths = []
  for suffix, data in (("_rd", CROPS), ("_rd_full", FULL)):
    curves = [rate_distortion.RdCurve(
        f"fixed λ ({len(fixed_lmbdas)} codecs)" if n == "fixed" else n,
        c.lmbdas, c.bpp, c.quality, c.errors) for n, c in means[data].items()]
    figure = rate_distortion.rd_figure(
        curves, title=f"photo_patches hyperprior, {steps} steps, {data} "
        "(seed mean, 95 % intervals)")
    paths.append(plots.save(figure, os.path.join(out_dir,
                                                 f"{name}{suffix}.png")))
  if bd_steps:
    paths.append(plots.save(bd_steps_figure(
        bd_steps, "BD-rate of YOTO against the fixed codecs, test crops"),
        os.path.join(out_dir, f"{name}_bd_steps.png")))
  if len(fixed_lmbdas) >= 3 and os.path.exists(
      os.path.join(seed_root, next(s.name for s in specs if s.is_yoto))):
    chosen = [fixed_lmbdas[0], fixed_lmbdas[len(fixed_lmbdas) // 2],
              fixed_lmbdas[-1]]
    size = min(192, *photo.shape[:2])
    region = ((photo.shape[0] - size) // 2, (photo.shape[1] - size) // 2,
              size)
    paths.append(plots.save(decoded_figure(
        specs, seed_root, steps, chosen, photo, region,
        f"{FULL_IMAGES[-1]} (a {size}x{size} region; bpp and PSNR of the "
        "whole photo)"), os.path.join(out_dir, f"{name}_decoded.png")))
  return paths


def _markdown(results, summaries, means, gaps, statements, table, speeds,
              timings, fixed_lmbdas, tile_size) -> str:
  span = results["fixed_rate_span"]
  seeds = ", ".join(map(str, results["seeds"]))
  cpu = results["cpu_seconds"]
  md = (
      f"After {results['steps']} steps per model, seeds {seeds}. "
      "Bjøntegaard deltas of each YOTO codec against the fixed-λ codecs of "
      f"the same seed ({METHOD} fit; mean ± 95 % interval over seeds; "
      "BD-rate < 0 and BD-quality > 0: YOTO better), range-coded bits; "
      f"test crops of {' and '.join(FULL_IMAGES)} and the two photos coded "
      "whole:\n\n" + bd_markdown(summaries) +
      f"\nThe fixed codecs span {span['low_bpp']:.3f} to "
      f"{span['high_bpp']:.3f} bpp on the test crops "
      f"({span['ratio']:.1f}x); PSNR "
      f"{'rises' if span['psnr_monotone_in_lmbda'] else 'does not rise'} "
      "with λ in every seed.\n\n"
      "Rate-distortion points at the fixed codecs' λ (seed means), test "
      "crops:\n\n" + points_markdown(means[CROPS], fixed_lmbdas) +
      "\nThe same, the held-out photos coded whole:\n\n" +
      points_markdown(means[FULL], fixed_lmbdas) +
      "\nFull loss (rate + λ · MSE: bits per pixel plus λ times the 0-255 "
      "MSE) on the test crops: "
      "method − fixed at each λ, mean ± 95 % interval over seeds (paired), "
      "the fixed codec's seed sd beside it:\n\n" + gap_markdown(gaps) +
      "\nConvergence of the test full loss over the last quarter of the run "
      "(seed mean; a YOTO codec at its worst λ); 'not plateaued' when it is "
      f"more than {100 * seed_statistics.PLATEAU_SHARE:.0f} % of the "
      "improvement since the first evaluation:\n\n" +
      convergence_markdown(statements) +
      f"\nOne codec on three data (first seed): the test crops, the "
      f"held-out photos whole, and the same photos cut into {tile_size}x"
      f"{tile_size} tiles (mean PSNR over images; in brackets the PSNR of "
      "the pooled MSE):\n\n" + crops_tiles_markdown(table) +
      "\nCoding speed on the whole photos through the exported hub module "
      "(megapixels per second, median over λ, range coding included):\n\n" +
      speed_markdown(speeds))
  if cpu.get("fixed_sweep"):
    md += (f"\nCPU time per seed: the {len(fixed_lmbdas)} fixed codecs "
           f"together {cpu['fixed_sweep']:.0f} s; " + ", ".join(
               f"{n} {c:.0f} s ({cpu['fixed_sweep'] / c:.1f}x less)"
               for n, c in cpu.items() if n != "fixed_sweep" and c) + ".\n")
  return md + "\n" + reproduction.seconds_line(timings)
