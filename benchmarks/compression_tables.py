"""Markdown tables and figures of the compression reproduction's report
(`compression_report` computes what they show)."""

from typing import Mapping, Optional, Sequence

from matplotlib.backends import backend_agg
from matplotlib.figure import Figure
import numpy as np

from benchmarks import common
from benchmarks import seed_tables
from yoto.analysis import rate_distortion
from yoto.analysis import rate_distortion_over_seeds as rd_seeds
from yoto.analysis import seed_statistics

QUALITIES = rd_seeds.QUALITIES
# BD deltas in the tables: pchip (exact through the points, as VCEG/JVET
# use it); the json also holds the original cubic fit.
METHOD = "pchip"
CROPS, FULL, TILES = "test crops", "full photos", "tiles"


def _cell(
  value: Optional[seed_statistics.Interval], digits: int, unit: str
) -> str:
  return (
    "n/a" if value is None else seed_tables.interval_cell(value, digits) + unit
  )


def bd_markdown(summaries: Mapping[str, Mapping[str, Mapping]]) -> str:
  """One row per (data, YOTO model): the BD deltas as intervals."""
  rows = [
    [data, name]
    + [_cell(bd.get(f"bd_rate_{q}_{METHOD}"), 1, " %") for q in QUALITIES]
    + [_cell(bd.get(f"bd_{q}_{METHOD}"), 2, " dB") for q in QUALITIES]
    for data, per_model in summaries.items()
    for name, bd in per_model.items()
  ]
  return common.markdown_table(
    [
      "data",
      "model",
      "BD-rate (PSNR)",
      "BD-rate (MS-SSIM dB)",
      "BD-PSNR",
      "BD-MS-SSIM (dB)",
    ],
    rows,
  )


def bd_seeds_markdown(
  by_seed: Mapping[str, Mapping[str, Mapping[str, Mapping[int, float]]]],
) -> str:
  """One row per (data, YOTO model): each seed's BD-rate (PSNR) and BD-PSNR
  (`rd_seeds.bd_per_seed` per data); '' with fewer than two seeds."""
  seeds = sorted(
    {
      seed
      for per_model in by_seed.values()
      for keys in per_model.values()
      for seed in keys.get(f"bd_rate_psnr_{METHOD}", {})
    }
  )
  if len(seeds) < 2:
    return ""

  def cell(keys, seed):
    rate = keys.get(f"bd_rate_psnr_{METHOD}", {}).get(seed)
    psnr = keys.get(f"bd_psnr_{METHOD}", {}).get(seed)
    if rate is None or psnr is None:
      return "n/a"
    return f"{rate:+.1f} % / {psnr:+.2f} dB"

  rows = [
    [data, name] + [cell(keys, seed) for seed in seeds]
    for data, per_model in by_seed.items()
    for name, keys in per_model.items()
  ]
  return common.markdown_table(
    ["data", "model"] + [f"seed {seed}" for seed in seeds], rows
  )


def points_markdown(
  means: Mapping[str, rate_distortion.RdCurve], lmbdas: Sequence[float]
) -> str:
  """Per fixed λ: seed-mean bpp / PSNR of every curve at that λ."""
  rows = []
  for lmbda in lmbdas:
    row = [f"{lmbda:g}"]
    for curve in means.values():
      match = np.flatnonzero(np.isclose(curve.lmbdas, lmbda, rtol=1e-3))
      row.append(
        ""
        if not match.size
        else f"{curve.bpp[match[0]]:.3f} / "
        f"{curve.quality['psnr'][match[0]]:.2f}"
      )
    rows.append(row)
  return common.markdown_table(
    ["λ"] + [f"{name} bpp / PSNR" for name in means], rows
  )


def crops_tiles_markdown(table: Sequence[dict]) -> str:
  """The same codec on test crops, whole photos and the photos' tiles."""
  rows = [
    [r["model"], f"{r['lmbda']:g}"]
    + [
      f"{r[k]['bpp']:.3f} / {r[k]['psnr']:.2f}"
      + (f" ({r[k]['pooled_psnr']:.2f})" if "pooled_psnr" in r[k] else "")
      for k in (CROPS, FULL, TILES)
    ]
    for r in table
  ]
  return common.markdown_table(
    [
      "model",
      "λ",
      "test crops: bpp / mean PSNR",
      "whole photos: bpp / mean PSNR (pooled)",
      "tiles of them: bpp / mean PSNR (pooled)",
    ],
    rows,
  )


def speed_markdown(speeds: Mapping[str, Mapping[str, float]]) -> str:
  rows = [
    [name, f"{s['encode']:.2f}", f"{s['decode']:.2f}"]
    for name, s in speeds.items()
  ]
  return common.markdown_table(["model", "encode MP/s", "decode MP/s"], rows)


