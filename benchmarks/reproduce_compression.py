r"""A reduced-scale reproduction of the paper's compression results (Figure 5).

  python -m benchmarks.reproduce_compression                  # 3 seeds
  python -m benchmarks.reproduce_compression --max_minutes=90 # a chunk
  python -m benchmarks.reproduce_compression --variants=all --seeds=2
  python -m benchmarks.reproduce_compression --tiny           # tests

On the embedded dataset (64x64 crops of scikit-image's photos,
config/photo_patches_hyperprior_compression_{yoto,fixed}.gin: the Ballé-2018
scale hyperprior at reduced width) it trains, once per seed and all for the
same number of steps (the config's learning-rate schedule rescaled):

  fixed_lmbda<λ>  a fixed-λ codec for each of --num_fixed log-spaced λ over
                  LMBDA_RANGE;
  yoto, ...       YOTO codecs, λ log-uniform over that range, each the
                  config with one change (`VARIANTS`; --variants picks).

Every model is evaluated with real range coding on the test split (crops of
the held-out photos rocket and grace_hopper) `--evals` times during
training, the YOTO models at the fixed λ and between them (the learning
curves), and afterwards on both held-out photos as whole images through its
exported hub module (`yoto.compress.evaluate_images`, which also times
coding), and on the same photos cut into 64x64 tiles (the crops' size):
that pair tells a codec's behaviour on large images from the statistics of
crops (`compression_report.tiles`).

The analysis (`benchmarks.compression_report`) gives per seed the BD-rate
and BD-PSNR of every YOTO codec against that seed's fixed codecs, as mean ±
95 % interval over seeds, at the end and against training steps; the
full-loss gap per λ with the fixed codecs' own seed spread; a convergence
statement per model; the fixed codecs' rate span; speeds and CPU time.

Writes <name>.md / .json and figures <name>_rd.png (test crops),
<name>_rd_full.png (full photos), <name>_bd_steps.png (BD-rate against
steps), <name>_decoded.png (a held-out photo at three λ, YOTO beside the
fixed codec) to --out_dir.
"""

import os
import sys
import time
from typing import Dict, List, Sequence

import gin

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import common
from benchmarks import compression_report
from benchmarks import reproduction
from benchmarks import run_ledger
# pylint: enable=g-import-not-at-top,wrong-import-position

SCRIPT = "reproduce_compression"
YOTO_CONFIG = "photo_patches_hyperprior_compression_yoto.gin"
FIXED_CONFIG = "photo_patches_hyperprior_compression_fixed.gin"
LMBDA_RANGE = (0.0012, 0.26)
DEFAULT_STEPS = 4000
DEFAULT_VARIANTS = "yoto,yoto_wide"
# The β-VAE reproduction's schedule: the last quarter of the run is at the
# final learning rate, where the convergence statement looks.
DECAY_FRACTIONS = (0.5, 0.75)
# The paper's "wider" YOTO codec: 256 filters where the fixed ones have 192.
PAPER_WIDE = 256 / 192


def _weights(lmbda: float) -> Dict[str, float]:
  return {"distortion": float(lmbda), "rate": 1.0}


def range_bindings(low: float, high: float) -> List[str]:
  """YOTO's training range of λ and the FiLM input centred on its log
  centre (the conditioning contract itself, log [λ, 1], is unchanged)."""
  return [
    "train/DistributionSpec.params = "
    f"[{{'low': {low:g}, 'high': {high:g}}}, "
    "{'low': 0.999, 'high': 1.001}]",
    "HyperpriorCompressionProblem.conditioning_input_offset = 'centre'",
  ]


def widen_bindings(factor: float) -> List[str]:
  """Every transform's filters (N) and the latent's channels (M) times
  `factor`; the FiLM MLPs keep their width, as in the paper."""
  value = lambda name: common.bound_value(
    f"HyperpriorCompressionProblem.{name}"
  )
  common.parse_config(YOTO_CONFIG)
  try:
    filters = value("num_filters")
    latent = value("num_latent_filters") or filters
  finally:
    gin.clear_config()
  scale = lambda n: max(1, int(round(n * factor)))
  return [
    f"HyperpriorCompressionProblem.num_filters = {scale(filters)}",
    f"HyperpriorCompressionProblem.num_latent_filters = {scale(latent)}",
  ]


