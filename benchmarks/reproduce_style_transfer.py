r"""A reduced-scale reproduction of the paper's style transfer (Figure 6).

  python -m benchmarks.reproduce_style_transfer               # 35-55 min
  python -m benchmarks.reproduce_style_transfer --steps=2000  # longer; resumes
  python -m benchmarks.reproduce_style_transfer --tiny   # a few steps; tests

On the embedded data (64x64 crops of scikit-image's photos, generated styles
with two held out for evaluation; config/photo_patches_magenta_style_transfer_
{yoto,fixed}.gin) it trains, all for the same number of steps (default: the
config's `experiment.train_steps`) with the config's learning-rate schedule
rescaled to them:

  fixed_centre          a fixed-weight model at the centre of the YOTO
                        model's training ranges (the geometric mean of each);
  fixed_content_<w>     the same with the content weight at the low and at
                        the high end of its range;
  fixed_style3_<w>      the same with the third style weight at either end;
  yoto                  one YOTO model over all five conditioned weights
                        (content and the four style weights; total variation
                        stays fixed);
  specialist            a YOTO model conditioned on the content weight only,
                        every other weight fixed at the centre (the paper's
                        "specialist" of Figure 6b).

The ranges, the steps and the schedule are read from the YOTO config with
gin, so the script follows whatever the config holds. Every model is trained
in-process by `experiment` (`schedule='train_and_eval'`, see
benchmarks/reproduction.py: a rerun skips finished models and so resumes)
and evaluated on the test split (crops of a held-out photo, each with a
held-out style) at the same weights: the fixed models' vectors and sweeps of
the content weight (--content_points, log-spaced over its range) and of the
third style weight (--style_points), the other weights at the centre.

Writes to --out_dir:
  reproduce_style_transfer_losses.png    Figure 6a: each of the two weights
                                         varied alone; the varied weight's
                                         own loss and the full loss against
                                         it for YOTO (and the specialist
                                         along the content weight), the
                                         single-model baseline (fixed_centre
                                         at every weight) and the fixed
                                         models at their weights;
  reproduce_style_transfer_tradeoff.png  Figure 6b: content loss against the
                                         sum of the four style losses along
                                         the content weight for YOTO, the
                                         specialist, the fixed models and the
                                         interpolation baseline, which blends
                                         the pixels of the two content-extreme
                                         fixed models, (1 - α) low + α high,
                                         and measures the blends' losses on
                                         the same test batches;
  reproduce_style_transfer.md / .json    the full-loss gap (method - fixed) /
                                         |fixed| of YOTO, the specialist and
                                         the single model to each fixed model
                                         at its weights, the trade-off points,
                                         YOTO's training step time against a
                                         fixed model's, and training times.

Deviations from the paper (§4.3, A.3): a quarter-width network trained for
hundreds of steps instead of 2M on ImageNet, the loss network is HED's
VGG-16 at 64 px, and the weight ranges are those of the embedded config
(see its header), not the paper's. Figure 6a varies two of the five weights
(the two the paper's Figure 7 shows) rather than all five.
"""

import dataclasses
import os
import sys
import tempfile
import time
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import common
from benchmarks import reproduction
import gin
from matplotlib.backends import backend_agg
from matplotlib.figure import Figure
import tensorflow as tf

from yoto.analysis import metrics
from yoto.analysis import plots
from yoto.problems import style_transfer
from yoto.utils import data
from yoto.utils import preprocessing
# pylint: enable=g-import-not-at-top,wrong-import-position