def bd_steps_markdown(
  curves: Mapping[str, Mapping[int, seed_statistics.Interval]],
) -> str:
  """BD-rate (PSNR) against training steps: one row per step, one column
  per YOTO codec, mean ± 95 % interval over seeds ('' without steps)."""
  steps = sorted({s for per_step in curves.values() for s in per_step})
  if not steps:
    return ""
  return common.markdown_table(
    ["step", *curves],
    [
      [str(step)] + [_cell(c.get(step), 1, " %") for c in curves.values()]
      for step in steps
    ],
  )


def bd_steps_figure(
  curves: Mapping[str, Mapping[int, seed_statistics.Interval]], title: str
) -> Figure:
  """BD-rate (PSNR) against training steps, one line per YOTO codec, with
  95 % intervals over seeds."""
  figure = Figure(figsize=(6.0, 4.0), dpi=100)
  backend_agg.FigureCanvasAgg(figure)
  axes = figure.subplots()
  for name, per_step in curves.items():
    steps = sorted(per_step)
    axes.errorbar(
      steps,
      [per_step[s].mean for s in steps],
      yerr=[per_step[s].half_width or 0.0 for s in steps],
      marker="o",
      capsize=3,
      label=name,
    )
  axes.axhline(0.0, color="gray", linewidth=0.8)
  axes.set_xlabel("training step")
  axes.set_ylabel("BD-rate vs fixed codecs, PSNR (%)")
  axes.set_title(title, fontsize=9)
  axes.grid(alpha=0.3)
  axes.legend(fontsize=8)
  figure.tight_layout()
  return figure


def markdown(
  results,
  summaries,
  means,
  gaps,
  statements,
  table,
  speeds,
  timings,
  fixed_lmbdas,
  tile_size,
  bd_steps,
  bd_by_seed,
) -> str:
  """The report; `bd_steps`: `compression_report.bd_learning_curves`;
  `bd_by_seed`: data -> `rd_seeds.bd_per_seed`."""
  per_seed = bd_seeds_markdown(bd_by_seed)
  if per_seed:
    per_seed = (
      "\nEach seed's BD-rate (PSNR) / BD-PSNR, the values behind the "
      "intervals above:\n\n" + per_seed
    )
  span = results["fixed_rate_span"]
  seeds = ", ".join(map(str, results["seeds"]))
  cpu = results["cpu_seconds"]
  md = (
    f"After {results['steps']} steps per model, seeds {seeds}. "
    "Bjøntegaard deltas of each YOTO codec against the fixed-λ codecs of "
    f"the same seed ({METHOD} fit; mean ± 95 % interval over seeds; "
    "BD-rate < 0 and BD-quality > 0: YOTO better), range-coded bits; "
    f"test crops of {' and '.join(results['full_images'])} and the photos "
    "coded "
    "whole:\n\n"
    + bd_markdown(summaries)
    + per_seed
    + f"\nThe fixed codecs span {span['low_bpp']:.3f} to "
    f"{span['high_bpp']:.3f} bpp on the test crops "
    f"({span['ratio']:.1f}x); PSNR "
    f"{'rises' if span['psnr_monotone_in_lmbda'] else 'does not rise'} "
    "with λ in every seed.\n\n"
    "Rate-distortion points at the fixed codecs' λ (seed means), test "
    "crops:\n\n"
    + points_markdown(means[CROPS], fixed_lmbdas)
    + "\nThe same, the held-out photos coded whole:\n\n"
    + points_markdown(means[FULL], fixed_lmbdas)
    + "\nFull loss (rate + λ · MSE: bits per pixel plus λ times the 0-255 "
    "MSE) on the test crops: "
    "method − fixed at each λ, mean ± 95 % interval over seeds (paired), "
    "the fixed codecs' seed sd beside it:\n\n"
    + seed_tables.gap_markdown(gaps, label="λ", digits=4)
    + "\nBD-rate (PSNR) on the test crops against training steps, each "
    "YOTO codec against the fixed codecs at the same step (mean ± 95 % "
    "interval over seeds): does the gap close as the codecs train?\n\n"
    + bd_steps_markdown(bd_steps)
    + "\nConvergence of the test full loss over the last quarter of the run "
    "(seed mean; a YOTO codec at its worst λ); 'not plateaued' when it is "
    f"more than {100 * seed_statistics.PLATEAU_SHARE:.0f} % of the "
    "improvement since the first evaluation:\n\n"
    + seed_tables.convergence_markdown(statements, "λ", "loss units", 4)
    + f"\nOne codec on three data (first seed): the test crops, the "
    f"held-out photos whole, and the same photos cut into {tile_size}x"
    f"{tile_size} tiles (mean PSNR over images; in brackets the PSNR of "
    "the pooled MSE):\n\n"
    + crops_tiles_markdown(table)
    + "\nCoding speed on the whole photos through the exported hub module "
    "(megapixels per second, median over λ, range coding included):\n\n"
    + speed_markdown(speeds)
  )
  md += seed_tables.cpu_markdown(cpu, len(fixed_lmbdas), "fixed codecs")
  return md + "\n" + seed_tables.seconds_line(timings)
