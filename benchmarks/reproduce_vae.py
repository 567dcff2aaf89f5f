r"""A reduced-scale reproduction of the paper's β-VAE results (Figure 2).

  python -m benchmarks.reproduce_vae                 # 35-60 min, 2 cores
  python -m benchmarks.reproduce_vae --steps=20000   # longer, closer to paper
  python -m benchmarks.reproduce_vae --ablation      # + Figure 4's variants
  python -m benchmarks.reproduce_vae --tiny          # a few steps; for tests

On the embedded dataset (photo_patches: 32x32 crops of scikit-image photos,
config/photo_patches_conv_vae_{yoto,fixed}.gin) it trains, all for the same
number of steps (default 4000, the config's own) and with the same
learning-rate schedule (halved at 50 % and 75 % of the steps, as the config
does at 2000 and 3000 of 4000):

  fixed_beta<β>  a fixed-weight β-VAE for every β of the grid
                 (default 0.5, 2, 8, 32, 128, 512);
  yoto           one YOTO model, β log-uniform over the grid's range;
  yoto_wide      the same, 1.5x wider: channels, fully connected and FiLM
                 hidden sizes x1.5 (--wide=0 skips it);
  with --ablation (Figure 4):
  yoto_uniform   β uniform instead of log-uniform;
  yoto_input     conditioning by concatenating log β to the input instead
                 of FiLM.

Every model is trained and evaluated in-process by `experiment` with
`schedule='train_and_eval'` (what `python -m yoto.main` runs), so it ends
with eval rows on the test split (crops of a held-out photo) at every β of
the grid in model_dir/metrics.jsonl, and a hub module. A model_dir with
FINISHED and eval rows at the final step is skipped: rerunning the command
resumes an interrupted reproduction.

From those rows (via `yoto.analysis`) it writes, to --out_dir:
  reproduce_vae_frontier.png    reconstruction loss vs KL with each method's
                                Pareto front (Figure 2, left);
  reproduce_vae_full_loss.png   full loss minus the fixed model's, vs log2 β
                                (Figure 2, right);
  reproduce_vae.md / .json      the relative full-loss gap
                                (method - fixed) / |fixed| per β for every
                                YOTO variant and the single-model baseline
                                (the fixed model with the lowest mean full loss
                                over the grid), and the training times;
  reproduce_vae_comparison_<model>.csv / .md  yoto.analysis' table per model.

Model_dirs go to --model_root/steps<steps>/<model> (default
runs/reproduce_vae/steps4000/...), so runs of different lengths never mix.
"""

import dataclasses
import json
import math
import os
import sys
import time
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import common
import gin

from yoto import configurables
from yoto import main as yoto_main
from yoto.analysis import frontier
from yoto.analysis import metrics
from yoto.analysis import plots
from yoto.analysis import tables
from yoto.training import evaluator as evaluator_lib
from yoto.training import experiment as experiment_lib
# pylint: enable=g-import-not-at-top,wrong-import-position

YOTO_CONFIG = "photo_patches_conv_vae_yoto.gin"
FIXED_CONFIG = "photo_patches_conv_vae_fixed.gin"
DEFAULT_BETAS = "0.5,2,8,32,128,512"
DEFAULT_STEPS = 4000
TIMING_FILE = "reproduce_timing.json"
SPLIT = "test"

# Plot styles of the YOTO variants beyond the main one.
EXTRA_STYLES = {
    "yoto_wide": dict(color="tab:purple", marker="D"),
    "yoto_uniform": dict(color="tab:red", marker="v"),
    "yoto_input": dict(color="tab:brown", marker="P"),
}


@dataclasses.dataclass(frozen=True)
class ModelSpec:
  """One model of the reproduction.

  Attributes:
    name: its model_dir's basename and its name in tables.
    config: gin file.
    bindings: gin bindings on top of the config and the shared ones.
    beta: the training β of a fixed-weight model; None for YOTO.
  """
  name: str
  config: str
  bindings: Sequence[str] = ()
  beta: Optional[float] = None

  @property
  def is_yoto(self) -> bool:
    return self.beta is None