NAME = "reproduce_style_transfer"
YOTO_CONFIG = "photo_patches_magenta_style_transfer_yoto.gin"
FIXED_CONFIG = "photo_patches_magenta_style_transfer_fixed.gin"
CONTENT = style_transfer.CONTENT_LOSS
STYLE = "style_loss_3"  # The third style weight (the paper's Figure 7).
STYLE_SUM = "style_losses_sum"  # The problem's metric: Σ style losses.
VARIED = (CONTENT, STYLE)
SHORT = {CONTENT: "content", STYLE: "style3"}
ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
# The specialist's other weights are sampled from [c / (1 + ε), c (1 + ε)].
SPECIALIST_EPSILON = 1e-4
# --tiny: a narrow network, so that seven models train in seconds each.
TINY_BINDINGS = common.TINY_STYLE_NETWORK_BINDINGS
TINY_STEPS = 3
TINY_BATCH = 2
STYLES = {
    "yoto": dict(color="tab:blue", marker="o"),
    "specialist": dict(color="tab:purple", marker="D"),
    "single model": dict(color="tab:green", marker="^", ls="--"),
    "fixed": dict(color="tab:orange", marker="s"),
    "interpolation": dict(color="tab:gray", marker="x", ls=":"),
}

Weights = Dict[str, float]


# The weight vectors.


@dataclasses.dataclass(frozen=True)
class ConfigValues:
  """What the reproduction takes from the YOTO config.

  Attributes:
    ranges: loss name -> (low, high) of the training distribution, every
      loss in sorted order.
    train_steps: the config's training steps (the default --steps).
    decay_fractions: the learning-rate decay boundaries over train_steps.
    iterations_per_loop: the config's steps per compiled loop.
  """
  ranges: Dict[str, Tuple[float, float]]
  train_steps: int
  decay_fractions: Tuple[float, ...]
  iterations_per_loop: int


def read_config(config: str = YOTO_CONFIG) -> ConfigValues:
  """Reads the ranges, steps and schedule from a YOTO config with gin."""
  common.parse_config(config)
  try:
    names = sorted(common.experiment_value("problem_class")().losses_keys)
    spec = common.bound_value("YotoOptimizer.train_distribution_spec_class")()
    steps = int(common.experiment_value("train_steps"))
    boundaries = common.bound_value("TrainingParams.lr_decay_steps_str", "")
    loop = int(common.experiment_value("iterations_per_loop", 100))
  finally:
    gin.clear_config()
  missing = set(VARIED) - set(names)
  if missing:
    raise ValueError(f"{config} has no {sorted(missing)}; its losses are "
                     f"{names}.")
  fractions = tuple(int(b) / steps for b in boundaries.split(",") if b.strip())
  return ConfigValues(dict(zip(names, spec.ranges(len(names)))), steps,
                      fractions, loop)


def fixed_name(loss: str, weight: float) -> str:
  """The fixed model with `loss` at `weight`, e.g. fixed_content_0.1."""
  return f"fixed_{SHORT[loss]}_{weight:g}"


@dataclasses.dataclass(frozen=True)
class Grid:
  """The weight vectors of the models and of the evaluation.

  Attributes:
    ranges: loss name -> (low, high) of YOTO's training distribution.
    centre: loss name -> the geometric centre of its range (3 significant
      digits).
    sweeps: varied loss name -> weight vectors with that weight log-spaced
      over its range (ends exact) and the others at the centre.
  """
  ranges: Dict[str, Tuple[float, float]]
  centre: Weights
  sweeps: Dict[str, List[Weights]]

  def vary(self, name: str, value: float) -> Weights:
    return {**self.centre, name: float(value)}

  def fixed(self) -> Dict[str, Weights]:
    """Model name -> training weights of the fixed-weight models: the
    centre, then both ends of each varied weight."""
    result = {"fixed_centre": dict(self.centre)}
    for name in self.sweeps:
      for end in self.ranges[name]:
        result[fixed_name(name, end)] = self.vary(name, end)
    return result

  def eval_weights(self) -> List[Weights]:
    """The sweeps and the fixed vectors, each once."""
    result = {}
    for weights in [w for s in self.sweeps.values() for w in s] + list(
        self.fixed().values()):
      result.setdefault(metrics.weights_key(weights), weights)
    return list(result.values())

  def on_line(self, weights: Mapping[str, float], name: str) -> bool:
    """Whether `weights` is the centre with at most `name` changed."""
    return (metrics.weights_key({**weights, name: self.centre[name]}) ==
            metrics.weights_key(self.centre))

  def varied_weight(self, weights: Mapping[str, float]) -> Optional[str]:
    """The varied loss whose line `weights` lies on ('' for the centre)."""
    if self.on_line(weights, CONTENT) and self.on_line(weights, STYLE):
      return ""
    return next((n for n in VARIED if self.on_line(weights, n)), None)


