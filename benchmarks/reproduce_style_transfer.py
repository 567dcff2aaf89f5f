r"""A reduced-scale reproduction of the paper's style transfer (Figures 6, 7).

  python -m benchmarks.reproduce_style_transfer                 # 3 seeds
  python -m benchmarks.reproduce_style_transfer --max_minutes=90  # a chunk
  python -m benchmarks.reproduce_style_transfer --varied=all    # 5 weights
  python -m benchmarks.reproduce_style_transfer --tiny          # tests

On the embedded data (crops of scikit-image's photos, generated styles with
two held out for evaluation; config/photo_patches_magenta_style_transfer_
{yoto,fixed}.gin) it trains, once per seed (--seeds, default 3) and all for
the same number of steps (default: the config's `experiment.train_steps`,
its learning-rate schedule rescaled), the models of the paper's Figure 6a:

  fixed_default        a fixed-weight model at Ghiasi et al.'s default
                       weights (content 2, style 1-3 1e-3, style 4 1e-2 in
                       the paper's units) moved onto this loss network: each
                       weight times the ratio of the geometric centres of
                       the config's range and the paper's;
  fixed_<w>_div10/x10  the same with one swept weight (--varied: content and
                       style 3 by default, the two of Figure 7) ÷10 and x10;
  yoto                 one YOTO model over the config's ranges of all five
                       conditioned weights (total variation stays fixed);
  yoto_<variant>       with --variants, the same with one change each,
                       compared like YOTO (VARIANTS);
  specialist           a YOTO model conditioned on the content weight only,
                       the others fixed at the default (Figure 6b).

Each is evaluated `--evals` times during training (the learning curves) on
at least 64 test crops (a held-out photo, each crop with a held-out style)
at exactly the fixed models' weight vectors. `style_transfer_report` then
compares, in full loss with 95 % intervals over seeds, the fixed model at
each point with YOTO, the specialist (content line only), the best single
fixed model and the pixel-blending baseline (the best blend of each swept
weight's two end models); states per model whether its curve flattened;
draws Figure 7 from the fixed models and from YOTO side by side; and sets
the CPU time of the fixed sweep against the one YOTO model.

Writes <name>.md / .json and <name>_gaps.png, <name>_learning_curves.png,
<name>_figure7.png to --out_dir, and keeps the finished models' eval rows
and the blends in --out_dir/ledgers/<name>/ (`run_ledger`): commit it, and
a later session's run (e.g. --seed=2 --seeds=1 next to the ledger's seeds
0 and 1, then --seeds=3 --only=none) trains only what it lacks.

Deviations from the paper (§4.3, A.3): a narrow network trained for
hundreds of steps instead of 2M on ImageNet, the loss network is HED's
VGG-16 on small crops, the weight ranges are the embedded config's (see its
header), and each test crop is scored with one held-out style (chosen by
the problem from the crop), not with every style.
"""

import dataclasses
import math
import os
import sys
import time
from typing import Dict, List, Sequence, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import common
from benchmarks import reproduction
from benchmarks import run_ledger
from benchmarks import style_transfer_points as weight_points
from benchmarks import style_transfer_report as report
from benchmarks import style_weight_ranges
import gin
import tensorflow as tf

from yoto.problems import style_losses as style_transfer
from yoto.utils import data
from yoto.utils import data_sources
from yoto.utils import preprocessing
# pylint: enable=g-import-not-at-top,wrong-import-position

NAME = "reproduce_style_transfer"
YOTO_CONFIG = "photo_patches_magenta_style_transfer_yoto.gin"
FIXED_CONFIG = "photo_patches_magenta_style_transfer_fixed.gin"
CONTENT = style_transfer.CONTENT_LOSS
TOTAL_VARIATION = style_transfer.TOTAL_VARIATION_LOSS
DEFAULT_VARIED = f"{CONTENT},style_loss_3"  # The two weights of Figure 7.
# Ghiasi et al.'s default weights in the paper's units (Figure 6a's centre).
GHIASI_DEFAULT = {
  CONTENT: 2.0,
  "style_loss_1": 1e-3,
  "style_loss_2": 1e-3,
  "style_loss_3": 1e-3,
  "style_loss_4": 1e-2,
}
PAPER_RANGES = style_weight_ranges.parse_ranges(
  style_weight_ranges.PAPER_RANGES
)
# At least this many test crops per evaluation (the 64).
EVAL_CROPS = 64
# The specialist's other weights are sampled from [c / (1 + ε), c (1 + ε)].
SPECIALIST_EPSILON = 1e-4
TINY_STEPS = 3
TINY_BATCH = 2

Weights = Dict[str, float]


@dataclasses.dataclass(frozen=True)
class ConfigValues:
  """What the reproduction takes from the YOTO config.

  Attributes:
    ranges: loss name -> (low, high) of the training distribution, every
      loss in sorted order.
    train_steps: the config's training steps (the default --steps).
    decay_fractions: the learning-rate decay boundaries over train_steps.
    iterations_per_loop: the config's steps per compiled loop.
    eval_batch_size: the config's eval batch.
  """

  ranges: Dict[str, Tuple[float, float]]
  train_steps: int
  decay_fractions: Tuple[float, ...]
  iterations_per_loop: int
  eval_batch_size: int


