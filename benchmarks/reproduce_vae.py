r"""A reduced-scale reproduction of the paper's β-VAE results (Figures 2, 4).

  python -m benchmarks.reproduce_vae                      # 3 seeds, resumable
  python -m benchmarks.reproduce_vae --max_minutes=50     # one chunk of it
  python -m benchmarks.reproduce_vae --steps=16000 --name=steps16000
  python -m benchmarks.reproduce_vae --variants=all       # + the ablations
  python -m benchmarks.reproduce_vae --tiny               # seconds; for tests

In a setting (`--setting`, `SETTINGS` below): by default procedural_shapes
(Shapes3D-like 32x32 scenes drawn offline, Bernoulli outputs, the paper's
Shapes3D network at 32x32: config/procedural_shapes_conv_vae_{yoto,fixed}.gin,
β grid 0.5, 4, 32, 256, 2048, 6000 steps), small enough that the fixed models
converge on 2 CPU cores; or photo_patches (32x32 crops of scikit-image photos,
the CIFAR-10 network with Gaussian outputs, the embedded default's configs,
β grid 0.5 ... 512, 4000 steps). It trains, all for the same number of steps
with the same learning-rate schedule (halved at 50 % and 75 % of the steps,
as the configs do) and with every seed of `--seeds` (default 3):

  fixed_beta<β>  a fixed-weight β-VAE for every β of the setting's grid;
  the YOTO variants of `--variants` (default: yoto, yoto_wide), each one
  YOTO model with β log-uniform over the grid's range and one change
  (`VARIANTS` below lists them: widths, FiLM width, loss-weight
  normalisation, centred log β, learning rate, per-batch weights, a wider
  training range, and Figure 4's uniform β, raw β and input or concat
  conditioning).

Every model is evaluated on the test split at every β of the grid `--evals`
times during training (default 8: the learning curves). A model_dir with
FINISHED and eval rows at the final step is skipped, an unfinished one
resumes from its last checkpoint: rerunning the command continues an
interrupted reproduction (`--max_minutes` starts no model after that long).

From the eval rows (via `yoto.analysis`) it writes, to --out_dir, under the
results name (`reproduce_vae`, `reproduce_vae_<name>` with --name, or
`reproduce_vae_steps<N>`):
  <name>.md / .json       the gap table: per β, the fixed model's full loss
                          and its seed-to-seed standard deviation (the noise
                          floor), and every variant's and the single-model
                          baseline's full-loss gap to it (nats per image,
                          mean ± 95 % interval over seeds); the convergence
                          statement of every model; CPU seconds of the
                          fixed sweep against one YOTO model;
  <name>_learning_curves.png  YOTO's gap per β against training steps;
  <name>_variants.png     every method's gap per β with its interval (the
                          ablation table and Figure 4 as one figure);
  <name>_frontier.png     reconstruction loss vs KL with each method's
                          Pareto front (Figure 2, left; the first seed);
  <name>_full_loss.png    full loss minus the fixed model's vs log2 β
                          (Figure 2, right; the first seed);
  <name>_figure3_{reconstructions,samples}.png  Figure 3: test crops
                          reconstructed, and samples from the same noise, by
                          the first YOTO variant and the fixed model at each
                          β, side by side (the first seed).

Model_dirs go to MODEL_ROOT/steps<steps>/seed<seed>/<model> (MODEL_ROOT
defaults to runs/reproduce_vae/<setting>); results of the photo_patches
setting are named reproduce_vae_photo_patches[_<name>].
"""

import dataclasses
import math
import os
import sys
import time
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import common
from benchmarks import reproduction
from benchmarks import seed_tables
import gin
from matplotlib.figure import Figure
import numpy as np
import tensorflow as tf

from yoto.analysis import frontier
from yoto.analysis import metrics
from yoto.analysis import plots
from yoto.analysis import seed_statistics
from yoto.analysis import vae_outputs
from yoto.analysis import tables
# pylint: enable=g-import-not-at-top,wrong-import-position



@dataclasses.dataclass(frozen=True)
class Setting:
  """One reproduction's data and models (`architecture`, whose name is the
  dataset's), its default β grid and training length."""
  architecture: common.Architecture
  betas: str
  steps: int

  @property
  def preprocess(self) -> str:
    """The eval preprocessing of the architecture's images."""
    return "value_range({:g},{:g})".format(*self.architecture.value_range)