def make_grid(ranges: Mapping[str, Tuple[float, float]],
              content_points: int, style_points: int) -> Grid:
  """The centre of `ranges` and the sweeps of the two varied weights."""
  centre = {k: reproduction.log_spaced(1, lo, hi)[0]
            for k, (lo, hi) in ranges.items()}
  sweeps = {}
  for name, count in ((CONTENT, content_points), (STYLE, style_points)):
    sweeps[name] = [{**centre, name: v}
                    for v in reproduction.log_spaced(count, *ranges[name])]
  return Grid(dict(ranges), centre, sweeps)


# The models.


def specialist_bindings(grid: Grid) -> Tuple[str, ...]:
  """Conditioned on the content weight, sampled over its whole range; the
  other weights sampled from a tiny interval around the centre (like
  config/imagenet_magenta_style_transfer_specialist_yoto.gin)."""
  params = []
  for name in sorted(grid.ranges):
    low, high = grid.ranges[name]
    if name != CONTENT:
      low = grid.centre[name] / (1 + SPECIALIST_EPSILON)
      high = grid.centre[name] * (1 + SPECIALIST_EPSILON)
    params.append({"low": low, "high": high})
  return (f"StyleTransferProblem.conditioned_losses = {[CONTENT]!r}",
          f"train/DistributionSpec.params = {params!r}")


def model_specs(grid: Grid) -> List[reproduction.ModelSpec]:
  """The models of the reproduction, fixed ones first."""
  specs = [reproduction.fixed_model(name, FIXED_CONFIG, weights)
           for name, weights in grid.fixed().items()]
  specs.append(reproduction.ModelSpec("yoto", YOTO_CONFIG))
  specs.append(reproduction.ModelSpec("specialist", YOTO_CONFIG,
                                      specialist_bindings(grid)))
  return specs


def shared_bindings(steps: int, config: ConfigValues, grid: Grid,
                    batch: Sequence[str] = (),
                    tiny: bool = False) -> List[str]:
  """Bindings every model gets: steps, schedule, eval weights, `batch`
  (`reproduction.override_bindings`) and, with `tiny`, a narrow network."""
  return (reproduction.schedule_bindings(steps, config.decay_fractions,
                                         evals=1,
                                         max_loop=config.iterations_per_loop) +
          [f"experiment.eval_weights = {grid.eval_weights()!r}"] +
          list(batch) + (list(TINY_BINDINGS) if tiny else []))


# Evaluation data and the interpolation baseline.


def eval_batches(bindings: Sequence[str], seed: int) -> List[tf.Tensor]:
  """The content images [B, H, W, 3] of the test batches the evaluator
  reads: the config's dataset, eval batch, eval steps and preprocessing."""
  common.parse_config(YOTO_CONFIG, bindings)
  try:
    name = common.experiment_value("dataset_name")
    batch_size = common.experiment_value("eval_batch_size")
    steps = common.experiment_value("eval_steps")
    pipeline = common.experiment_value("preprocess_eval", "")
    key = common.bound_value("StyleTransferProblem.features_key", "image")
  finally:
    gin.clear_config()
  dataset = data.get_dataset(
      name, data.DatasetSplit.TEST, batch_size=batch_size,
      preprocess_fn=preprocessing.get_preprocess_fn(pipeline), shuffle=False,
      repeat=False, seed=seed, drop_remainder=True)
  return [features[key] for features in dataset.take(steps)]


