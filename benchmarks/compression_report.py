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

import numpy as np

from benchmarks import compression_tables as tables
from benchmarks import reproduction
from benchmarks import run_ledger
from benchmarks import seed_comparison
from yoto import compress
from yoto.analysis import metrics
from yoto.analysis import plots
from yoto.analysis import rate_distortion
from yoto.analysis import rate_distortion_over_seeds as rd_seeds
from yoto.analysis import seed_statistics
from yoto.clients import codec as codec_lib
from yoto.utils import photo_patches

QUALITIES = rd_seeds.QUALITIES
METHOD = tables.METHOD
FULL_IMAGES = photo_patches.TEST_SOURCES
CROPS, FULL, TILES = tables.CROPS, tables.FULL, tables.TILES


# Data.


def tiles(
  image: np.ndarray, size: int, limit: Optional[int] = None
) -> List[np.ndarray]:
  """`image` [H, W, C] cut into size x size tiles, row by row; the last
  H mod size rows and W mod size columns are left out. At most `limit`."""
  tiles_ = [
    image[y : y + size, x : x + size]
    for y in range(0, image.shape[0] - size + 1, size)
    for x in range(0, image.shape[1] - size + 1, size)
  ]
  return tiles_[:limit] if limit else tiles_


def held_out_photos() -> List[np.ndarray]:
  """The test split's photos (never trained on), uint8 [H, W, 3] each."""
  return [photo_patches.load_photo(name) for name in FULL_IMAGES]


# Curves.


def _fixed_lmbda(spec: reproduction.ModelSpec) -> float:
  return float(spec.weights[rate_distortion.LMBDA])


def seed_runs(
  specs, model_root: str, seed: int, steps: int, yoto: bool
) -> Dict[str, Dict[int, metrics.RunMetrics]]:
  """name -> step -> the metrics on the test crops of one seed's finished
  YOTO (or fixed) models, at every evaluated step; each metrics file is
  read once."""
  root = reproduction.seed_dir(model_root, seed)
  return {
    name: metrics.load_steps(directory, reproduction.SPLIT)
    for name, directory in reproduction.finished_dirs(
      specs, root, steps, yoto
    ).items()
  }


def _at(
  runs: Mapping[int, metrics.RunMetrics], step: Optional[int]
) -> Optional[metrics.RunMetrics]:
  """The run at `step` (None: its last); None where it was not evaluated."""
  return runs[max(runs)] if step is None else runs.get(step)


def curves_at(
  fixed_runs,
  yoto_runs,
  step: Optional[int] = None,
  own_steps: Sequence[str] = (),
) -> Dict[str, rate_distortion.RdCurve]:
  """{'fixed': the fixed codecs' curve, YOTO name: its curve} from
  `seed_runs`, at `step` (None: each model's last step; a YOTO model in
  `own_steps` is read at its last step). Empty unless every fixed codec
  was evaluated at `step`; a YOTO codec that was not is left out."""
  curves = {}
  fixed = [_at(runs, step) for runs in fixed_runs.values()]
  if None in fixed:
    return curves
  if len(fixed) >= 2:
    curves["fixed"] = rate_distortion.fixed_curve(fixed)
  for name, runs in yoto_runs.items():
    run = _at(runs, None if name in own_steps else step)
    if run is not None:
      curves[name] = rate_distortion.yoto_curve(run, name)
  return curves


def bd_learning_curves(
  runs, key: str = f"bd_rate_psnr_{METHOD}"
) -> Dict[str, Dict[int, seed_statistics.Interval]]:
  """YOTO name -> step -> interval over seeds of BD `key` at that step,
  at the steps every fixed codec of the first seed was evaluated.

  Args:
    runs: seed -> (fixed, YOTO) `seed_runs` of the YOTO models trained for
      the reproduction's steps.
    key: a key of `rd_seeds.bd_over_seeds`.
  """
  first_fixed = next(iter(runs.values()))[0] if runs else {}
  steps = (
    sorted(set.intersection(*(set(r) for r in first_fixed.values())))
    if first_fixed
    else []
  )
  result = {}
  for step in steps:
    per_seed = {
      seed: curves_at(fixed, yoto, step) for seed, (fixed, yoto) in runs.items()
    }
    for name, keys in rd_seeds.bd_over_seeds(per_seed).items():
      if keys.get(key) is not None:
        result.setdefault(name, {})[step] = keys[key]
  return result