SETTINGS = {
    # The default: Shapes3D-like scenes, Bernoulli outputs; fixed models
    # converge within the run (BENCHMARKS.md §5).
    "procedural_shapes": Setting(common.ARCHITECTURES["procedural_shapes"],
                                 "0.5,4,32,256,2048", 6000),
    # Photo crops with the CIFAR-10 network and Gaussian outputs: the
    # embedded default's setting, far from converged at these lengths.
    "photo_patches": Setting(common.ARCHITECTURES["photo_patches"],
                             "0.5,2,8,32,128,512", 4000),
}
DEFAULT_SETTING = "procedural_shapes"
DEFAULT_VARIANTS = "yoto,yoto_wide"
SPLIT = reproduction.SPLIT
SCRIPT = "reproduce_vae"

# Plot styles of the YOTO variants beyond the first one.
EXTRA_STYLES = {
    "yoto_wide": dict(color="tab:purple", marker="D"),
    "yoto_uniform": dict(color="tab:red", marker="v"),
    "yoto_input": dict(color="tab:brown", marker="P"),
    "yoto_concat": dict(color="tab:olive", marker="X"),
}


def _both(parameter: str, value) -> List[str]:
  """The same ConditionalConvnet binding for the encoder and the decoder."""
  return [f"{scope}/ConditionalConvnet.{parameter} = {value}"
          for scope in ("encoder", "decoder")]


def centring_bindings(betas: Sequence[float]) -> List[str]:
  """log β centred on the training range's geometric centre and scaled to
  [-1, 1]; the reconstruction weight (always 1) stays at log 1 = 0."""
  low, high = min(betas), max(betas)
  offset = [math.log(math.sqrt(low * high)), 0.0]
  return [f"ConditionalVaeProblem.conditioning_input_offset = {offset}",
          "ConditionalVaeProblem.conditioning_input_scale = "
          f"{2.0 / math.log(high / low):.6g}"]


def range_bindings(low: float, high: float) -> List[str]:
  return ["train/DistributionSpec.params = "
          f"[{{'low': {low:g}, 'high': {high:g}}}, "
          "{'low': 0.999, 'high': 1.001}]"]


def yoto_config_value(parameter: str, config: str):
  """The value the YOTO `config` binds to `parameter`."""
  common.parse_config(config)
  try:
    return gin.query_parameter(parameter)
  finally:
    gin.clear_config()


def learning_rate_bindings(factor: float, config: str) -> List[str]:
  lr = yoto_config_value("TrainingParams.initial_lr", config)
  return [f"TrainingParams.initial_lr = {lr * factor:g}"]


def film_width_bindings(factor: float, config: str) -> List[str]:
  sizes = yoto_config_value(
      "encoder/ConditionalConvnet.conditioning_layer_sizes", config)
  return _both("conditioning_layer_sizes",
               [int(round(n * factor)) for n in sizes])


_constant = reproduction.constant_bindings