def _parser():
  parser = common.base_parser(__doc__)
  parser.add_argument("--model_root", default=os.path.join(
      common.REPO_ROOT, "runs", "reproduce_vae"),
                      help="The models' model_dirs go to "
                      "MODEL_ROOT/steps<steps>/<model> (kept, so that a rerun "
                      "resumes).")
  parser.add_argument("--steps", type=int, default=None,
                      help=f"Training steps of every model (default "
                      f"{DEFAULT_STEPS}; 4 with --tiny).")
  parser.add_argument("--betas", default=DEFAULT_BETAS,
                      help="Comma-separated β grid: one fixed model each, "
                      "the eval weights of all, and YOTO's training range.")
  parser.add_argument("--wide", type=float, default=1.5,
                      help="Width factor of the wider YOTO model; 0 skips it.")
  parser.add_argument("--ablation", action="store_true",
                      help="Also train yoto_uniform and yoto_input "
                      "(Figure 4).")
  parser.add_argument("--batch_size", type=int, default=None,
                      help="Training and eval batch (default: the config's "
                      "64; 8 with --tiny).")
  parser.add_argument("--eval_steps", type=int, default=None,
                      help="Test batches per evaluation (default: the "
                      "config's 20, i.e. 1280 crops; 1 with --tiny).")
  parser.add_argument("--seed", type=int, default=0,
                      help="Seed of every model (initialisation, sampling).")
  parser.add_argument("--only", default="",
                      help="Comma-separated model names: train only these "
                      "(the analysis uses whatever is finished).")
  parser.add_argument("--verbose", action="store_true",
                      help="Log the training loop's progress.")
  return parser


def _weights(beta: float) -> Dict[str, float]:
  return {"kl_loss": float(beta), "reconstruction_loss": 1.0}


def shared_bindings(steps: int, betas: Sequence[float], batch_size=None,
                    eval_steps=None) -> List[str]:
  """Bindings every model gets: steps, schedule, eval grid, β range."""
  bindings = [
      f"experiment.train_steps = {steps}",
      f"experiment.iterations_per_loop = {min(200, steps)}",
      # One checkpoint, evaluation and export, at the end.
      f"experiment.save_checkpoints_steps = {steps}",
      f"experiment.eval_weights = {[_weights(b) for b in betas]!r}",
      "TrainingParams.lr_decay_steps_str = "
      f"'{max(1, steps // 2)},{max(2, 3 * steps // 4)}'",
      "train/DistributionSpec.params = "
      f"[{{'low': {min(betas)}, 'high': {max(betas)}}}, "
      "{'low': 0.999, 'high': 1.001}]",
  ]
  if batch_size:
    bindings += [f"experiment.batch_size = {batch_size}",
                 f"experiment.eval_batch_size = {batch_size}"]
  if eval_steps:
    bindings.append(f"experiment.eval_steps = {eval_steps}")
  return bindings


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


def model_specs(betas: Sequence[float], wide: float,
                ablation: bool) -> List[ModelSpec]:
  """The models of the reproduction, fixed ones first."""
  specs = [ModelSpec(
      f"fixed_beta{b:g}", FIXED_CONFIG,
      (f"LinearlyScalarizedOptimizer.weights = {_weights(b)!r}",), beta=b)
           for b in betas]
  specs.append(ModelSpec("yoto", YOTO_CONFIG))
  if wide:
    specs.append(ModelSpec("yoto_wide", YOTO_CONFIG,
                           tuple(widen_bindings(YOTO_CONFIG, wide))))
  if ablation:
    specs.append(ModelSpec("yoto_uniform", YOTO_CONFIG, (
        "train/DistributionSpec.distribution_type = "
        "%DistributionType.UNIFORM",)))
    specs.append(ModelSpec("yoto_input", YOTO_CONFIG, tuple(
        f"{scope}/ConditionalConvnet.conditioning_type = 'input'"
        for scope in ("encoder", "decoder"))))
  return specs


def is_finished(model_dir: str, steps: int) -> bool:
  """FINISHED written and the final step evaluated on the test split."""
  return (os.path.exists(experiment_lib.finished_path(model_dir)) and
          SPLIT in evaluator_lib.evaluated_steps(model_dir).get(steps, set()))