# Whole photos through the hub modules.


def module_rows(
  model_dir: str,
  images: Sequence[np.ndarray],
  lmbdas: Sequence[float],
  split: str,
) -> List[dict]:
  """`compress.evaluate_images` rows of a model's exported codec: a YOTO
  codec at every λ, a fixed one at its own λ."""
  codec = codec_lib.Codec.load(model_dir)
  if not codec.is_conditioned:
    lmbdas = [codec.fixed_lmbda]
  return compress.evaluate_images(codec, images, lmbdas, split)


def kept_rows(
  model_dir: str,
  images: Sequence[np.ndarray],
  lmbdas: Sequence[float],
  split: str,
) -> Optional[List[dict]]:
  """`module_rows`, kept in the model's ledger cache so that they outlive
  its hub module (`run_ledger.cached`); None for a model with neither."""
  return run_ledger.cached(
    model_dir,
    split.replace(" ", "_"),
    {"lmbdas": list(lmbdas), "images": [list(i.shape) for i in images]},
    lambda: (
      module_rows(model_dir, images, lmbdas, split)
      if run_ledger.has_hub_module(model_dir)
      else None
    ),
  )


def keep_image_rows(
  model_dir: str,
  eval_lmbdas: Sequence[float],
  fixed_lmbdas: Sequence[float],
  tile_size: int,
  max_tiles: Optional[int] = None,
) -> None:
  """Codes the held-out photos whole (at `eval_lmbdas`) and as tiles (at
  `fixed_lmbdas`) through a just-trained model's hub module and keeps the
  rows `analyse` reads, before the session that holds the module ends."""
  photos = held_out_photos()
  kept_rows(model_dir, photos, eval_lmbdas, FULL)
  kept_rows(
    model_dir, photo_tiles(photos, tile_size, max_tiles), fixed_lmbdas, TILES
  )


def photo_tiles(photos, tile_size: int, max_tiles=None) -> List[np.ndarray]:
  return [t for p in photos for t in tiles(p, tile_size)][:max_tiles]


def full_image_curves(
  specs, model_root, seed, steps, lmbdas, images, split=FULL
):
  """(curves, rows): like `curves_at`, from `images` coded through the
  hub modules (or as kept by the ledger), and the
  `compress.evaluate_images` rows per model name."""
  root = reproduction.seed_dir(model_root, seed)
  fixed_dirs = reproduction.finished_dirs(specs, root, steps, False)
  yoto_dirs = reproduction.finished_dirs(specs, root, steps, True)
  rows = {
    name: kept_rows(d, images, lmbdas, split)
    for name, d in {**fixed_dirs, **yoto_dirs}.items()
  }
  rows = {name: r for name, r in rows.items() if r is not None}
  fixed_dirs = {n: d for n, d in fixed_dirs.items() if n in rows}
  yoto_dirs = {n: d for n, d in yoto_dirs.items() if n in rows}
  curves = {}
  if len(fixed_dirs) >= 2:
    curves["fixed"] = rate_distortion.rows_curve(
      "fixed", [r for name in fixed_dirs for r in rows[name]]
    )
  curves.update({n: rate_distortion.rows_curve(n, rows[n]) for n in yoto_dirs})
  return curves, rows