# name -> (what changes, bindings given the β grid and the YOTO config).
# Each is the setting's YOTO model with one change.
VARIANTS = {
    "yoto": ("the setting's YOTO config as it is", _constant()),
    "yoto_wide": ("1.5x wider: channels, FC and FiLM hidden sizes",
                  lambda betas, config: widen_bindings(config, 1.5)),
    "yoto_wide2": ("2x wider",
                   lambda betas, config: widen_bindings(config, 2)),
    "yoto_normalized": (
        "loss weights divided by their geometric mean",
        _constant("YotoOptimizer.normalize_loss_weights = True")),
    "yoto_centred": ("log β centred and scaled to [-1, 1] for the networks",
                     lambda betas, config: centring_bindings(betas)),
    "yoto_film2x": ("FiLM MLPs 2x wider",
                    lambda betas, config: film_width_bindings(2.0, config)),
    "yoto_lr_half": ("learning rate / 2", lambda betas, config:
                     learning_rate_bindings(0.5, config)),
    "yoto_lr_double": ("learning rate x 2", lambda betas, config:
                       learning_rate_bindings(2.0, config)),
    "yoto_per_batch": ("one β per batch instead of per example", _constant(
        "YotoOptimizer.weights_per_sample = False")),
    "yoto_wider_range": (
        "trained on β in [low / 2, high x 2]",
        lambda betas, config: range_bindings(min(betas) / 2, max(betas) * 2)),
    "yoto_uniform": ("β uniform instead of log-uniform (Figure 4)", _constant(
        "train/DistributionSpec.distribution_type = "
        "%DistributionType.UNIFORM")),
    "yoto_no_log": ("raw β fed to the conditioning instead of log β "
                    "(Figure 4)", _constant(
                        "YotoOptimizer.extra_inputs_preprocessing = "
                        "%TransformType.IDENTITY")),
    "yoto_input": ("log β concatenated to the input instead of FiLM "
                   "(Figure 4)",
                   _constant(*_both("conditioning_type", "'input'"))),
    "yoto_concat": ("log β concatenated before every block instead of FiLM "
                    "(Figure 4)",
                    _constant(*_both("conditioning_type", "'concat'"))),
    # Trained K times as long, K the number of fixed models (its schedule
    # is set in `model_specs`).
    "yoto_same_compute": ("trained as many steps as the whole fixed sweep",
                          _constant()),
}
SAME_COMPUTE = "yoto_same_compute"


def _parser():
  parser = common.base_parser(__doc__)
  reproduction.add_arguments(parser, os.path.join(
      common.REPO_ROOT, "runs", "reproduce_vae"), None)
  parser.add_argument("--setting", default=DEFAULT_SETTING,
                      choices=sorted(SETTINGS),
                      help="Dataset and configs (default "
                      f"{DEFAULT_SETTING}); each has its own β grid and "
                      "steps: " + "; ".join(
                          f"{k}: β {v.betas}, {v.steps} steps"
                          for k, v in SETTINGS.items()))
  parser.add_argument("--betas", default=None,
                      help="Comma-separated β grid: one fixed model each, "
                      "the eval weights of all, and YOTO's training range "
                      "(default: the setting's).")
  parser.add_argument("--variants", default=DEFAULT_VARIANTS,
                      help="Comma-separated YOTO variants, or 'all': " +
                      "; ".join(f"{k}: {v[0]}" for k, v in VARIANTS.items()))
  return parser


def _weights(beta: float) -> Dict[str, float]:
  return {"kl_loss": float(beta), "reconstruction_loss": 1.0}


def shared_bindings(steps: int, betas: Sequence[float], evals: int = 8,
                    batch: Sequence[str] = ()) -> List[str]:
  """Bindings every model gets: steps, schedule and evaluations, eval grid,
  β range, and `batch` (`reproduction.override_bindings`)."""
  return reproduction.schedule_bindings(steps, (0.5, 0.75), evals) + [
      f"experiment.eval_weights = {[_weights(b) for b in betas]!r}",
  ] + range_bindings(min(betas), max(betas)) + list(batch)


def widen_bindings(config: str, factor: float) -> List[str]:
  """Bindings scaling a conv VAE's widths by `factor`.

  Channels (`base_num_channels`), FiLM hidden sizes and the hidden fully
  connected sizes are multiplied; the encoder's last FC size (2 x latent)
  stays; the decoder's reshape keeps its spatial size and scales its
  channels, and its last FC size follows.
  """
  common.parse_config(config)
  try:
    def value(scope, name):
      return gin.query_parameter(f"{scope}/ConditionalConvnet.{name}")
    scale = lambda n: max(1, int(round(n * factor)))
    bindings = []
    for scope in ("encoder", "decoder"):
      prefix = f"{scope}/ConditionalConvnet"
      fc = list(value(scope, "fc_layer_sizes"))
      if scope == "decoder":
        height, width, channels = value(scope, "upconv_reshape_size")
        reshape = [height, width, scale(channels)]
        fc = [scale(n) for n in fc[:-1]] + [height * width * reshape[-1]]
        bindings.append(f"{prefix}.upconv_reshape_size = {reshape}")
      else:
        fc = [scale(n) for n in fc[:-1]] + fc[-1:]
      bindings += [
          f"{prefix}.base_num_channels = "
          f"{scale(value(scope, 'base_num_channels'))}",
          f"{prefix}.fc_layer_sizes = {fc}",
          f"{prefix}.conditioning_layer_sizes = "
          f"{[scale(n) for n in value(scope, 'conditioning_layer_sizes')]}"]
    return bindings
  finally:
    gin.clear_config()


