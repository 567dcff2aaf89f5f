r"""A reduced-scale reproduction of the paper's compression results (Figure 5).

  python -m benchmarks.reproduce_compression               # ~45 min, 2 cores
  python -m benchmarks.reproduce_compression --steps=20000 # longer (resumable)
  python -m benchmarks.reproduce_compression --tiny        # a few steps; tests

On the embedded dataset (64x64 crops of scikit-image's photos,
config/photo_patches_hyperprior_compression_{yoto,fixed}.gin: the Ballé-2018
scale hyperprior at 32 filters) it trains, all for the same number of steps
(default 2000) with the config's learning-rate schedule rescaled (one decay
at 80 % of the steps):

  fixed_lmbda<λ>  a fixed-λ codec for each of five log-spaced λ spanning the
                  paper's range [1.2e-3, 2.6e-1];
  yoto            one YOTO codec, λ log-uniform over that range;
  yoto_wide       the same with 4/3 as many filters (the paper's "wider":
                  256 instead of 192), --wide=0 skips it.

Each model is evaluated with real range coding on the test split (crops of a
held-out photo) during training, the YOTO models at nine log-spaced λ (the
five fixed λ and the four between), and afterwards on the whole held-out
photo (chelsea, 300x451, sizes not divisible by 64) through its exported hub
module with `yoto.compress.evaluate`, which also times encoding and decoding.

Writes to --out_dir:
  reproduce_compression_rd.png       bpp vs PSNR and vs MS-SSIM (dB), test
                                     crops: every YOTO model against the
                                     fixed-λ models (Figure 5);
  reproduce_compression_rd_full.png  the same on the full-size photo;
  reproduce_compression.md / .json   BD-rate and BD-PSNR of each YOTO model
                                     against the fixed models, per-λ points,
                                     encode/decode megapixels per second and
                                     training times.
"""

import os
import sys
import time
from typing import Dict, List, Sequence

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import common
from benchmarks import reproduction
import numpy as np

from yoto import compress
from yoto.analysis import plots
from yoto.analysis import rate_distortion
from yoto.utils import photo_patches
# pylint: enable=g-import-not-at-top,wrong-import-position

YOTO_CONFIG = "photo_patches_hyperprior_compression_yoto.gin"
FIXED_CONFIG = "photo_patches_hyperprior_compression_fixed.gin"
LMBDA_RANGE = (0.0012, 0.26)
DEFAULT_STEPS = 2000
DEFAULT_FILTERS = 32
FULL_IMAGE = "chelsea"
QUALITIES = ("psnr", "ms_ssim_db")


def _parser():
  parser = common.base_parser(__doc__)
  reproduction.add_arguments(parser, os.path.join(
      common.REPO_ROOT, "runs", "reproduce_compression"), DEFAULT_STEPS,
      analysis_needs_hub_modules=True, default_seeds=1, default_evals=1)
  parser.add_argument("--num_fixed", type=int, default=5,
                      help="Fixed-λ models, log-spaced over the λ range "
                      "(YOTO is evaluated at these and between them).")
  parser.add_argument("--wide", type=float, default=4 / 3,
                      help="Filter factor of the wider YOTO model; 0 skips "
                      "it.")
  return parser


def _weights(lmbda: float) -> Dict[str, float]:
  return {"distortion": float(lmbda), "rate": 1.0}


def grids(num_fixed: int):
  """(fixed λ, eval λ): the eval grid adds the midpoints of the fixed one."""
  fixed = reproduction.log_spaced(num_fixed, *LMBDA_RANGE)
  evals = (reproduction.log_spaced(2 * num_fixed - 1, *LMBDA_RANGE)
           if num_fixed > 1 else fixed)
  return fixed, evals


def shared_bindings(steps: int, eval_lmbdas: Sequence[float],
                    batch: Sequence[str] = ()) -> List[str]:
  """Bindings every model gets: steps, schedule, eval λ grid, and `batch`
  (`reproduction.override_bindings`)."""
  return reproduction.schedule_bindings(steps, (0.8,), evals=1,
                                        max_loop=100) + [
      f"experiment.eval_weights = {[_weights(lmbda) for lmbda in eval_lmbdas]!r}",
  ] + list(batch)


def model_specs(fixed_lmbdas: Sequence[float],
                wide: float) -> List[reproduction.ModelSpec]:
  """The models of the reproduction, fixed ones first."""
  specs = [reproduction.fixed_model(f"fixed_lmbda{lmbda:g}", FIXED_CONFIG,
                                    _weights(lmbda)) for lmbda in fixed_lmbdas]
  specs.append(reproduction.ModelSpec("yoto", YOTO_CONFIG))
  if wide:
    filters = max(1, int(round(DEFAULT_FILTERS * wide)))
    specs.append(reproduction.ModelSpec("yoto_wide", YOTO_CONFIG, (
        f"HyperpriorCompressionProblem.num_filters = {filters}",)))
  return specs