def decoded_figure(specs, seed_root, lmbdas, image, region, title):
  """`image` coded at each of `lmbdas` by the first YOTO codec and by the
  fixed codec of that λ, shown as the `region` (y, x, size) crop."""
  y, x, size = region
  crop = lambda a: a[y : y + size, x : x + size]
  yoto_name = next(s.name for s in specs if s.is_yoto)
  fixed = {_fixed_lmbda(s): s.name for s in specs if not s.is_yoto}
  rows = {
    yoto_name: compress.sweep(
      codec_lib.Codec.load(os.path.join(seed_root, yoto_name)), image, lmbdas
    ),
    "fixed": [],
  }
  for lmbda in lmbdas:
    rows["fixed"] += compress.sweep(
      codec_lib.Codec.load(os.path.join(seed_root, fixed[lmbda])),
      image,
      [lmbda],
    )
  rows = {
    label: [
      compress.SweepPoint(p.lmbda, crop(p.decoded), p.bpp, p.psnr)
      for p in points
    ]
    for label, points in rows.items()
  }
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
        return {
          "bpp": v["actual_bpp"],
          "psnr": v["psnr"],
          "pooled_psnr": v["pooled_psnr"],
        }
    return None

  def crop_point(curve, lmbda):
    i = np.flatnonzero(np.isclose(curve.lmbdas, lmbda, rtol=1e-3))
    return (
      None
      if not i.size
      else {
        "bpp": float(curve.bpp[i[0]]),
        "psnr": float(curve.quality["psnr"][i[0]]),
      }
    )

  table = []
  for name, rows in full_rows.items():
    for lmbda in fixed_lmbdas:
      curve = crops.get(name) or crops.get("fixed")
      if name.startswith("fixed") and not np.isclose(
        rows[0]["weights"][rate_distortion.LMBDA], lmbda, rtol=1e-3
      ):
        continue
      cells = {
        CROPS: crop_point(curve, lmbda),
        FULL: point(rows, lmbda),
        TILES: point(tile_rows.get(name) or [], lmbda),
      }
      if all(cells.values()):
        table.append({"model": name, "lmbda": lmbda, **cells})
  return table


def analyse(
  specs,
  model_root: str,
  steps: int,
  seed_list: Sequence[int],
  out_dir: str,
  name: str,
  timings,
  eval_lmbdas: Sequence[float],
  tile_size: int = 64,
  max_tiles: Optional[int] = None,
):
  """Tables and figures of the finished models; returns (results, md)."""
  fixed_lmbdas = [_fixed_lmbda(s) for s in specs if not s.is_yoto]
  own_steps = [s.name for s in specs if s.steps]
  runs = {
    seed: (
      seed_runs(specs, model_root, seed, steps, False),
      seed_runs(specs, model_root, seed, steps, True),
    )
    for seed in seed_list
  }
  per_seed = {
    seed: curves_at(fixed, yoto, None, own_steps)
    for seed, (fixed, yoto) in runs.items()
  }
  per_seed = {s: c for s, c in per_seed.items() if "fixed" in c and len(c) > 1}
  if not per_seed:
    return (
      {"timings": timings},
      "Not enough models finished yet (per seed: one YOTO and two fixed).\n",
    )
  seeds_done = sorted(per_seed)
  first_root = reproduction.seed_dir(model_root, seeds_done[0])
  photos = held_out_photos()
  tiles_ = photo_tiles(photos, tile_size, max_tiles)
  full, first_rows = {}, None
  for seed in seeds_done:
    full[seed], rows = full_image_curves(
      specs, model_root, seed, steps, eval_lmbdas, photos
    )
    first_rows = first_rows or rows  # The tables of one seed use these.
  tile_rows = {
    n: kept_rows(os.path.join(first_root, n), tiles_, fixed_lmbdas, TILES)
    for n in first_rows
  }
  bd_by_seed = {
    CROPS: rd_seeds.bd_per_seed(per_seed),
    FULL: rd_seeds.bd_per_seed(full),
  }
  summaries = {
    data: rd_seeds.bd_intervals(values) for data, values in bd_by_seed.items()
  }
  names = list(per_seed[seeds_done[0]])
  means = {
    data: {
      n: rd_seeds.mean_curve(n, [c[n] for c in curves.values() if n in c])
      for n in names
    }
    for data, curves in ((CROPS, per_seed), (FULL, full))
  }
  span = rd_seeds.rate_span([c["fixed"] for c in per_seed.values()])
  bd_steps = bd_learning_curves(
    {
      seed: (fixed, {n: r for n, r in yoto.items() if n not in own_steps})
      for seed, (fixed, yoto) in runs.items()
      if seed in per_seed
    }
  )
  # Full loss per λ and convergence, as for the β-VAE.
  curves = seed_comparison.collect_curves(
    specs,
    model_root,
    seeds_done,
    steps,
    lambda w: float(w[rate_distortion.LMBDA]),
  )
  fixed = {_fixed_lmbda(s): s.name for s in specs if not s.is_yoto}
  present = [s.name for s in specs if s.is_yoto and s.name in curves]
  gaps = seed_comparison.gaps_and_convergence(curves, specs, fixed)
  table = _crops_tiles_table(
    per_seed[seeds_done[0]], first_rows, tile_rows, fixed_lmbdas
  )
  speeds = {
    n: {
      k: float(
        np.median([r["values"][f"{k}_megapixels_per_second"] for r in rows])
      )
      for k in ("encode", "decode")
    }
    for n, rows in first_rows.items()
  }
  paths = _write_figures(
    specs,
    means,
    bd_steps,
    _decoded_figure_root(specs, model_root, seeds_done),
    steps,
    fixed_lmbdas,
    photos[-1],
    out_dir,
    name,
  )
  report = {
    "steps": steps,
    "seeds": seeds_done,
    "split": reproduction.SPLIT,
    "full_images": list(FULL_IMAGES),
    "bd_method": METHOD,
    "bd": _json(summaries),
    "bd_per_seed": _json(bd_by_seed),
    "fixed_rate_span": span,
    "bd_rate_psnr_by_step": _json(bd_steps),
    "curves": {
      data: {
        n: {
          "lmbda": c.lmbdas.tolist(),
          "bpp": c.bpp.tolist(),
          **{q: c.quality[q].tolist() for q in QUALITIES},
          "errors": {k: v.tolist() for k, v in c.errors.items()},
        }
        for n, c in m.items()
      }
      for data, m in means.items()
    },
    "full_loss_gaps": [
      {
        "lmbda": r["label"],
        "fixed": _json(r["fixed"]),
        "gaps": _json(r["gaps"]),
        "relative": r["relative"],
      }
      for r in gaps.rows
    ],
    "convergence": gaps.convergence,
    "crops_and_tiles": table,
    "speed_megapixels_per_second": speeds,
    "timings": timings,
    "cpu_seconds": seed_comparison.cpu_summary(
      timings, list(fixed.values()), present
    ),
    "files": [os.path.basename(p) for p in paths],
  }
  return report, tables.markdown(
    report,
    summaries,
    means,
    gaps.rows,
    gaps.convergence,
    table,
    speeds,
    timings,
    fixed_lmbdas,
    tile_size,
    bd_steps,
    bd_by_seed,
  )


