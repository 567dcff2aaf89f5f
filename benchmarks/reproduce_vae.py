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

import math
import os
import sys
import time
from typing import Dict, List, Sequence

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import common
from benchmarks import reproduction
import gin

from yoto.analysis import frontier
from yoto.analysis import metrics
from yoto.analysis import plots
from yoto.analysis import tables
# pylint: enable=g-import-not-at-top,wrong-import-position

YOTO_CONFIG = "photo_patches_conv_vae_yoto.gin"
FIXED_CONFIG = "photo_patches_conv_vae_fixed.gin"
DEFAULT_BETAS = "0.5,2,8,32,128,512"
DEFAULT_STEPS = 4000
SPLIT = reproduction.SPLIT

# Plot styles of the YOTO variants beyond the main one.
EXTRA_STYLES = {
    "yoto_wide": dict(color="tab:purple", marker="D"),
    "yoto_uniform": dict(color="tab:red", marker="v"),
    "yoto_input": dict(color="tab:brown", marker="P"),
}


def _parser():
  parser = common.base_parser(__doc__)
  reproduction.add_arguments(parser, os.path.join(
      common.REPO_ROOT, "runs", "reproduce_vae"), DEFAULT_STEPS)
  parser.add_argument("--betas", default=DEFAULT_BETAS,
                      help="Comma-separated β grid: one fixed model each, "
                      "the eval weights of all, and YOTO's training range.")
  parser.add_argument("--wide", type=float, default=1.5,
                      help="Width factor of the wider YOTO model; 0 skips it.")
  parser.add_argument("--ablation", action="store_true",
                      help="Also train yoto_uniform and yoto_input "
                      "(Figure 4).")
  return parser


def _weights(beta: float) -> Dict[str, float]:
  return {"kl_loss": float(beta), "reconstruction_loss": 1.0}


def shared_bindings(steps: int, betas: Sequence[float],
                    batch: Sequence[str] = ()) -> List[str]:
  """Bindings every model gets: steps, schedule, eval grid, β range, and
  `batch` (`reproduction.batch_bindings`)."""
  return reproduction.schedule_bindings(steps, (0.5, 0.75)) + [
      f"experiment.eval_weights = {[_weights(b) for b in betas]!r}",
      "train/DistributionSpec.params = "
      f"[{{'low': {min(betas)}, 'high': {max(betas)}}}, "
      "{'low': 0.999, 'high': 1.001}]",
  ] + list(batch)


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
                ablation: bool) -> List[reproduction.ModelSpec]:
  """The models of the reproduction, fixed ones first."""
  specs = [reproduction.fixed_model(f"fixed_beta{b:g}", FIXED_CONFIG,
                                    _weights(b)) for b in betas]
  specs.append(reproduction.ModelSpec("yoto", YOTO_CONFIG))
  if wide:
    specs.append(reproduction.ModelSpec(
        "yoto_wide", YOTO_CONFIG, tuple(widen_bindings(YOTO_CONFIG, wide))))
  if ablation:
    specs.append(reproduction.ModelSpec("yoto_uniform", YOTO_CONFIG, (
        "train/DistributionSpec.distribution_type = "
        "%DistributionType.UNIFORM",)))
    specs.append(reproduction.ModelSpec("yoto_input", YOTO_CONFIG, tuple(
        f"{scope}/ConditionalConvnet.conditioning_type = 'input'"
        for scope in ("encoder", "decoder"))))
  return specs


# Analysis.


def comparisons(specs, model_root, steps):
  """name -> frontier.Comparison of every finished YOTO model vs the fixed.
  """
  fixed_dirs = list(reproduction.finished_dirs(specs, model_root, steps,
                                               yoto=False).values())
  result = {}
  for name, model_dir in reproduction.finished_dirs(specs, model_root, steps,
                                                    yoto=True).items():
    yoto, fixed = metrics.load_comparison(model_dir, fixed_dirs, step=steps,
                                          split=SPLIT)
    result[name] = frontier.compare(yoto, fixed)
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
        "gap": {name: reproduction.relative_gap(loss, fixed)
                for name, loss in losses.items()}})
  return rows


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
      _gap_cell(reproduction.mean([r["gap_nats"][m] for r in rows]),
                reproduction.mean([r["gap"][m] for r in rows]))
      for m in methods])
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
        "\n" + reproduction.seconds_line(seconds))
  return results, md


def main(argv=None):
  args = _parser().parse_args(argv)
  betas = [float(b) for b in args.betas.split(",") if b]
  steps, model_root = reproduction.steps_and_root(args, DEFAULT_STEPS)
  specs = model_specs(betas, args.wide, args.ablation)
  shared = shared_bindings(steps, betas,
                           reproduction.batch_bindings(args, 8))
  start = time.time()
  seconds = reproduction.train_all(specs, model_root, steps, shared,
                                   args.seed, reproduction.only_names(args),
                                   export=not args.no_export)
  results, text = analyse(specs, model_root, steps, args.out_dir, seconds)
  results.update(model_root=model_root, betas=betas,
                 wall_seconds_this_run=time.time() - start,
                 shared_bindings=shared)
  common.write_results("reproduce_vae", args.out_dir, results, text, argv)
  return results


if __name__ == "__main__":
  main()