def variant_names(text: str) -> List[str]:
  return reproduction.variant_names(text, VARIANTS)


def fixed_name(beta: float) -> str:
  return f"fixed_beta{beta:g}"


def model_specs(betas: Sequence[float], variants: Sequence[str],
                steps: Optional[int] = None, evals: int = 8,
                setting: str = DEFAULT_SETTING) -> List[reproduction.ModelSpec]:
  """The models of the reproduction, fixed ones first."""
  arch = SETTINGS[setting].architecture
  steps = steps or SETTINGS[setting].steps
  specs = [reproduction.fixed_model(fixed_name(b), arch.fixed_config,
                                    _weights(b)) for b in betas]
  for name in variants:
    bindings = VARIANTS[name][1](betas, arch.yoto_config)
    own_steps = None
    if name == SAME_COMPUTE:
      own_steps = steps * len(betas)
      bindings = reproduction.schedule_bindings(own_steps, (0.5, 0.75), evals)
    specs.append(reproduction.ModelSpec(name, arch.yoto_config,
                                        tuple(bindings), steps=own_steps))
  return specs


# Analysis.


def comparisons(specs, model_root, steps):
  """name -> frontier.Comparison of every finished YOTO model vs the fixed,
  for the models under `model_root` (one seed)."""
  fixed_dirs = list(reproduction.finished_dirs(specs, model_root, steps,
                                               yoto=False).values())
  result = {}
  own_steps = {s.name: s.steps for s in specs if s.steps}
  for name, model_dir in reproduction.finished_dirs(specs, model_root, steps,
                                                    yoto=True).items():
    yoto, fixed = metrics.load_comparison(
        model_dir, fixed_dirs, step=own_steps.get(name, steps), split=SPLIT)
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
      axes.plot([xy[i][0] for i in front], [xy[i][1] for i in front],
                color=style["color"], lw=1, zorder=2)
    return
  pairs = [(math.log2(p.beta), gap_of(p)) for p in points]
  pairs = [(x, y) for x, y in pairs if y is not None]
  if pairs:
    axes.plot(*zip(*pairs), label=label, **style)


def write_frontier_plots(comps, out_dir, name, dataset) -> List[str]:
  """Figure 2 of one seed: frontier and full-loss gap, all variants."""
  names = list(comps)
  main = comps[names[0]]
  title = (f"{dataset} test split, step {main.yoto.step}: "
           f"{', '.join(names)} vs {len(main.fixed)} fixed models")
  frontier_fig = plots.frontier_figure(main, title=title)
  gap_fig = plots.full_loss_figure(main, title=title)
  fixed_loss = {row.beta: row.fixed.full_loss for row in main.rows
                if row.fixed is not None}

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
  return [plots.save(frontier_fig, os.path.join(out_dir,
                                                f"{name}_frontier.png")),
          plots.save(gap_fig, os.path.join(out_dir, f"{name}_full_loss.png"))]


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
    line, = axes.plot(steps, means, marker="o", label=f"β = {beta:g}")
    axes.fill_between(steps, means - half, means + half, alpha=0.15,
                      color=line.get_color())
  axes.axhline(0.0, color="black", lw=0.8)
  axes.set_xlabel("training step")
  axes.set_ylabel(f"{variant} − fixed full loss (nats per image)")
  axes.set_title(f"{variant}: gap to the fixed models during training "
                 "(mean ± 95 % interval over seeds)", fontsize=9)
  axes.legend(fontsize=8)
  return plots.save(figure, os.path.join(out_dir,
                                         f"{name}_learning_curves.png"))


