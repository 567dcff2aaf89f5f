"""The analysis of the style-transfer reproduction (`reproduce_style_transfer`).

Its labels are the paper's Figure-6a weight vectors (`WeightPoint`: Ghiasi's
default and each swept weight x10 and ÷10), so the shared protocol
(`seed_statistics`, `seed_tables`) compares, in full loss and over seeds,
the fixed model trained at each point with YOTO, the content-only
specialist (on the content line only, where its fixed style weights are
right), the best single fixed model, and the pixel-blending baseline.

The blending baseline (paper Figure 6b) is rebuilt per seed from that
seed's two end models of each swept weight (÷10 and x10): both stylize the
test images the evaluator reads, the blends (1 - α) y_÷10 + α y_x10 are
scored with the loss network, and at each point on that weight's line the
best α (chosen on those same test images: the strongest form of the
baseline) enters the curves as the model 'blend <weight>' at the final step.
At the line's ends α = 0 or 1 is the fixed model itself, so there the blend
is at most the fixed model's loss; the middle point tells.
"""

import dataclasses
import os
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from matplotlib.backends import backend_agg
from matplotlib.figure import Figure
import numpy as np
import tensorflow as tf

from benchmarks import common
from benchmarks import reproduction
from benchmarks import seed_tables
from yoto.analysis import metrics
from yoto.analysis import plots
from yoto.analysis import seed_statistics

ALPHAS = tuple(round(float(a), 2) for a in np.linspace(0.0, 1.0, 11))
FACTOR = 10.0
GRID_EXAMPLES = 2


@dataclasses.dataclass(frozen=True, order=True)
class WeightPoint:
  """One Figure-6a weight vector, the label of the protocol's curves.

  Sorted by `order` (the default first, then each swept weight ÷10 and
  x10), so tables and figures keep that order.

  Attributes:
    order: its place in tables.
    name: the readable label, e.g. 'content x10'.
    model: the fixed-weight model trained at it, e.g. 'fixed_content_x10'.
    varied: the swept loss ('' for the default).
    weights: the whole weight vector as sorted (loss, weight) pairs.
  """
  order: int
  name: str = dataclasses.field(compare=False)
  model: str = dataclasses.field(compare=False)
  varied: str = dataclasses.field(compare=False)
  weights: Tuple[Tuple[str, float], ...] = dataclasses.field(compare=False)

  def as_dict(self) -> Dict[str, float]:
    return dict(self.weights)


def figure6a_points(default: Mapping[str, float], varied: Sequence[str],
                    short: Mapping[str, str]) -> List[WeightPoint]:
  """The default, then each loss of `varied` ÷ and x FACTOR, the others at
  the default (3 significant digits); `short` names the losses."""
  def point(order, name, model, loss, weights):
    return WeightPoint(order, name, model, loss, tuple(sorted(
        (k, float(f"{v:.3g}")) for k, v in weights.items())))
  points = [point(0, "default", "fixed_default", "", default)]
  for loss in varied:
    for factor, text, tag in ((1 / FACTOR, "÷", "div"), (FACTOR, "x", "x")):
      points.append(point(
          len(points), f"{short[loss]} {text}{FACTOR:g}",
          f"fixed_{short[loss]}_{tag}{FACTOR:g}", loss,
          {**default, loss: default[loss] * factor}))
  return points


def on_line(point: WeightPoint, loss: str) -> bool:
  """Whether `point` is the default or `loss` moved alone."""
  return point.varied in ("", loss)


def point_of(points: Sequence[WeightPoint]):
  """weights dict -> its WeightPoint (KeyError for any other vector)."""
  by_key = {metrics.weights_key(p.as_dict()): p for p in points}
  return lambda weights: by_key[metrics.weights_key(weights)]


# The pixel-blending baseline.


def blend_losses(problems, batches: Sequence[tf.Tensor],
                 alphas: Sequence[float] = ALPHAS) -> List[Dict[str, float]]:
  """Per α: every loss (mean over all images) of (1 - α) y_0 + α y_1,
  y_i the stylization of `problems[i]`, each content image [B, H, W, 3] of
  `batches` with its held-out eval style, scored by the first problem."""
  first = problems[0]
  sums = [dict() for _ in alphas]
  count = 0
  for content in batches:
    indices = first.style_indices(content, training=False)
    images = [p.stylize_with_styles(content, indices) for p in problems]
    for alpha, total in zip(alphas, sums):
      losses = first.losses((1 - alpha) * images[0] + alpha * images[1],
                            content, indices)
      for name, values in losses.items():
        total[name] = total.get(name, 0.0) + float(tf.reduce_sum(values))
    count += int(content.shape[0])
  return [{k: v / count for k, v in total.items()} for total in sums]