def interpolation_baseline(
    problems: Sequence[style_transfer.StyleTransferProblem],
    batches: Sequence[tf.Tensor],
    alphas: Sequence[float] = ALPHAS) -> List[dict]:
  """The losses of pixel blends of two fixed models' images.

  Each content image [B, H, W, 3] of `batches` gets its held-out eval style
  (as in evaluation); the two models stylize it, y_0 and y_1, and the blend
  (1 - α) y_0 + α y_1 is scored with the first model's loss network.

  Returns:
    Per α: {'alpha', every loss, 'style_losses_sum'}, means over all images.
  """
  low = problems[0]
  sums = [{} for _ in alphas]
  count = 0
  for content in batches:
    indices = low.style_indices(content, training=False)
    images = [p.stylize_with_styles(content, indices) for p in problems]
    for alpha, total in zip(alphas, sums):
      blended = (1 - alpha) * images[0] + alpha * images[1]
      losses = low.losses(blended, content, indices)
      losses[STYLE_SUM] = tf.add_n([losses[n] for n in low.style_losses])
      for name, values in losses.items():
        total[name] = total.get(name, 0.0) + float(tf.reduce_sum(values))
    count += int(content.shape[0])
  return [{"alpha": float(alpha), **{k: v / count for k, v in total.items()}}
          for alpha, total in zip(alphas, sums)]


def run_interpolation(specs, model_root, steps, shared, grid, batches):
  """The baseline between the two content-extreme fixed models (restored
  from their checkpoints), or None while either is unfinished."""
  names = [fixed_name(CONTENT, end) for end in grid.ranges[CONTENT]]
  finished = reproduction.finished_dirs(specs, model_root, steps, yoto=False)
  if not all(n in finished for n in names):
    return None
  by_name = {s.name: s for s in specs}
  states = [reproduction.restore_state(by_name[n], model_root, shared,
                                       batches[0].shape[1:],
                                       batches[0].shape[0]) for n in names]
  return {"models": names,
          "points": interpolation_baseline([s.problem for s in states],
                                           batches)}


# Step time.


def step_time(specs, shared, image_shape, steps_per_call: int,
              repeats: int) -> dict:
  """YOTO's training step against the centre fixed model's.

  The project's compiled training loop (`Trainer.run_steps`) on a constant
  in-memory batch of content images [B, *image_shape] (B: the training
  batch of `shared`), timed interleaved (see benchmarks/common.py).
  """
  by_name = {s.name: s for s in specs}
  states = {label: common.build_state(
      by_name[name].config, by_name[name].all_bindings(shared), image_shape)
            for label, name in (("yoto", "yoto"), ("fixed", "fixed_centre"))}
  batch_size = states["yoto"].batch_size
  dataset_fn = common.in_memory_dataset_fn(
      common.synthetic_images(batch_size, image_shape, (0, 1)))
  with tempfile.TemporaryDirectory() as tmp:
    variants = {label: common.loop_fn(
        common.make_trainer(state, os.path.join(tmp, label), steps_per_call),
        dataset_fn, steps_per_call) for label, state in states.items()}
    times = common.interleaved(variants, repeats)
  medians = common.medians(times)
  return {
      "batch_size": batch_size, "image_shape": [int(d) for d in image_shape],
      "steps_per_call": steps_per_call,
      "repeats": repeats, "times": times.to_json(),
      "seconds_per_step": {clock: {k: v / steps_per_call
                                   for k, v in values.items()}
                           for clock, values in medians.items()},
      "ratio": common.ratios(times, {"yoto/fixed": ("yoto", "fixed")})[
          "yoto/fixed"]}


# Analysis.


def load_runs(specs, model_root, steps):
  """({YOTO-kind name: RunMetrics}, {fixed name: RunMetrics}) of the
  finished models at `steps` on the test split, checked to fit together."""
  fixed_dirs = reproduction.finished_dirs(specs, model_root, steps,
                                          yoto=False)
  yoto, fixed = {}, {}
  for name, model_dir in reproduction.finished_dirs(
      specs, model_root, steps, yoto=True).items():
    yoto[name], runs = metrics.load_comparison(
        model_dir, list(fixed_dirs.values()), step=steps,
        split=reproduction.SPLIT)
    fixed = dict(zip(fixed_dirs, runs))
  return yoto, fixed


def _value(run, weights, key):
  return run.values_at(weights)[key]


def curves(yoto: Mapping[str, metrics.RunMetrics], grid: Grid
           ) -> Dict[str, Dict[str, List[dict]]]:
  """model -> varied loss -> per sweep point: the weight, the varied
  weight's own loss, the content loss, the style sum and the full loss."""
  keys = (CONTENT, STYLE, STYLE_SUM, "full_loss")
  return {model: {name: [{"weight": w[name],
                          **{k: _value(run, w, k) for k in keys}}
                         for w in sweep]
                  for name, sweep in grid.sweeps.items()}
          for model, run in yoto.items()}