def write_variant_gaps(rows, out_dir, name) -> str:
  """The ablation (and Figure 4) as one figure: every method's full-loss
  gap against log2 β, mean ± 95 % interval over seeds."""
  figure = Figure(figsize=(7, 4.5))
  axes = figure.add_subplot()
  methods = list(rows[0]["gaps"])
  for index, method in enumerate(methods):
    points = [(r["label"], r["gaps"][method]) for r in rows
              if r["gaps"][method] is not None]
    if not points:
      continue
    # Methods side by side within a β, so that the error bars do not hide
    # each other.
    shift = 0.08 * (index - (len(methods) - 1) / 2)
    axes.errorbar([math.log2(b) + shift for b, _ in points],
                  [g.mean for _, g in points],
                  yerr=[g.half_width or 0.0 for _, g in points],
                  marker="o", capsize=3, label=method)
  axes.axhline(0.0, color="black", lw=0.8)
  axes.set_xlabel("log2 β")
  axes.set_ylabel("method − fixed full loss (nats per image)")
  axes.set_title("Gap to the fixed models per method (mean ± 95 % interval "
                 "over seeds)", fontsize=9)
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
    recons += [yoto.problem.reconstruct(images, extra)[0],
               state.problem.reconstruct(images)[0]]
    samples += [yoto.problem.sample(noise, extra[:len(noise)])[0],
                state.problem.sample(noise)[0]]
    labels += [f"{yoto_name} β={beta:g}", f"fixed β={beta:g}"]
  stack = lambda rows: np.stack([np.asarray(r) for r in rows])
  return stack(recons), stack(samples), labels


def write_figure3(specs, seed_root, shared, betas, out_dir, name,
                  setting: Setting, num_images: int = 8) -> List[str]:
  """The paper's Figure 3 as two images: test crops reconstructed, and
  samples from the same noise, by the first YOTO variant and by the fixed
  model at each β."""
  images = vae_outputs.load_images(num_images, setting.architecture.name,
                                   split=SPLIT,
                                   preprocess=setting.preprocess)
  restore = lambda spec: reproduction.restore_state(spec, seed_root, shared,
                                                    images.shape[1:])
  yoto_spec = next(s for s in specs if s.is_yoto)
  yoto = restore(yoto_spec)
  fixed = {b: restore(next(s for s in specs if s.name == fixed_name(b)))
           for b in betas}
  noise = np.random.default_rng(0).standard_normal(
      (num_images, yoto.problem.latent_dimensions)).astype(np.float32)
  recons, samples, labels = figure3_rows(yoto, yoto_spec.name, fixed,
                                         tf.constant(images), noise)
  value_range = setting.architecture.value_range
  recon_figure = plots.rows_figure(
      np.concatenate([images[None], recons]), ["input"] + labels,
      "Test crops and their reconstructions", value_range)
  sample_figure = plots.rows_figure(
      samples, labels, "Samples (the same noise for every model)",
      value_range)
  return [plots.save(recon_figure, os.path.join(
      out_dir, f"{name}_figure3_reconstructions.png")),
          plots.save(sample_figure, os.path.join(
              out_dir, f"{name}_figure3_samples.png"))]


def _interval_json(value):
  return None if value is None else value.to_json()