_constant = reproduction.constant_bindings


# name -> (what changes, bindings given the evaluated λ range). Each is the
# config's YOTO codec with one change: the ablation of the issue that asks
# why YOTO's rate range is compressed.
VARIANTS = {
  "yoto": ("the config's YOTO codec as it is", _constant()),
  "yoto_wide": (
    "filters and latent channels x 4/3 (the paper's 256 / 192)",
    lambda low, high: widen_bindings(PAPER_WIDE),
  ),
  "yoto_wider_range": (
    "λ sampled over [low / 2, high x 2]",
    lambda low, high: range_bindings(low / 2, high * 2),
  ),
  "yoto_low_end": (
    "λ sampled over [low / 4, high]: the low-rate end oversampled",
    lambda low, high: range_bindings(low / 4, high),
  ),
  "yoto_not_normalized": (
    "loss weights [λ, 1] as sampled, not divided by their geometric mean",
    _constant("YotoOptimizer.normalize_loss_weights = False"),
  ),
  "yoto_not_centred": (
    "log λ fed to FiLM uncentred",
    _constant("HyperpriorCompressionProblem.conditioning_input_offset = None"),
  ),
  "yoto_film2x": (
    "FiLM MLPs of 256 hidden units instead of 128",
    _constant("HyperpriorCompressionProblem.conditioning_layer_sizes = [256]"),
  ),
  "yoto_main_only": (
    "FiLM in the analysis and synthesis transforms only "
    "(the hyperprior's transforms unconditioned)",
    _constant(
      "HyperpriorCompressionProblem."
      "unconditioned_transforms = "
      "['hyper_analysis', 'hyper_synthesis']"
    ),
  ),
  # At full gain (1.0) the codec's loss became NaN within 200 steps.
  "yoto_film_gain": (
    "FiLM's MLP outputs at 3x the gain: scales 1 + 0.3 m and shifts 0.3 m "
    "instead of 1 + 0.1 m and 0.1 m",
    _constant(
      "ConditioningPostprocessing.scales_mult = 0.3",
      "ConditioningPostprocessing.shifts_mult = 0.3",
    ),
  ),
  "yoto_batch16": (
    "batch 16 instead of 8 (the paper's batch-16 variant)",
    _constant("experiment.batch_size = 16"),
  ),
  "yoto_latent_gain": (
    "the latent y (and the synthesis' input) scaled per channel by a learnt "
    "gain exp(a · centred log λ)",
    _constant("HyperpriorCompressionProblem.latent_gain = True"),
  ),
  "yoto_balanced": reproduction.balanced_variant("λ"),
  # Trained K times as long, K the number of fixed codecs (its schedule is
  # set in `model_specs`).
  "yoto_same_compute": (
    "trained as many steps as the whole fixed sweep",
    _constant(),
  ),
}
for _other in ("latent_gain", "wider_range", "wide"):
  reproduction.combine_variants(
    VARIANTS, f"yoto_balanced_{_other}", "yoto_balanced", f"yoto_{_other}"
  )
SAME_COMPUTE = "yoto_same_compute"
# --tiny: a narrow codec (N = 8, M = 12), for tests.
TINY_CODEC = [
  "HyperpriorCompressionProblem.num_filters = 8",
  "HyperpriorCompressionProblem.num_latent_filters = 12",
  "HyperpriorCompressionProblem.conditioning_layer_sizes = [8]",
]


def _parser():
  parser = common.base_parser(__doc__)
  reproduction.add_arguments(
    parser,
    os.path.join(common.REPO_ROOT, "runs", SCRIPT),
    DEFAULT_STEPS,
    analysis_needs_hub_modules=True,
    keeps_ledger=True,
  )
  parser.add_argument(
    "--num_fixed",
    type=int,
    default=5,
    help="Fixed-λ codecs, log-spaced over the λ range "
    "(YOTO is evaluated at these and between them).",
  )
  parser.add_argument(
    "--variants",
    default=DEFAULT_VARIANTS,
    help="Comma-separated YOTO variants, or 'all': "
    + "; ".join(f"{k}: {v[0]}" for k, v in VARIANTS.items()),
  )
  return parser