def full_loss(losses: Mapping[str, float], point: WeightPoint) -> float:
  return sum(w * losses[k] for k, w in point.weights)


def add_blends(curves, specs, points, model_root, seed_list, step, shared,
               batches, short) -> Dict[str, dict]:
  """Adds 'blend <weight>' to `curves` at `step` for every seed whose two
  end models of that weight finished; returns the blends' per-α losses and
  chosen α (name -> seed -> ...)."""
  by_name = {s.name: s for s in specs}
  details = {}
  for loss in sorted({p.varied for p in points if p.varied}):
    ends = [p.model for p in points if p.varied == loss]
    name = f"blend {short[loss]}"
    for seed in seed_list:
      if not all(seed in curves.get(m, {}) for m in ends):
        continue
      root = reproduction.seed_dir(model_root, seed)
      problems = [reproduction.restore_state(
          by_name[m], root, shared, batches[0].shape[1:],
          batches[0].shape[0]).problem for m in ends]
      per_alpha = blend_losses(problems, batches)
      best = {}
      for point in (p for p in points if on_line(p, loss)):
        values = [full_loss(losses, point) for losses in per_alpha]
        best[point] = int(np.argmin(values))
        curves.setdefault(name, {}).setdefault(seed, {}).setdefault(
            step, {})[point] = values[best[point]]
      details.setdefault(name, {})[seed] = {
          "models": ends, "alphas": list(ALPHAS), "losses": per_alpha,
          "best_alpha": {p.name: ALPHAS[i] for p, i in best.items()}}
  return details


# Figures.


def _figure(width: float, height: float) -> Figure:
  figure = Figure(figsize=(width, height), dpi=100)
  backend_agg.FigureCanvasAgg(figure)
  return figure


def _relative(gap, reference):
  if gap is None or not reference:
    return None, None
  scale = 100 / abs(reference.mean)
  return gap.mean * scale, (gap.half_width or 0.0) * scale


def learning_curves_figure(curves, fixed, methods, title) -> Figure:
  """Each method's full-loss gap to the fixed model at every point against
  training steps, relative to the fixed loss, mean ± 95 % interval."""
  figure = _figure(5.5 * len(methods), 4.2)
  for axes, method in zip(figure.subplots(1, len(methods), squeeze=False)[0],
                          methods):
    for point in sorted(fixed):
      gaps = seed_statistics.gap_curve(curves, fixed, method, point)
      rows = [(s, *_relative(g, seed_statistics.interval(list(
          seed_statistics.at_step(curves, fixed[point], point, s).values()))))
              for s, g in gaps.items()]
      rows = [r for r in rows if r[1] is not None]
      if not rows:
        continue
      steps, means, half = (np.array(c) for c in zip(*rows))
      line, = axes.plot(steps, means, marker="o", label=point.name)
      axes.fill_between(steps, means - half, means + half, alpha=0.15,
                        color=line.get_color())
    axes.axhline(0.0, color="black", lw=0.8)
    axes.set_xlabel("training step")
    axes.set_ylabel(f"{method} − fixed full loss (% of fixed)")
    axes.set_title(method, fontsize=9)
    axes.legend(fontsize=7)
  figure.suptitle(title, fontsize=9)
  return figure


def gaps_figure(rows, baseline, title) -> Figure:
  """Figure 6a in full loss: every method's relative gap at every point,
  mean ± 95 % interval over seeds (`baseline`: the single fixed model)."""
  figure = _figure(8, 4.5)
  axes = figure.subplots()
  methods = list(rows[0]["gaps"]) if rows else []
  width = 0.8 / max(1, len(methods))
  for i, method in enumerate(methods):
    xs, means, half = [], [], []
    for x, row in enumerate(rows):
      mean, h = _relative(row["gaps"][method], row["fixed"])
      if mean is not None:
        xs.append(x + (i - (len(methods) - 1) / 2) * width)
        means.append(mean)
        half.append(h)
    axes.errorbar(xs, means, yerr=half, fmt="o", capsize=3,
                  label=(f"single model ({baseline})"
                         if method == "single_model" else method))
  axes.axhline(0.0, color="black", lw=0.8)
  axes.set_xticks(range(len(rows)), [r["label"].name for r in rows],
                  fontsize=8)
  axes.set_ylabel("method − fixed full loss (% of fixed)")
  axes.set_title(title, fontsize=9)
  axes.grid(alpha=0.3, axis="y")
  axes.legend(fontsize=7)
  return figure