def analyse(specs, model_root, steps, seed_list, out_dir, name, timings,
            shared=(), setting: Setting = SETTINGS[DEFAULT_SETTING]):
  """Tables and figures from the evaluated models; returns (results, md)."""
  betas = [s.weights["kl_loss"] for s in specs if not s.is_yoto]
  fixed = {b: fixed_name(b) for b in betas}
  variants = [s.name for s in specs if s.is_yoto]
  curves = reproduction.collect_curves(specs, model_root, seed_list, steps,
                                       lambda w: float(w["kl_loss"]))
  finished = [m for m in list(fixed.values()) + variants if m in curves]
  if not any(v in curves for v in variants):
    return {"timings": timings}, "No YOTO model evaluated yet.\n"
  own_steps = {s.name: s.steps for s in specs if s.steps}
  step = seed_statistics.final_step(
      curves, [m for m in finished if m not in own_steps])
  baseline = seed_statistics.single_model(curves, fixed, step)
  present = [v for v in variants if v in curves]
  method_steps = {m: seed_statistics.final_step(curves, [m])
                  for m in present if m in own_steps}
  rows = seed_statistics.gap_rows(curves, fixed, present, step, baseline,
                                  method_steps)
  statements = {m: seed_statistics.model_convergence(
      curves, m, betas if m in present else [float(m[len("fixed_beta"):])])
                for m in finished}
  paths = [write_learning_curves(curves, fixed, present[0], out_dir, name),
           write_variant_gaps(rows, out_dir, name)]
  comps = comparisons(specs, reproduction.seed_dir(model_root, seed_list[0]),
                      steps)
  if comps:
    paths += write_frontier_plots(comps, out_dir, name,
                                  setting.architecture.name)
    for variant, comp in comps.items():  # KL and reconstruction too.
      paths += tables.write_tables(tables.comparison_table(comp), out_dir,
                                   basename=f"{name}_comparison_{variant}")
    first = next(iter(comps))
    seed_root = reproduction.seed_dir(model_root, seed_list[0])
    if all(os.path.exists(os.path.join(seed_root, fixed_name(b)))
           for b in betas) and first == next(s.name for s in specs
                                             if s.is_yoto):
      paths += write_figure3(specs, seed_root, shared, betas, out_dir, name,
                             setting)
  sweep_cpu = reproduction.cpu_seconds(timings, list(fixed.values()))
  yoto_cpu = {v: reproduction.cpu_seconds(timings, [v]) for v in present}
  seeds_done = sorted({s for m in finished for s in curves[m]})
  results = {
      "steps": steps, "compared_step": step, "split": SPLIT,
      "seeds": seeds_done, "single_model": baseline,
      "method_steps": method_steps,
      "gaps": [{"beta": r["label"], "fixed": _interval_json(r["fixed"]),
                "gaps": {m: _interval_json(g) for m, g in r["gaps"].items()},
                "relative": r["relative"]} for r in rows],
      "convergence": statements, "timings": timings,
      "cpu_seconds": {"fixed_sweep": sweep_cpu, **yoto_cpu},
      "files": [os.path.basename(p) for p in paths]}
  md = (f"Full-loss gap to the fixed model trained at each β, on the test "
        f"split at step {step} (seeds {', '.join(map(str, seeds_done))}): "
        "method − fixed in nats per image, mean ± 95 % interval over seeds "
        "(paired by seed), and relative to |fixed| where that is not near "
        "zero; positive: worse than the fixed model.\n\n" +
        seed_tables.gap_markdown(rows, baseline, method_steps) +
        "\nConvergence: the change of each model's test full loss over the "
        "last quarter of the run (seed mean; for a YOTO model at its worst "
        f"β); 'not plateaued' when that is more than "
        f"{100 * seed_statistics.PLATEAU_SHARE:.0f} % of its improvement "
        "since the first evaluation.\n\n" + seed_tables.convergence_markdown(statements))
  if sweep_cpu:
    md += (f"\nCPU time per seed: the {len(fixed)} fixed models together "
           f"{sweep_cpu:.0f} s; " + ", ".join(
               f"{v} {c:.0f} s ({sweep_cpu / c:.1f}x less)"
               for v, c in yoto_cpu.items() if c) + ".\n")
  md += "\n" + reproduction.seconds_line(timings)
  return results, md


def main(argv=None):
  args = _parser().parse_args(argv)
  setting = SETTINGS[args.setting]
  betas = [float(b) for b in (args.betas or setting.betas).split(",") if b]
  if args.model_root is None:
    args.model_root = os.path.join(common.REPO_ROOT, "runs", "reproduce_vae",
                                   args.setting)
  steps, model_root = reproduction.steps_and_root(args, setting.steps)
  seed_list = reproduction.seeds(args)
  specs = model_specs(betas, variant_names(args.variants), steps, args.evals,
                      args.setting)
  shared = shared_bindings(steps, betas, args.evals,
                           reproduction.override_bindings(args, 8))
  start = time.time()
  timings = reproduction.train_all(specs, model_root, steps, shared,
                                   seed_list, reproduction.only_names(args),
                                   export=not args.no_export,
                                   max_minutes=args.max_minutes)
  script = (SCRIPT if args.setting == DEFAULT_SETTING else
            f"{SCRIPT}_{args.setting}")
  name = reproduction.results_name(script, args, steps, setting.steps)
  results, text = analyse(specs, model_root, steps, seed_list, args.out_dir,
                          name, timings, shared, setting)
  results.update(setting=args.setting, model_root=model_root, betas=betas,
                 wall_seconds_this_run=time.time() - start,
                 shared_bindings=shared)
  common.write_results(name, args.out_dir, results, text, argv,
                       script=SCRIPT)
  return results


if __name__ == "__main__":
  main()