def gap_rows(yoto, fixed, grid: Grid) -> List[dict]:
  """Per fixed model: its full loss at its weights, and each method's full
  loss there and relative gap (method - fixed) / |fixed|.

  Methods: every YOTO-kind model (the specialist only on the content line,
  where its fixed weights are right) and the single-model baseline,
  fixed_centre evaluated at the other model's weights.
  """
  rows = []
  single = fixed.get("fixed_centre")
  for name, run in fixed.items():
    weights = run.train_weights
    reference = run.own_values()["full_loss"]
    losses = {m: _value(r, weights, "full_loss") for m, r in yoto.items()
              if m != "specialist" or grid.on_line(weights, CONTENT)}
    if single is not None:
      losses["single model"] = _value(single, weights, "full_loss")
    rows.append({
        "model": name, "weights": weights,
        "varied": grid.varied_weight(weights),
        "fixed_full_loss": reference, "full_loss": losses,
        "gap": {m: reproduction.relative_gap(v, reference)
                for m, v in losses.items()}})
  return rows


def mean_gaps(rows: Sequence[dict]) -> Dict[str, Optional[float]]:
  methods = {m: None for r in rows for m in r["gap"]}
  return {m: reproduction.mean([r["gap"].get(m) for r in rows])
          for m in methods}


def _figure(width, height):
  figure = Figure(figsize=(width, height), dpi=100)
  backend_agg.FigureCanvasAgg(figure)
  return figure


def _fixed_on_line(fixed, grid, name):
  """The fixed models on `name`'s line, by that weight."""
  runs = [r for r in fixed.values() if grid.on_line(r.train_weights, name)]
  return sorted(runs, key=lambda r: r.train_weights[name])


def losses_figure(yoto, fixed, grid: Grid, title: str) -> Figure:
  """Figure 6a: the varied weight's own loss (top) and the full loss
  (bottom) against that weight, one column per varied weight."""
  figure = _figure(10, 7.5)
  axes = figure.subplots(2, len(VARIED), squeeze=False)
  single = fixed.get("fixed_centre")
  for column, name in enumerate(VARIED):
    sweep = grid.sweeps[name]
    xs = [w[name] for w in sweep]
    on_line = _fixed_on_line(fixed, grid, name)
    for row, key in enumerate((name, "full_loss")):
      ax = axes[row, column]
      for model, run in yoto.items():
        if model == "specialist" and name != CONTENT:
          continue  # Not conditioned on the style weights.
        ax.plot(xs, [_value(run, w, key) for w in sweep], label=model,
                **STYLES.get(model, STYLES["yoto"]))
      if single is not None and key == "full_loss":
        ax.plot(xs, [_value(single, w, key) for w in sweep],
                label="single model (fixed_centre)", **STYLES["single model"])
      if on_line:
        ax.scatter([r.train_weights[name] for r in on_line],
                   [r.own_values()[key] for r in on_line], s=60, zorder=3,
                   label="fixed weights", color=STYLES["fixed"]["color"],
                   marker=STYLES["fixed"]["marker"])
      ax.set_xscale("log")
      ax.set_yscale("log")
      ax.set_xlabel(f"{name} weight (others at the centre)")
      ax.set_ylabel(key)
      ax.grid(alpha=0.3, which="both")
      ax.legend(fontsize=7)
  figure.suptitle(title, fontsize=9)
  return figure