def _stylized(state, content, point: Optional[WeightPoint]):
  """image_summaries of `state` for `content`, YOTO conditioned on
  `point`'s weights (None: a fixed model)."""
  inputs_extra = None
  if point is not None:
    vector = [w for _, w in point.weights]
    inputs_extra = state.multi_loss_optimizer.conditioning \
        .weights_to_inputs_extra(vector, batch_size=content.shape[0],
                                 check_range=False)
  return state.problem.image_summaries({state.problem.features_key: content},
                                       inputs_extra)


def figure7(specs, points, seed_root, shared, content, title) -> Figure:
  """The paper's Figure 7 from the fixed models and from YOTO side by side:
  per example and swept weight a row (content, style, the fixed models at
  ÷10, default, x10, then YOTO at the same weights)."""
  by_name = {s.name: s for s in specs}
  restore = lambda name: reproduction.restore_state(
      by_name[name], seed_root, shared, content.shape[1:], content.shape[0])
  yoto = restore("yoto")
  lines = sorted({p.varied for p in points if p.varied},
                 key=lambda loss: next(p.order for p in points
                                       if p.varied == loss))
  line_points = {loss: sorted(p for p in points if on_line(p, loss))
                 for loss in lines}
  line_points = {k: [v[1], v[0], v[2]] for k, v in line_points.items()}
  fixed = {p.model: _stylized(restore(p.model), content, None)["stylized"]
           for p in points}
  rows = []  # Per swept weight: names and images [B, H, W, 3].
  for loss in lines:
    first = _stylized(yoto, content, line_points[loss][1])
    rows.append((
        ["content", "style"] + [f"{who}\n{p.name}" for who in ("fixed", "YOTO")
                                for p in line_points[loss]],
        [first["content"], first["style"]] +
        [fixed[p.model] for p in line_points[loss]] +
        [_stylized(yoto, content, p)["stylized"] for p in line_points[loss]]))
  figure = _figure(1.3 * len(rows[0][0]),
                   1.4 * len(rows) * content.shape[0] + 0.6)
  axes = figure.subplots(len(rows) * content.shape[0], len(rows[0][0]),
                         squeeze=False)
  for example in range(content.shape[0]):
    for i, (names, images) in enumerate(rows):
      for column, (name, image) in enumerate(zip(names, images)):
        ax = axes[example * len(rows) + i, column]
        ax.imshow(np.clip(np.asarray(image[example]), 0, 1))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(name, fontsize=7)
  figure.suptitle(title, fontsize=9)
  return figure


# Tables and the whole analysis.


def _json(value):
  if isinstance(value, seed_statistics.Interval):
    return value.to_json()
  if isinstance(value, WeightPoint):
    return value.name
  if isinstance(value, Mapping):
    return {_json(k) if isinstance(k, WeightPoint) else str(k): _json(v)
            for k, v in value.items()}
  return value