def train(spec: ModelSpec, model_dir: str, bindings: Sequence[str],
          seed: int) -> float:
  """Trains, evaluates and exports one model in-process; returns seconds.

  Like `python -m yoto.main` it saves the parsed config as
  model_dir/config.gin, where the analysis finds a fixed model's weights.
  """
  start = time.time()
  gin.clear_config()
  try:
    yoto_main.parse_config([common.config_path(spec.config)], list(bindings))
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, yoto_main.CONFIG_FILE), "w") as f:
      f.write(gin.config_str())
    configurables.register()(
        model_dir=model_dir, schedule="train_and_eval",
        runtime=experiment_lib.RuntimeOptions(seed=seed))
  finally:
    gin.clear_config()
  seconds = time.time() - start
  with open(os.path.join(model_dir, TIMING_FILE), "w") as f:
    json.dump({"seconds": seconds, "bindings": list(bindings)}, f, indent=2)
  return seconds


def train_all(specs, model_root, steps, shared, seed,
              only=()) -> Dict[str, float]:
  """Trains every unfinished model; returns name -> training seconds."""
  seconds = {}
  for spec in specs:
    model_dir = os.path.join(model_root, spec.name)
    if is_finished(model_dir, steps):
      print(f"{spec.name}: finished earlier, skipped", flush=True)
    elif only and spec.name not in only:
      print(f"{spec.name}: not in --only, skipped", flush=True)
      continue
    else:
      print(f"{spec.name}: training {steps} steps ...", flush=True)
      train(spec, model_dir, list(shared) + list(spec.bindings), seed)
    timing = os.path.join(model_dir, TIMING_FILE)
    if os.path.exists(timing):
      with open(timing) as f:
        seconds[spec.name] = json.load(f)["seconds"]
      print(f"{spec.name}: {seconds[spec.name]:.0f} s", flush=True)
  return seconds


# Analysis.


def _relative_gap(value, reference):
  """(value - reference) / |reference|: > 0 when `value` is worse."""
  if value is None or reference is None or reference == 0:
    return None
  return (value - reference) / abs(reference)


def comparisons(specs, model_root, steps):
  """name -> frontier.Comparison of every finished YOTO model vs the fixed.
  """
  fixed_dirs = [os.path.join(model_root, s.name) for s in specs
                if not s.is_yoto and is_finished(
                    os.path.join(model_root, s.name), steps)]
  result = {}
  for spec in specs:
    model_dir = os.path.join(model_root, spec.name)
    if spec.is_yoto and is_finished(model_dir, steps):
      yoto, fixed = metrics.load_comparison(model_dir, fixed_dirs, step=steps,
                                            split=SPLIT)
      result[spec.name] = frontier.compare(yoto, fixed)
  return result


def gap_table(comps: Dict[str, frontier.Comparison]) -> List[dict]:
  """Per β: the fixed model's full loss, and every method's full loss and
  relative gap to it (the YOTO variants, then the single-model baseline)."""
  main = next(iter(comps.values()))
  rows = []
  for i, row in enumerate(main.rows):
    points = {name: comp.rows[i].yoto for name, comp in comps.items()}
    points["single_model"] = row.single_model
    losses = {name: point.full_loss if point else None
              for name, point in points.items()}
    fixed = row.fixed.full_loss if row.fixed else None
    rows.append({
        "beta": row.beta, "fixed_full_loss": fixed,
        "single_model": main.single_model.name if main.single_model else None,
        "full_loss": losses,
        "gap_nats": {name: None if loss is None or fixed is None
                     else loss - fixed for name, loss in losses.items()},
        "gap": {name: _relative_gap(loss, fixed)
                for name, loss in losses.items()}})
  return rows


def _mean(values):
  values = [v for v in values if v is not None]
  return sum(values) / len(values) if values else None


def _gap_cell(absolute, relative) -> str:
  """'+12.3 (+4.5 %)': the full-loss gap in nats and relative to fixed."""
  if absolute is None:
    return ""
  return f"{absolute:+.1f} ({100 * relative:+.1f} %)" if relative is not None \
      else f"{absolute:+.1f}"