def grids(num_fixed: int):
  """(fixed λ, eval λ): the eval grid adds the midpoints of the fixed one."""
  fixed = reproduction.log_spaced(num_fixed, *LMBDA_RANGE)
  evals = (
    reproduction.log_spaced(2 * num_fixed - 1, *LMBDA_RANGE)
    if num_fixed > 1
    else fixed
  )
  return fixed, evals


def shared_bindings(
  steps: int,
  eval_lmbdas: Sequence[float],
  evals: int = 8,
  batch: Sequence[str] = (),
) -> List[str]:
  """Bindings every model gets: steps, schedule and evaluations, the eval λ
  grid, YOTO's training range, and `batch`
  (`reproduction.override_bindings`)."""
  return (
    reproduction.schedule_bindings(steps, DECAY_FRACTIONS, evals)
    + [
      "experiment.eval_weights = "
      f"{[_weights(lmbda) for lmbda in eval_lmbdas]!r}",
    ]
    + range_bindings(*LMBDA_RANGE)
    + list(batch)
  )


def variant_names(text: str) -> List[str]:
  return reproduction.variant_names(text, VARIANTS)


def fixed_name(lmbda: float) -> str:
  return f"fixed_lmbda{lmbda:g}"


def model_specs(
  fixed_lmbdas: Sequence[float],
  variants: Sequence[str],
  steps: int = DEFAULT_STEPS,
  evals: int = 8,
) -> List[reproduction.ModelSpec]:
  """The models of the reproduction, fixed ones first."""
  specs = [
    reproduction.fixed_model(fixed_name(lmbda), FIXED_CONFIG, _weights(lmbda))
    for lmbda in fixed_lmbdas
  ]
  for name in variants:
    bindings = VARIANTS[name][1](*LMBDA_RANGE)
    own_steps = None
    if name == SAME_COMPUTE:
      own_steps = steps * len(fixed_lmbdas)
      bindings = reproduction.schedule_bindings(
        own_steps, DECAY_FRACTIONS, evals
      )
    specs.append(
      reproduction.ModelSpec(
        name, YOTO_CONFIG, tuple(bindings), steps=own_steps
      )
    )
  return specs


def main(argv=None):
  args = _parser().parse_args(argv)
  reproduction.prepare_process(args)
  steps, model_root = reproduction.steps_and_root(args, DEFAULT_STEPS)
  fixed_lmbdas, eval_lmbdas = grids(args.num_fixed)
  specs = model_specs(
    fixed_lmbdas, variant_names(args.variants), steps, args.evals
  )
  shared = shared_bindings(
    steps,
    eval_lmbdas,
    args.evals,
    (TINY_CODEC if args.tiny else []) + reproduction.override_bindings(args, 2),
  )
  seed_list = reproduction.seeds(args)
  name = reproduction.results_name(SCRIPT, args, steps, DEFAULT_STEPS)
  ledger = reproduction.ledger_dir(args, name, steps)
  tiles = dict(
    tile_size=8 if args.tiny else 64, max_tiles=4 if args.tiny else None
  )
  start = time.time()
  timings = reproduction.train_all(
    specs,
    model_root,
    steps,
    shared,
    seed_list,
    reproduction.only_names(args),
    max_minutes=args.max_minutes,
    ledger=ledger,
    after_training=lambda spec, model_dir: compression_report.keep_image_rows(
      model_dir, eval_lmbdas, fixed_lmbdas, **tiles
    ),
    reuse=reproduction.reuse_names(args),
  )
  results, text = compression_report.analyse(
    specs,
    model_root,
    steps,
    seed_list,
    args.out_dir,
    name,
    timings,
    eval_lmbdas,
    **tiles,
  )
  if ledger:
    run_ledger.save(model_root, ledger)  # With the rows just kept.
  results.update(
    model_root=model_root,
    ledger=ledger,
    fixed_lmbdas=fixed_lmbdas,
    eval_lmbdas=eval_lmbdas,
    shared_bindings=shared,
    wall_seconds_this_run=time.time() - start,
  )
  common.write_results(name, args.out_dir, results, text, argv, script=SCRIPT)
  return results


if __name__ == "__main__":
  reproduction.run_command_line(main)