def analyse(specs, points, model_root, steps, seed_list, shared, batches,
            out_dir, name, timings, short):
  """Tables and figures of the finished models; returns (results, md)."""
  curves = reproduction.collect_curves(specs, model_root, seed_list, steps,
                                       point_of(points))
  if "yoto" not in curves:
    return {"timings": timings}, "No YOTO model finished yet.\n"
  fixed = {p: p.model for p in points}
  # The specialist's style weights are the default's: compared on the
  # content line only.
  for per_step in curves.get("specialist", {}).values():
    for values in per_step.values():
      for point in [p for p in values if not on_line(p, "content_loss")]:
        del values[point]
  finished = [m for m in curves]
  step = seed_statistics.final_step(curves, finished)
  blends = add_blends(curves, specs, points, model_root, seed_list, step,
                      shared, batches, short)
  baseline = seed_statistics.single_model(curves, fixed, step)
  methods = [m for m in ("yoto", "specialist") if m in curves] + list(blends)
  rows = seed_statistics.gap_rows(curves, fixed, methods, step, baseline)
  statements = {m: seed_statistics.model_convergence(
      curves, m, [p for p in points if m in ("yoto", "specialist") or
                  p.model == m]) for m in finished}
  seeds_done = sorted(curves["yoto"])
  title = (f"photo_patches test split, step {step}, seeds "
           f"{', '.join(map(str, seeds_done))}")
  paths = [plots.save(gaps_figure(rows, baseline, title), os.path.join(
      out_dir, f"{name}_gaps.png")),
           plots.save(learning_curves_figure(
               curves, fixed, [m for m in ("yoto", "specialist")
                               if m in curves], title),
                      os.path.join(out_dir, f"{name}_learning_curves.png"))]
  seed_root = reproduction.seed_dir(model_root, seeds_done[0])
  if all(seeds_done[0] in curves.get(p.model, {}) for p in points):
    content = batches[0][:GRID_EXAMPLES]
    paths.append(plots.save(figure7(
        specs, points, seed_root, shared, content,
        f"Figure 7, seed {seeds_done[0]}, held-out content and style: the "
        "fixed models (left) and the one YOTO model (right)"),
        os.path.join(out_dir, f"{name}_figure7.png")))
  sweep_cpu = reproduction.cpu_seconds(timings, list(fixed.values()))
  yoto_cpu = {m: reproduction.cpu_seconds(timings, [m])
              for m in ("yoto", "specialist")}
  results = {
      "steps": steps, "compared_step": step, "seeds": seeds_done,
      "split": reproduction.SPLIT, "single_model": baseline,
      "points": {p.name: {"model": p.model, "weights": p.as_dict()}
                 for p in points},
      "gaps": [{"point": r["label"].name, "fixed": _json(r["fixed"]),
                "gaps": _json(r["gaps"]), "relative": r["relative"]}
               for r in rows],
      "blends": _json(blends), "convergence": _json(statements),
      "timings": timings,
      "cpu_seconds": {"fixed_sweep": sweep_cpu, **yoto_cpu},
      "files": [os.path.basename(p) for p in paths]}
  return results, markdown(results, rows, baseline, statements, points)


def markdown(results, rows, baseline, statements, points) -> str:
  label = lambda point: point.name
  weights = common.markdown_table(
      ["point", "fixed model"] + [k for k, _ in points[0].weights],
      [[p.name, p.model] + [f"{w:.3g}" for _, w in p.weights]
       for p in points])
  alpha = lambda chosen, point: (f"{chosen[point.name]:g}"
                                 if point.name in chosen else "")
  alphas = common.markdown_table(
      ["blend", "seed", *[p.name for p in points]],
      [[name, seed] + [alpha(d["best_alpha"], p) for p in points]
       for name, per_seed in results["blends"].items()
       for seed, d in per_seed.items()])
  md = (
      "The paper's Figure-6a weight vectors: Ghiasi et al.'s default "
      "weights (content 2, style 1-3 1e-3, style 4 1e-2) moved onto this "
      "loss network's ranges, and each swept weight x10 and ÷10:\n\n" +
      weights +
      f"\nFull loss on the test split at step {results['compared_step']} "
      f"(seeds {', '.join(map(str, results['seeds']))}): method − fixed "
      "at each point, mean ± 95 % interval over seeds (paired by seed) and "
      "relative to the fixed loss; positive: worse than the fixed model. "
      "The specialist only on the content line; 'blend <weight>' is the "
      "best pixel blend of that weight's two end models (α chosen on the "
      "test images).\n\n" +
      seed_tables.gap_markdown(rows, baseline, label="point",
                               label_text=label) +
      "\nThe blends' best α (0: the ÷10 model, 1: the x10 model):\n\n" +
      alphas +
      "\nConvergence of the test full loss over the last quarter of the run "
      "(seed mean; a YOTO model at its worst point); 'not plateaued' when "
      f"that is more than {100 * seed_statistics.PLATEAU_SHARE:.0f} % of "
      "the improvement since the first evaluation:\n\n" +
      seed_tables.convergence_markdown(statements, "point", "loss units",
                                       label_text=label))
  cpu = results["cpu_seconds"]
  if cpu.get("fixed_sweep"):
    md += (f"\nCPU time per seed: the {len(points)} fixed models together "
           f"{cpu['fixed_sweep']:.0f} s; " + ", ".join(
               f"{n} {c:.0f} s ({cpu['fixed_sweep'] / c:.1f}x less)"
               for n, c in cpu.items() if n != "fixed_sweep" and c) + ".\n")
  return md + "\n" + reproduction.seconds_line(results["timings"])