# Analysis.


def full_image_path(directory: str) -> str:
  """The held-out photo as a PNG under `directory` (written once)."""
  path = os.path.join(directory, f"{FULL_IMAGE}.png")
  if not os.path.exists(path):
    os.makedirs(directory, exist_ok=True)
    compress.write_png(path, photo_patches.load_photo(FULL_IMAGE))
  return path


def full_image_rows(model_dir: str, image: str,
                    lmbdas: Sequence[float]) -> List[dict]:
  """Rows of `yoto.compress.evaluate` on the full photo: a YOTO module at
  every λ, a fixed module at its own λ."""
  codec = compress.Codec.load(model_dir)
  if not codec.is_conditioned:
    lmbdas = [codec.fixed_lmbda]
  return compress.evaluate(codec, [image], lmbdas, split=FULL_IMAGE)


def bd_summary(fixed: rate_distortion.RdCurve,
               yoto: rate_distortion.RdCurve) -> Dict[str, float]:
  """BD-rate (%) and BD-quality (dB) of `yoto` against `fixed`, per quality
  metric, with the original cubic fit and with pchip."""
  summary = {}
  for quality in QUALITIES:
    for method in rate_distortion.METHODS:
      try:
        summary[f"bd_rate_{quality}_{method}"] = rate_distortion.bd_rate(
            fixed.bpp, fixed.quality[quality], yoto.bpp,
            yoto.quality[quality], method)
        summary[f"bd_{quality}_{method}"] = rate_distortion.bd_quality(
            fixed.bpp, fixed.quality[quality], yoto.bpp,
            yoto.quality[quality], method)
      except ValueError as e:  # Too few points, or curves do not overlap.
        summary[f"bd_rate_{quality}_{method}"] = None
        summary[f"bd_{quality}_{method}"] = None
        summary.setdefault("notes", []).append(f"{quality}/{method}: {e}")
  return summary


def _curve_points(curve: rate_distortion.RdCurve) -> List[dict]:
  return [{"lmbda": float(lmbda), "bpp": float(b),
           **{q: float(curve.quality[q][i]) for q in QUALITIES}}
          for i, (lmbda, b) in enumerate(zip(curve.lmbdas, curve.bpp))]


def _fmt(value, digits=1, suffix=""):
  return "n/a" if value is None else f"{value:+.{digits}f}{suffix}"


def bd_markdown(summaries: Dict[str, Dict[str, Dict[str, float]]]) -> str:
  """One row per (data, YOTO model): BD-rate and BD-quality, both fits."""
  rows = []
  for data, per_model in summaries.items():
    for name, s in per_model.items():
      rows.append([data, name] + [
          f"{_fmt(s[f'bd_rate_{q}_cubic'], 1, ' %')} "
          f"({_fmt(s[f'bd_rate_{q}_pchip'], 1, ' %')})" for q in QUALITIES] + [
              f"{_fmt(s[f'bd_{q}_cubic'], 2, ' dB')} "
              f"({_fmt(s[f'bd_{q}_pchip'], 2, ' dB')})" for q in QUALITIES])
  return common.markdown_table(
      ["data", "model", "BD-rate, PSNR", "BD-rate, MS-SSIM dB",
       "BD-PSNR", "BD-MS-SSIM (dB)"], rows)


def points_markdown(curves: Dict[str, rate_distortion.RdCurve]) -> str:
  """Per λ of the fixed models: bpp / PSNR of every curve at that λ."""
  fixed = curves["fixed"]
  rows = []
  for i, lmbda in enumerate(fixed.lmbdas):
    row = [f"{lmbda:g}"]
    for curve in curves.values():
      match = np.flatnonzero(np.isclose(curve.lmbdas, lmbda, rtol=1e-3))
      row.append("" if not match.size else
                 f"{curve.bpp[match[0]]:.3f} / "
                 f"{curve.quality['psnr'][match[0]]:.2f}")
    rows.append(row)
  return common.markdown_table(
      ["λ"] + [f"{name} bpp / PSNR" for name in curves], rows)


def speed_markdown(speeds: Dict[str, Dict[str, float]]) -> str:
  rows = [[name, f"{s['encode']:.2f}", f"{s['decode']:.2f}"]
          for name, s in speeds.items()]
  return common.markdown_table(
      ["model", "encode MP/s", "decode MP/s"], rows)