def _decoded_figure_root(specs, model_root, seeds) -> Optional[str]:
  """The directory of the first seed whose fixed codecs and first YOTO
  codec still have their hub modules here (the ledger keeps none)."""
  shown = [s.name for s in specs if not s.is_yoto] + [
    next(s.name for s in specs if s.is_yoto)
  ]
  return run_ledger.first_complete(
    [reproduction.seed_dir(model_root, seed) for seed in seeds],
    shown,
    run_ledger.has_hub_module,
  )


def _write_figures(
  specs, means, bd_steps, seed_root, steps, fixed_lmbdas, photo, out_dir, name
) -> List[str]:
  paths = []
  for suffix, data in (("_rd", CROPS), ("_rd_full", FULL)):
    curves = [
      rate_distortion.RdCurve(
        f"fixed λ ({len(fixed_lmbdas)} codecs)" if n == "fixed" else n,
        c.lmbdas,
        c.bpp,
        c.quality,
        c.errors,
      )
      for n, c in means[data].items()
    ]
    figure = rate_distortion.rd_figure(
      curves,
      title=f"photo_patches hyperprior, {steps} steps, {data} "
      "(seed mean, 95 % intervals)",
    )
    paths.append(
      plots.save(figure, os.path.join(out_dir, f"{name}{suffix}.png"))
    )
  if bd_steps:
    paths.append(
      plots.save(
        tables.bd_steps_figure(
          bd_steps, "BD-rate of YOTO against the fixed codecs, test crops"
        ),
        os.path.join(out_dir, f"{name}_bd_steps.png"),
      )
    )
  if len(fixed_lmbdas) >= 3 and seed_root is not None:
    chosen = [
      fixed_lmbdas[0],
      fixed_lmbdas[len(fixed_lmbdas) // 2],
      fixed_lmbdas[-1],
    ]
    size = min(192, *photo.shape[:2])
    region = ((photo.shape[0] - size) // 2, (photo.shape[1] - size) // 2, size)
    paths.append(
      plots.save(
        decoded_figure(
          specs,
          seed_root,
          chosen,
          photo,
          region,
          f"{FULL_IMAGES[-1]} (a {size}x{size} region; bpp and PSNR of the "
          "whole photo)",
        ),
        os.path.join(out_dir, f"{name}_decoded.png"),
      )
    )
  return paths