def gap_markdown(rows: List[dict]) -> str:
  """The gaps as a table: one row per β, then their mean."""
  methods = list(rows[0]["gap"])
  table = [[f"{r['beta']:g}", "" if r["fixed_full_loss"] is None
            else f"{r['fixed_full_loss']:.1f}"] +
           [_gap_cell(r["gap_nats"][m], r["gap"][m]) for m in methods]
           for r in rows]
  table.append(["mean", ""] + [
      _gap_cell(_mean([r["gap_nats"][m] for r in rows]),
                _mean([r["gap"][m] for r in rows])) for m in methods])
  header = ["β", "fixed full loss"] + methods[:-1] + [
      f"single model ({rows[0]['single_model']})"]
  return common.markdown_table(header, table)


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


def write_plots(comps, out_dir) -> List[str]:
  """Figure 2: frontier and full-loss gap, main YOTO + extra variants."""
  names = list(comps)
  main = comps[names[0]]
  title = (f"photo_patches test split, step {main.yoto.step}: "
           f"{', '.join(names)} vs {len(main.fixed)} fixed models")
  frontier_fig = plots.frontier_figure(main, title=title)
  gap_fig = plots.full_loss_figure(main, title=title)
  fixed_loss = {row.beta: row.fixed.full_loss for row in main.rows
                if row.fixed is not None}

  def gap(point):
    reference = fixed_loss.get(point.beta)
    return None if reference is None else point.full_loss - reference

  for name in names[1:]:
    style = EXTRA_STYLES.get(name, dict(color="gray", marker="x"))
    points = comps[name].yoto_points()
    _add_method(frontier_fig.axes[0], points, name, style)
    _add_method(gap_fig.axes[0], points, name, style, gap_of=gap)
  for figure in (frontier_fig, gap_fig):
    figure.axes[0].legend(fontsize=8)
  return [plots.save(frontier_fig, os.path.join(
      out_dir, "reproduce_vae_frontier.png")),
          plots.save(gap_fig, os.path.join(out_dir,
                                           "reproduce_vae_full_loss.png"))]


def analyse(specs, model_root, steps, out_dir, seconds):
  """Plots and tables from the finished models; returns (results, md)."""
  comps = comparisons(specs, model_root, steps)
  if not comps:
    return {"models_seconds": seconds}, "No YOTO model finished yet.\n"
  paths = write_plots(comps, out_dir)
  for name, comp in comps.items():
    paths += tables.write_tables(tables.comparison_table(comp), out_dir,
                                 basename=f"reproduce_vae_comparison_{name}")
  rows = gap_table(comps)
  main = next(iter(comps.values()))
  results = {"steps": steps, "split": SPLIT, "gaps": rows,
             "single_model": main.single_model.name
                             if main.single_model else None,
             "models_seconds": seconds,
             "files": [os.path.basename(p) for p in paths]}
  md = ("Full-loss gap to the fixed model trained at each β, on the test "
        f"split after {steps} steps per model: method - fixed in nats per "
        "crop, and relative, (method - fixed) / |fixed| (positive: worse "
        "than the fixed model):\n\n" + gap_markdown(rows) +
        "\nTraining + evaluation + export time per model (s): " +
        ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()) + "\n")
  return results, md


def main(argv=None):
  args = _parser().parse_args(argv)
  betas = [float(b) for b in args.betas.split(",") if b]
  steps = args.steps or (4 if args.tiny else DEFAULT_STEPS)
  batch_size = args.batch_size or (8 if args.tiny else None)
  eval_steps = args.eval_steps or (1 if args.tiny else None)
  if args.verbose:
    from absl import logging  # pylint: disable=g-import-not-at-top
    logging.set_verbosity(logging.INFO)
  specs = model_specs(betas, args.wide, args.ablation)
  shared = shared_bindings(steps, betas, batch_size, eval_steps)
  model_root = os.path.join(args.model_root, f"steps{steps}")
  start = time.time()
  seconds = train_all(specs, model_root, steps, shared, args.seed,
                      [n for n in args.only.split(",") if n])
  results, text = analyse(specs, model_root, steps, args.out_dir, seconds)
  results.update(model_root=model_root, betas=betas,
                 wall_seconds_this_run=time.time() - start,
                 shared_bindings=shared)
  print(text)
  for path in common.write_results("reproduce_vae", args.out_dir, results,
                                   text, argv):
    print(f"wrote {path}")
  return results


if __name__ == "__main__":
  main()
