"""The analysis of the β-VAE reproduction (`reproduce_vae`).

Over seeds (`seed_comparison`, `seed_tables`): per β, the fixed model's full
loss with its seed-to-seed spread, and each YOTO variant's and the best
single fixed model's full-loss gap to it (mean ± 95 % interval); each
model's convergence statement; the CPU time of the fixed sweep against each
YOTO model. On the first seed: the frontier and full-loss figures (the
paper's Figure 2), the KL and reconstruction tables of each variant, and
Figure 3 (test crops reconstructed and samples, YOTO beside the fixed
models). `reproduce_vae`'s docstring lists the files.
"""

import math
import os
from typing import List

from matplotlib.figure import Figure
import numpy as np
import tensorflow as tf

from benchmarks import common
from benchmarks import reproduction
from benchmarks import seed_comparison
from benchmarks import seed_tables
from yoto.analysis import frontier
from yoto.analysis import metrics
from yoto.analysis import plots
from yoto.analysis import seed_statistics
from yoto.analysis import tables
from yoto.analysis import vae_outputs

SPLIT = reproduction.SPLIT
# The loss weight a fixed model is named by and the tables are labelled by.
BETA = "kl_loss"

# Plot styles of the YOTO variants beyond the first one.
EXTRA_STYLES = {
  "yoto_wide": dict(color="tab:purple", marker="D"),
  "yoto_uniform": dict(color="tab:red", marker="v"),
  "yoto_input": dict(color="tab:brown", marker="P"),
  "yoto_concat": dict(color="tab:olive", marker="X"),
}


def comparisons(specs, model_root, steps):
  """name -> frontier.Comparison of every finished YOTO model vs the fixed,
  for the models under `model_root` (one seed)."""
  fixed_dirs = list(
    reproduction.finished_dirs(specs, model_root, steps, yoto=False).values()
  )
  result = {}
  own_steps = {s.name: s.steps for s in specs if s.steps}
  for name, model_dir in reproduction.finished_dirs(
    specs, model_root, steps, yoto=True
  ).items():
    yoto, fixed = metrics.load_comparison(
      model_dir, fixed_dirs, step=own_steps.get(name, steps), split=SPLIT
    )
    result[name] = frontier.compare(yoto, fixed)
  return result


def _add_method(axes, points, label, style, gap_of=None):
  """Draws an extra YOTO variant onto the frontier axes (its losses and
  Pareto front) or, with `gap_of(point)`, onto the full-loss-gap axes."""
  if gap_of is None:
    xy = [(p.x, p.y) for p in points]
    axes.scatter(*zip(*xy), label=label, alpha=0.8, zorder=3, **style)
    front = frontier.pareto_front(xy)
    if len(front) > 1:
      axes.plot(
        [xy[i][0] for i in front],
        [xy[i][1] for i in front],
        color=style["color"],
        lw=1,
        zorder=2,
      )
    return
  pairs = [(math.log2(p.beta), gap_of(p)) for p in points]
  pairs = [(x, y) for x, y in pairs if y is not None]
  if pairs:
    axes.plot(*zip(*pairs), label=label, **style)


def write_frontier_plots(comps, out_dir, name, dataset) -> List[str]:
  """Figure 2 of one seed: frontier and full-loss gap, all variants."""
  names = list(comps)
  main = comps[names[0]]
  title = (
    f"{dataset} test split, step {main.yoto.step}: "
    f"{', '.join(names)} vs {len(main.fixed)} fixed models"
  )
  frontier_fig = plots.frontier_figure(main, title=title)
  gap_fig = plots.full_loss_figure(main, title=title)
  fixed_loss = {
    row.beta: row.fixed.full_loss for row in main.rows if row.fixed is not None
  }

  def gap(point):
    reference = fixed_loss.get(point.beta)
    return None if reference is None else point.full_loss - reference

  for variant in names[1:]:
    style = EXTRA_STYLES.get(variant, dict(color="gray", marker="x"))
    points = comps[variant].yoto_points()
    _add_method(frontier_fig.axes[0], points, variant, style)
    _add_method(gap_fig.axes[0], points, variant, style, gap_of=gap)
  for figure in (frontier_fig, gap_fig):
    figure.axes[0].legend(fontsize=8)
  return [
    plots.save(frontier_fig, os.path.join(out_dir, f"{name}_frontier.png")),
    plots.save(gap_fig, os.path.join(out_dir, f"{name}_full_loss.png")),
  ]