def tradeoff_figure(yoto, fixed, grid: Grid, interpolation, title: str
                    ) -> Figure:
  """Figure 6b: content loss against the style-loss sum along the content
  weight, with the interpolation baseline."""
  figure = _figure(6.4, 5)
  ax = figure.subplots()
  sweep = grid.sweeps[CONTENT]
  for model, run in yoto.items():
    ax.plot([_value(run, w, CONTENT) for w in sweep],
            [_value(run, w, STYLE_SUM) for w in sweep], label=model,
            **STYLES.get(model, STYLES["yoto"]))
  on_line = _fixed_on_line(fixed, grid, CONTENT)
  if on_line:
    ax.plot([r.own_values()[CONTENT] for r in on_line],
            [r.own_values()[STYLE_SUM] for r in on_line],
            label="fixed weights", **STYLES["fixed"])
  if interpolation:
    points = interpolation["points"]
    ax.plot([p[CONTENT] for p in points], [p[STYLE_SUM] for p in points],
            label="interpolation " + " → ".join(interpolation["models"]),
            **STYLES["interpolation"])
    for p in points:
      ax.annotate(f"α={p['alpha']:g}", (p[CONTENT], p[STYLE_SUM]),
                  textcoords="offset points", xytext=(4, 4), fontsize=7,
                  color=STYLES["interpolation"]["color"])
  ax.set_xscale("log")
  ax.set_yscale("log")
  ax.set_xlabel("content loss")
  ax.set_ylabel("sum of the style losses")
  ax.grid(alpha=0.3, which="both")
  ax.legend(fontsize=7)
  ax.set_title(title, fontsize=9)
  return figure


def _pct(value) -> str:
  return "" if value is None else f"{100 * value:+.1f} %"


def gap_markdown(rows: Sequence[dict]) -> str:
  """One row per fixed model: its full loss, each method's and the gap."""
  methods = list(mean_gaps(rows))
  table = [[r["model"], r["varied"] or "(centre)", r["fixed_full_loss"]] +
           [f"{r['full_loss'][m]:.4g} ({_pct(r['gap'][m])})"
            if m in r["gap"] else "" for m in methods] for r in rows]
  means = mean_gaps(rows)
  table.append(["mean gap", "", ""] + [_pct(means[m]) for m in methods])
  return common.markdown_table(
      ["fixed model", "varied", "fixed full loss"] + methods, table)


def tradeoff_markdown(curve_points, fixed, grid, interpolation) -> str:
  """Content loss / style-loss sum along the content weight, per method."""
  models = list(curve_points)
  by_weight = {f"{r.train_weights[CONTENT]:.6g}": r.own_values()
               for r in _fixed_on_line(fixed, grid, CONTENT)}
  cell = lambda v: f"{v[CONTENT]:.4g} / {v[STYLE_SUM]:.4g}"
  rows = []
  for i, weights in enumerate(grid.sweeps[CONTENT]):
    weight = f"{weights[CONTENT]:.6g}"
    rows.append([weight] +
                [cell(curve_points[m][CONTENT][i]) for m in models] +
                [cell(by_weight[weight]) if weight in by_weight else ""])
  md = common.markdown_table(["content weight"] + models + ["fixed"], rows)
  if interpolation:
    md += ("\nInterpolation baseline, (1 - α) " +
           " + α ".join(interpolation["models"]) + ":\n\n" +
           common.markdown_table(
               ["α", "content loss / style-loss sum"],
               [[f"{p['alpha']:g}", cell(p)]
                for p in interpolation["points"]]))
  return md


def step_time_markdown(timing: dict) -> str:
  per_step = timing["seconds_per_step"]
  return (
      f"Training step time (the project's training loop, batch "
      f"{timing['batch_size']} of in-memory "
      f"{'x'.join(map(str, timing['image_shape'][:2]))} content, "
      f"{timing['steps_per_call']} steps per call, {timing['repeats']} "
      "interleaved repetitions; median CPU s / wall s per step): YOTO "
      f"{per_step['cpu']['yoto']:.3g} / {per_step['wall']['yoto']:.3g}, "
      f"fixed {per_step['cpu']['fixed']:.3g} / "
      f"{per_step['wall']['fixed']:.3g}; **YOTO/fixed "
      f"{common.format_ratio(timing['ratio'])}**.\n")


def _fixed_json(fixed):
  return {n: {"weights": r.train_weights, "values": r.own_values()}
          for n, r in fixed.items()}