def analyse(specs, model_root, steps, out_dir, seconds, eval_lmbdas):
  """RD curves, BD-rates and speeds of the finished models."""
  yoto_dirs = reproduction.finished_dirs(specs, model_root, steps, True)
  fixed_dirs = reproduction.finished_dirs(specs, model_root, steps, False)
  if not yoto_dirs or len(fixed_dirs) < 2:
    return ({"models_seconds": seconds},
            "Not enough models finished yet (one YOTO and two fixed).\n")
  # Test crops, from the rows written during training.
  yoto_curves, fixed_curve = rate_distortion.load_curves(
      list(yoto_dirs.values()), list(fixed_dirs.values()), step=steps,
      split=reproduction.SPLIT)
  crops = {"fixed": fixed_curve}
  crops.update({n: c for n, c in zip(yoto_dirs, yoto_curves)})
  # The full photo, through the exported modules.
  image = full_image_path(model_root)
  rows = {name: full_image_rows(d, image, eval_lmbdas)
          for name, d in {**fixed_dirs, **yoto_dirs}.items()}
  full = {"fixed": rate_distortion.rows_curve(
      "fixed", [r for name in fixed_dirs for r in rows[name]])}
  full.update({n: rate_distortion.rows_curve(n, rows[n]) for n in yoto_dirs})
  speeds = {name: {
      "encode": float(np.median([r["values"]["encode_megapixels_per_second"]
                                 for r in model_rows])),
      "decode": float(np.median([r["values"]["decode_megapixels_per_second"]
                                 for r in model_rows]))}
            for name, model_rows in rows.items()}
  summaries = {
      "test crops": {n: bd_summary(crops["fixed"], crops[n])
                     for n in yoto_dirs},
      f"{FULL_IMAGE} (full)": {n: bd_summary(full["fixed"], full[n])
                               for n in yoto_dirs}}
  paths = []
  for suffix, curves, what in (("", crops, "test crops"),
                               ("_full", full, f"full {FULL_IMAGE} photo")):
    named = [rate_distortion.RdCurve(
        f"fixed λ ({len(fixed_dirs)} models)" if n == "fixed" else n,
        c.lmbdas, c.bpp, c.quality) for n, c in curves.items()]
    figure = rate_distortion.rd_figure(
        named, title=f"photo_patches hyperprior, {steps} steps, {what}")
    paths.append(plots.save(figure, os.path.join(
        out_dir, f"reproduce_compression_rd{suffix}.png")))
  results = {
      "steps": steps, "split": reproduction.SPLIT, "bd": summaries,
      "curves": {data: {n: _curve_points(c) for n, c in curves.items()}
                 for data, curves in (("test crops", crops),
                                      (FULL_IMAGE, full))},
      "speed_megapixels_per_second": speeds, "models_seconds": seconds,
      "files": [os.path.basename(p) for p in paths]}
  md = (f"After {steps} steps per model. Bjøntegaard deltas of each YOTO "
        "model against the fixed-λ models (cubic fit, pchip in brackets; "
        "BD-rate < 0 and BD-quality > 0 mean YOTO is better), actual "
        "range-coded bits:\n\n" + bd_markdown(summaries) +
        "\nRate-distortion points at the fixed models' λ (test crops):\n\n" +
        points_markdown(crops) +
        f"\nThe same on the full {FULL_IMAGE} photo (300x451, padded to a "
        "multiple of 64 inside the codec and cropped back):\n\n" +
        points_markdown(full) +
        "\nCoding speed on the full photo through the exported hub module "
        "(`yoto.compress.evaluate`; megapixels per second, median over λ, "
        "range coding and file I/O included):\n\n" + speed_markdown(speeds) +
        "\n" + reproduction.seconds_line(seconds))
  return results, md


def main(argv=None):
  args = _parser().parse_args(argv)
  steps, model_root = reproduction.steps_and_root(args, DEFAULT_STEPS)
  fixed_lmbdas, eval_lmbdas = grids(args.num_fixed)
  specs = model_specs(fixed_lmbdas, args.wide)
  shared = shared_bindings(steps, eval_lmbdas,
                           reproduction.override_bindings(args, 2))
  start = time.time()
  seeds = reproduction.seeds(args)
  seconds = reproduction.train_all(specs, model_root, steps, shared, seeds,
                                   reproduction.only_names(args),
                                   max_minutes=args.max_minutes)
  # One seed is analysed until the codec's report reads seed statistics.
  model_root = reproduction.seed_dir(model_root, seeds[0])
  results, text = analyse(specs, model_root, steps, args.out_dir, seconds,
                          eval_lmbdas)
  results.update(model_root=model_root, fixed_lmbdas=fixed_lmbdas,
                 eval_lmbdas=eval_lmbdas, shared_bindings=shared,
                 wall_seconds_this_run=time.time() - start)
  common.write_results("reproduce_compression", args.out_dir, results, text,
                       argv)
  return results


if __name__ == "__main__":
  main()