def write_learning_curves(curves, fixed, variant, out_dir, name) -> str:
  """The variant's full-loss gap per β against steps, mean ± interval."""
  figure = Figure(figsize=(7, 4.5))
  axes = figure.add_subplot()
  for beta in sorted(fixed):
    gap = seed_statistics.gap_curve(curves, fixed, variant, beta)
    if not gap:
      continue
    steps = list(gap)
    means = np.array([g.mean for g in gap.values()])
    half = np.array([g.half_width or 0.0 for g in gap.values()])
    (line,) = axes.plot(steps, means, marker="o", label=f"β = {beta:g}")
    axes.fill_between(
      steps, means - half, means + half, alpha=0.15, color=line.get_color()
    )
  axes.axhline(0.0, color="black", lw=0.8)
  axes.set_xlabel("training step")
  axes.set_ylabel(f"{variant} − fixed full loss (nats per image)")
  axes.set_title(
    f"{variant}: gap to the fixed models during training "
    "(mean ± 95 % interval over seeds)",
    fontsize=9,
  )
  axes.legend(fontsize=8)
  return plots.save(
    figure, os.path.join(out_dir, f"{name}_learning_curves.png")
  )


def write_variant_gaps(rows, out_dir, name) -> str:
  """The ablation (and Figure 4) as one figure: every method's full-loss
  gap against log2 β, mean ± 95 % interval over seeds."""
  figure = Figure(figsize=(7, 4.5))
  axes = figure.add_subplot()
  methods = list(rows[0]["gaps"])
  for index, method in enumerate(methods):
    points = [
      (r["label"], r["gaps"][method])
      for r in rows
      if r["gaps"][method] is not None
    ]
    if not points:
      continue
    # Methods side by side within a β, so that the error bars do not hide
    # each other.
    shift = 0.08 * (index - (len(methods) - 1) / 2)
    axes.errorbar(
      [math.log2(b) + shift for b, _ in points],
      [g.mean for _, g in points],
      yerr=[g.half_width or 0.0 for _, g in points],
      marker="o",
      capsize=3,
      label=method,
    )
  axes.axhline(0.0, color="black", lw=0.8)
  axes.set_xlabel("log2 β")
  axes.set_ylabel("method − fixed full loss (nats per image)")
  axes.set_title(
    "Gap to the fixed models per method (mean ± 95 % interval over seeds)",
    fontsize=9,
  )
  axes.legend(fontsize=7)
  return plots.save(figure, os.path.join(out_dir, f"{name}_variants.png"))


def figure3_rows(yoto, yoto_name, fixed, images, noise):
  """Reconstructions and samples of a YOTO model and of the fixed model at
  each β, interleaved.

  Args:
    yoto: the YOTO model's TrainingState.
    yoto_name: its name, for the labels.
    fixed: β -> the fixed model's TrainingState.
    images: [N, H, W, C] test images.
    noise: [N, latent], the same latents for every model.

  Returns:
    (reconstructions, samples, labels): rows [2 * len(fixed), N, H, W, C]
    each, YOTO then fixed for every β, and the rows' labels.
  """
  recons, samples, labels = [], [], []
  for beta, state in sorted(fixed.items()):
    weights = tf.constant([[beta, 1.0]] * len(images), tf.float32)
    extra = yoto.multi_loss_optimizer.conditioning.transform(weights)
    recons += [
      yoto.problem.reconstruct(images, extra)[0],
      state.problem.reconstruct(images)[0],
    ]
    samples += [
      yoto.problem.sample(noise, extra[: len(noise)])[0],
      state.problem.sample(noise)[0],
    ]
    labels += [f"{yoto_name} β={beta:g}", f"fixed β={beta:g}"]
  stack = lambda rows: np.stack([np.asarray(r) for r in rows])
  return stack(recons), stack(samples), labels


def write_figure3(
  specs,
  seed_root,
  shared,
  out_dir,
  name,
  architecture: common.Architecture,
  num_images: int = 8,
) -> List[str]:
  """The paper's Figure 3 as two images: test crops reconstructed, and
  samples from the same noise, by the first YOTO variant and by the fixed
  model at each β."""
  images = vae_outputs.load_images(
    num_images,
    architecture.name,
    split=SPLIT,
    preprocess=architecture.preprocess,
  )
  restore = lambda spec: reproduction.restore_state(
    spec, seed_root, shared, images.shape[1:]
  )
  yoto_spec = next(s for s in specs if s.is_yoto)
  yoto = restore(yoto_spec)
  fixed = {s.weights[BETA]: restore(s) for s in specs if not s.is_yoto}
  noise = (
    np.random.default_rng(0)
    .standard_normal((num_images, yoto.problem.latent_dimensions))
    .astype(np.float32)
  )
  recons, samples, labels = figure3_rows(
    yoto, yoto_spec.name, fixed, tf.constant(images), noise
  )
  value_range = architecture.value_range
  recon_figure = plots.rows_figure(
    np.concatenate([images[None], recons]),
    ["input"] + labels,
    "Test crops and their reconstructions",
    value_range,
  )
  sample_figure = plots.rows_figure(
    samples, labels, "Samples (the same noise for every model)", value_range
  )
  return [
    plots.save(
      recon_figure, os.path.join(out_dir, f"{name}_figure3_reconstructions.png")
    ),
    plots.save(
      sample_figure, os.path.join(out_dir, f"{name}_figure3_samples.png")
    ),
  ]