def read_config(config: str = YOTO_CONFIG) -> ConfigValues:
  """Reads the ranges, steps, schedule and eval batch of a YOTO config."""
  common.parse_config(config)
  try:
    names = sorted(common.experiment_value("problem_class")().losses_keys)
    spec = common.bound_value("YotoOptimizer.train_distribution_spec_class")()
    steps = int(common.experiment_value("train_steps"))
    boundaries = common.bound_value("TrainingParams.lr_decay_steps_str", "")
    loop = int(common.experiment_value("iterations_per_loop", 100))
    eval_batch = int(common.experiment_value("eval_batch_size"))
  finally:
    gin.clear_config()
  fractions = tuple(int(b) / steps for b in boundaries.split(",") if b.strip())
  return ConfigValues(
    dict(zip(names, spec.ranges(len(names)))),
    steps,
    fractions,
    loop,
    eval_batch,
  )


def short_name(loss: str) -> str:
  """content_loss -> content, style_loss_3 -> style3."""
  return loss.replace("_loss", "").replace("_", "")


def default_weights(ranges) -> Weights:
  """Ghiasi's default moved onto `ranges`: each weight times (geometric
  centre of its range) / (that of the paper's range), 3 significant digits;
  total variation at its (fixed) centre."""
  centre = lambda low, high: math.sqrt(low * high)
  weights = {
    name: GHIASI_DEFAULT[name]
    * centre(*ranges[name])
    / centre(*PAPER_RANGES[name])
    for name in GHIASI_DEFAULT
  }
  weights[TOTAL_VARIATION] = centre(*ranges[TOTAL_VARIATION])
  return {k: float(f"{v:.3g}") for k, v in sorted(weights.items())}


def varied_losses(text: str) -> List[str]:
  """The --varied flag: comma-separated conditioned losses, or 'all'."""
  names = (
    list(GHIASI_DEFAULT) if text == "all" else [n for n in text.split(",") if n]
  )
  unknown = [n for n in names if n not in GHIASI_DEFAULT]
  if unknown or not names:
    raise SystemExit(
      f"Unknown --varied {', '.join(unknown)}; choose from "
      f"{', '.join(GHIASI_DEFAULT)} or 'all'."
    )
  return names


def figure6a_points(
  ranges, varied: Sequence[str]
) -> List[weight_points.WeightPoint]:
  """The Figure-6a points, each checked to lie in YOTO's training ranges."""
  points = weight_points.figure6a_points(
    default_weights(ranges), varied, {k: short_name(k) for k in ranges}
  )
  for point in points:
    for loss, weight in point.weights:
      low, high = ranges[loss]
      if not low * (1 - 1e-6) <= weight <= high * (1 + 1e-6):
        raise ValueError(
          f"The point '{point.name}' has {loss} = {weight:g}, "
          f"outside YOTO's training range [{low:g}, "
          f"{high:g}]; widen the range in {YOTO_CONFIG}."
        )
  return points


def ranges_binding(ranges) -> str:
  """The YOTO config's training distribution with `ranges` (loss name ->
  (low, high), every loss): one log-uniform range per loss, in the sorted
  order of the loss names, as the config lists them."""
  params = [
    {"low": low, "high": high} for _, (low, high) in sorted(ranges.items())
  ]
  return f"train/DistributionSpec.params = {params!r}"


def specialist_bindings(ranges, default: Weights) -> Tuple[str, ...]:
  """Conditioned on the content weight, sampled over its whole range; the
  other weights sampled from a tiny interval around the default (like
  config/imagenet_magenta_style_transfer_specialist_yoto.gin)."""
  narrow = {
    name: (
      default[name] / (1 + SPECIALIST_EPSILON),
      default[name] * (1 + SPECIALIST_EPSILON),
    )
    for name in ranges
  }
  return (
    f"StyleTransferProblem.conditioned_losses = {[CONTENT]!r}",
    ranges_binding({**narrow, CONTENT: ranges[CONTENT]}),
  )


def widened_below(loss: str, factor: float):
  """A variant's bindings: `loss` drawn from [low / factor, high] instead
  of the config's [low, high] (the conditioning input is re-centred on the
  new range, as the config's 'centre' does)."""

  def bindings(ranges) -> List[str]:
    low, high = ranges[loss]
    return [ranges_binding({**ranges, loss: (low / factor, high)})]

  return bindings


# name -> (what changes, bindings given the config's ranges): the config's
# YOTO model with one change, trained and compared beside it (--variants).
VARIANTS = {
  "yoto": ("the config's YOTO model as it is", lambda ranges: []),
  # Style 3 ÷10 is the lower bound of the config's style-3 range.
  "yoto_style3_wide": (
    "style 3 drawn over [low / 10, high], so that the style 3 ÷10 point "
    "lies a decade inside its range",
    widened_below("style_loss_3", 10.0),
  ),
}