def analyse(specs, model_root, steps, out_dir, grid, interpolation):
  """Figures and tables from the finished models; returns (results, md)."""
  yoto, fixed = load_runs(specs, model_root, steps)
  if not yoto:
    return {}, "No YOTO model finished yet.\n"
  title = (f"photo_patches/64 test split, {steps} steps: "
           f"{', '.join(yoto)} vs {len(fixed)} fixed models")
  paths = [
      plots.save(losses_figure(yoto, fixed, grid, title),
                 os.path.join(out_dir, f"{NAME}_losses.png")),
      plots.save(tradeoff_figure(yoto, fixed, grid, interpolation, title),
                 os.path.join(out_dir, f"{NAME}_tradeoff.png"))]
  rows = gap_rows(yoto, fixed, grid)
  curve_points = curves(yoto, grid)
  results = {"gaps": rows, "mean_gap": mean_gaps(rows),
             "curves": curve_points, "fixed": _fixed_json(fixed),
             "files": [os.path.basename(p) for p in paths]}
  md = (f"Full loss on the test split after {steps} steps per model, at "
        "each fixed model's training weights, and the relative gap (method "
        "- fixed) / |fixed| (positive: worse than the fixed model; the "
        "specialist only where its fixed style weights are right; single "
        "model: fixed_centre):\n\n" + gap_markdown(rows) +
        "\nContent loss / sum of the style losses along the content weight "
        "(the others at the centre; Figure 6b):\n\n" +
        tradeoff_markdown(curve_points, fixed, grid, interpolation))
  return results, md


# Command line.


def _parser(config: ConfigValues):
  parser = common.base_parser(__doc__)
  reproduction.add_arguments(parser, os.path.join(
      common.REPO_ROOT, "runs", NAME), config.train_steps, TINY_STEPS,
      default_seeds=1, default_evals=1)
  parser.add_argument("--content_points", type=int, default=None,
                      help="Content weights evaluated, log-spaced over its "
                      "range (default 7; 3 with --tiny).")
  parser.add_argument("--style_points", type=int, default=None,
                      help="Third style weights evaluated (default 5; 3 with "
                      "--tiny).")
  parser.add_argument("--timing_steps", type=int, default=None,
                      help="Training steps per timed call (default 5; 1 "
                      "with --tiny); --repeats calls each (default 5; 1).")
  return parser


def main(argv=None):
  config = read_config()
  args = _parser(config).parse_args(argv)
  steps, model_root = reproduction.steps_and_root(args, config.train_steps,
                                                  TINY_STEPS)
  small = lambda value, tiny, default: value or (tiny if args.tiny
                                                 else default)
  grid = make_grid(config.ranges, small(args.content_points, 3, 7),
                   small(args.style_points, 3, 5))
  specs = model_specs(grid)
  shared = shared_bindings(steps, config, grid,
                           reproduction.override_bindings(args, TINY_BATCH),
                           args.tiny)
  start = time.time()
  seeds = reproduction.seeds(args)
  seconds = reproduction.train_all(specs, model_root, steps, shared, seeds,
                                   reproduction.only_names(args),
                                   export=not args.no_export,
                                   max_minutes=args.max_minutes)
  # One seed is analysed until the style report reads seed statistics.
  model_root = reproduction.seed_dir(model_root, seeds[0])
  batches = eval_batches(shared, args.seed)
  interpolation = run_interpolation(specs, model_root, steps, shared, grid,
                                    batches)
  results, text = analyse(specs, model_root, steps, args.out_dir, grid,
                          interpolation)
  timing = step_time(specs, shared, batches[0].shape[1:],
                     small(args.timing_steps, 1, 5),
                     small(args.repeats, 1, 5))
  text += "\n" + step_time_markdown(timing) + "\n" + \
      reproduction.seconds_line(seconds)
  results.update(
      steps=steps, split=reproduction.SPLIT, model_root=model_root,
      ranges=grid.ranges, centre=grid.centre, sweeps=grid.sweeps,
      fixed_weights=grid.fixed(), interpolation=interpolation,
      step_time=timing, models_seconds=seconds, shared_bindings=shared,
      wall_seconds_this_run=time.time() - start)
  common.write_results(NAME, args.out_dir, results, text, argv)
  return results


if __name__ == "__main__":
  main()