def _interval_json(value):
  return None if value is None else value.to_json()


def analyse(
  specs,
  model_root,
  steps,
  seed_list,
  out_dir,
  name,
  timings,
  shared,
  architecture: common.Architecture,
):
  """Tables and figures from the evaluated models; returns (results, md)."""
  fixed = {s.weights[BETA]: s.name for s in specs if not s.is_yoto}
  curves = seed_comparison.collect_curves(
    specs, model_root, seed_list, steps, lambda w: float(w[BETA])
  )
  if not any(s.name in curves for s in specs if s.is_yoto):
    return {"timings": timings}, "No YOTO model evaluated yet.\n"
  gaps = seed_comparison.gaps_and_convergence(
    curves, specs, fixed, single_model=True
  )
  present = [s.name for s in specs if s.is_yoto and s.name in curves]
  paths = [
    write_learning_curves(curves, fixed, present[0], out_dir, name),
    write_variant_gaps(gaps.rows, out_dir, name),
  ]
  seed_root = reproduction.seed_dir(model_root, seed_list[0])
  comps = comparisons(specs, seed_root, steps)
  if comps:
    paths += write_frontier_plots(comps, out_dir, name, architecture.name)
    for variant, comp in comps.items():  # KL and reconstruction too.
      paths += tables.write_tables(
        tables.comparison_table(comp),
        out_dir,
        basename=f"{name}_comparison_{variant}",
      )
    # Figure 3 shows the first YOTO variant: only when it is finished.
    if all(
      os.path.exists(os.path.join(seed_root, n)) for n in fixed.values()
    ) and next(iter(comps)) == next(s.name for s in specs if s.is_yoto):
      paths += write_figure3(
        specs, seed_root, shared, out_dir, name, architecture
      )
  cpu = seed_comparison.cpu_summary(timings, list(fixed.values()), present)
  seeds_done = sorted(
    {seed for per_seed in curves.values() for seed in per_seed}
  )
  results = {
    "steps": steps,
    "compared_step": gaps.step,
    "split": SPLIT,
    "seeds": seeds_done,
    "single_model": gaps.baseline,
    "method_steps": gaps.method_steps,
    "gaps": [
      {
        "beta": r["label"],
        "fixed": _interval_json(r["fixed"]),
        "gaps": {m: _interval_json(g) for m, g in r["gaps"].items()},
        "relative": r["relative"],
      }
      for r in gaps.rows
    ],
    "convergence": gaps.convergence,
    "timings": timings,
    "cpu_seconds": cpu,
    "files": [os.path.basename(p) for p in paths],
  }
  return results, markdown(gaps, seeds_done, cpu, len(fixed), timings)


def markdown(
  gaps: seed_comparison.GapsAndConvergence,
  seeds: List[int],
  cpu,
  num_fixed: int,
  timings,
) -> str:
  """The gap and convergence tables with what they show, the CPU time of
  the fixed sweep against each YOTO model, and every model's time."""
  return (
    f"Full-loss gap to the fixed model trained at each β, on the test "
    f"split at step {gaps.step} (seeds {', '.join(map(str, seeds))}): "
    "method − fixed in nats per image, mean ± 95 % interval over seeds "
    "(paired by seed), and relative to |fixed| where that is not near "
    "zero; positive: worse than the fixed model.\n\n"
    + seed_tables.gap_markdown(gaps.rows, gaps.baseline, gaps.method_steps)
    + "\nConvergence: the change of each model's test full loss over the "
    "last quarter of the run (seed mean; for a YOTO model at its worst "
    f"β); 'not plateaued' when that is more than "
    f"{100 * seed_statistics.PLATEAU_SHARE:.0f} % of its improvement "
    "since the first evaluation.\n\n"
    + seed_tables.convergence_markdown(gaps.convergence)
    + seed_tables.cpu_markdown(cpu, num_fixed)
    + "\n"
    + seed_tables.seconds_line(timings)
  )