def yoto_names(text: str) -> List[str]:
  """The --variants flag: 'yoto' first (the report's reference YOTO
  model), then the other named variants."""
  names = reproduction.variant_names(text, VARIANTS)
  return ["yoto"] + [n for n in names if n != "yoto"]


def model_specs(
  points: Sequence[weight_points.WeightPoint],
  ranges,
  variants: Sequence[str] = ("yoto",),
) -> List[reproduction.ModelSpec]:
  """The models of the reproduction: fixed ones first, then the YOTO
  `variants` (names of VARIANTS), then the specialist."""
  specs = [
    reproduction.fixed_model(p.model, FIXED_CONFIG, p.as_dict()) for p in points
  ]
  specs += [
    reproduction.ModelSpec(name, YOTO_CONFIG, tuple(VARIANTS[name][1](ranges)))
    for name in variants
  ]
  specs.append(
    reproduction.ModelSpec(
      "specialist",
      YOTO_CONFIG,
      specialist_bindings(ranges, points[0].as_dict()),
    )
  )
  return specs


def shared_bindings(
  steps: int,
  evals: int,
  config: ConfigValues,
  points: Sequence[weight_points.WeightPoint],
  overrides: Sequence[str] = (),
  tiny: bool = False,
) -> List[str]:
  """Bindings every model gets: steps, schedule and `evals` evaluations,
  the points as eval weights, EVAL_CROPS test crops, then `overrides`
  (`reproduction.override_bindings`) and, with `tiny`, a narrow network."""
  eval_steps = -(-EVAL_CROPS // config.eval_batch_size)
  return (
    reproduction.schedule_bindings(
      steps, config.decay_fractions, evals, config.iterations_per_loop
    )
    + [
      f"experiment.eval_weights = {[p.as_dict() for p in points]!r}",
      f"experiment.eval_steps = {eval_steps}",
    ]
    + list(overrides)
    + (list(common.TINY_STYLE_NETWORK_BINDINGS) if tiny else [])
  )


def eval_batches(bindings: Sequence[str]) -> List[tf.Tensor]:
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
    name,
    data_sources.DatasetSplit.TEST,
    batch_size=batch_size,
    preprocess_fn=preprocessing.get_preprocess_fn(pipeline),
    shuffle=False,
    repeat=False,
    drop_remainder=True,
  )
  return [features[key] for features in dataset.take(steps)]


def _parser():
  parser = common.base_parser(__doc__)
  reproduction.add_arguments(
    parser,
    os.path.join(common.REPO_ROOT, "runs", NAME),
    None,  # The config's, read after the flags are parsed.
    TINY_STEPS,
    keeps_ledger=True,
  )
  parser.add_argument(
    "--variants",
    default="yoto",
    help="Comma-separated YOTO variants trained beside the config's YOTO "
    "model (always trained), or 'all': "
    + "; ".join(f"{k}: {v[0]}" for k, v in VARIANTS.items()),
  )
  parser.add_argument(
    "--varied",
    default=DEFAULT_VARIED,
    help="Comma-separated weights swept x10 and ÷10 from "
    "the default, a fixed model at each end, or 'all' "
    f"(default {DEFAULT_VARIED}).",
  )
  return parser


def main(argv=None):
  args = _parser().parse_args(argv)
  reproduction.prepare_process(args)  # Before read_config builds a network.
  config = read_config()
  steps, model_root = reproduction.steps_and_root(
    args, config.train_steps, TINY_STEPS
  )
  points = figure6a_points(config.ranges, varied_losses(args.varied))
  specs = model_specs(points, config.ranges, yoto_names(args.variants))
  shared = shared_bindings(
    steps,
    args.evals,
    config,
    points,
    reproduction.override_bindings(args, TINY_BATCH),
    args.tiny,
  )
  seed_list = reproduction.seeds(args)
  name = reproduction.results_name(NAME, args, steps, config.train_steps)
  ledger = reproduction.ledger_dir(args, name, steps)
  start = time.time()
  timings = reproduction.train_all(
    specs,
    model_root,
    steps,
    shared,
    seed_list,
    reproduction.only_names(args),
    export=not args.no_export,
    max_minutes=args.max_minutes,
    ledger=ledger,
    reuse=reproduction.reuse_names(args),
  )
  results, text = report.analyse(
    specs,
    points,
    model_root,
    steps,
    seed_list,
    shared,
    eval_batches(shared),
    args.out_dir,
    name,
    timings,
    {k: short_name(k) for k in config.ranges},
  )
  if ledger:
    run_ledger.save(model_root, ledger)  # With the blends just cached.
  results.update(
    model_root=model_root,
    ledger=ledger,
    ranges=config.ranges,
    shared_bindings=shared,
    wall_seconds_this_run=time.time() - start,
  )
  common.write_results(name, args.out_dir, results, text, argv, script=NAME)
  return results


if __name__ == "__main__":
  reproduction.run_command_line(main)
