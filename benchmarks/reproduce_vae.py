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

From the eval rows the analysis (`benchmarks.vae_report`) writes, to
--out_dir, under the results name (`reproduce_vae`, `reproduce_vae_<name>`
with --name, or `reproduce_vae_steps<N>`):
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
from benchmarks import vae_report
import gin
# pylint: enable=g-import-not-at-top,wrong-import-position


@dataclasses.dataclass(frozen=True)
class Setting:
  """One reproduction's data and models (`architecture`, whose name is the
  dataset's), its default β grid and training length."""

  architecture: common.Architecture
  betas: str
  steps: int


SETTINGS = {
  # The default: Shapes3D-like scenes, Bernoulli outputs; fixed models
  # converge within the run (BENCHMARKS.md §5).
  "procedural_shapes": Setting(
    common.ARCHITECTURES["procedural_shapes"], "0.5,4,32,256,2048", 6000
  ),
  # Photo crops with the CIFAR-10 network and Gaussian outputs: the
  # embedded default's setting, far from converged at these lengths.
  "photo_patches": Setting(
    common.ARCHITECTURES["photo_patches"], "0.5,2,8,32,128,512", 4000
  ),
}
DEFAULT_SETTING = "procedural_shapes"
# The setting's config as it is (the paper's recipe), the recipe the
# ablations found best, and the 1.5x wider model.
DEFAULT_VARIANTS = "yoto,yoto_centred_normalized,yoto_wide"
SCRIPT = "reproduce_vae"


def _both(parameter: str, value) -> List[str]:
  """The same ConditionalConvnet binding for the encoder and the decoder."""
  return [
    f"{scope}/ConditionalConvnet.{parameter} = {value}"
    for scope in ("encoder", "decoder")
  ]


def centring_bindings(betas: Sequence[float]) -> List[str]:
  """log β centred on the training range's geometric centre ('centre') and
  scaled to [-1, 1]; the reconstruction weight (about 1) stays near 0."""
  low, high = min(betas), max(betas)
  return [
    "ConditionalVaeProblem.conditioning_input_offset = 'centre'",
    "ConditionalVaeProblem.conditioning_input_scale = "
    f"{2.0 / math.log(high / low):.6g}",
  ]


def range_bindings(low: float, high: float) -> List[str]:
  return [
    "train/DistributionSpec.params = "
    f"[{{'low': {low:g}, 'high': {high:g}}}, "
    "{'low': 0.999, 'high': 1.001}]"
  ]


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


def batch_bindings(factor: int, config: str) -> List[str]:
  """The training batch `factor` times the config's (the eval batch stays,
  so evaluations compare alike)."""
  batch = yoto_config_value("experiment.batch_size", config)
  return [f"experiment.batch_size = {int(batch * factor)}"]


def film_width_bindings(factor: float, config: str) -> List[str]:
  sizes = yoto_config_value(
    "encoder/ConditionalConvnet.conditioning_layer_sizes", config
  )
  return _both(
    "conditioning_layer_sizes", [int(round(n * factor)) for n in sizes]
  )


_constant = reproduction.constant_bindings


# name -> (what changes, bindings given the β grid and the YOTO config).
# Each is the setting's YOTO model with one change, or with the changes of
# several others (`reproduction.combine_variants`, below).
VARIANTS = {
  "yoto": ("the setting's YOTO config as it is", _constant()),
  "yoto_wide": (
    "1.5x wider: channels, FC and FiLM hidden sizes",
    lambda betas, config: widen_bindings(config, 1.5),
  ),
  "yoto_wide2": ("2x wider", lambda betas, config: widen_bindings(config, 2)),
  "yoto_normalized": (
    "loss weights divided by their geometric mean",
    _constant("YotoOptimizer.normalize_loss_weights = True"),
  ),
  "yoto_centred": (
    "log β centred and scaled to [-1, 1] for the networks",
    lambda betas, config: centring_bindings(betas),
  ),
  "yoto_film2x": (
    "FiLM MLPs 2x wider",
    lambda betas, config: film_width_bindings(2.0, config),
  ),
  "yoto_lr_half": (
    "learning rate / 2",
    lambda betas, config: learning_rate_bindings(0.5, config),
  ),
  "yoto_lr_double": (
    "learning rate x 2",
    lambda betas, config: learning_rate_bindings(2.0, config),
  ),
  "yoto_batch2x": (
    "training batch x 2, the same steps (2x the examples)",
    lambda betas, config: batch_bindings(2, config),
  ),
  "yoto_per_batch": (
    "one β per batch instead of per example",
    _constant("YotoOptimizer.weights_per_sample = False"),
  ),
  "yoto_wider_range": (
    "trained on β in [low / 2, high x 2]",
    lambda betas, config: range_bindings(min(betas) / 2, max(betas) * 2),
  ),
  "yoto_uniform": (
    "β uniform instead of log-uniform (Figure 4)",
    _constant(
      "train/DistributionSpec.distribution_type = %DistributionType.UNIFORM"
    ),
  ),
  "yoto_no_log": (
    "raw β fed to the conditioning instead of log β (Figure 4)",
    _constant(
      "YotoOptimizer.extra_inputs_preprocessing = %TransformType.IDENTITY"
    ),
  ),
  "yoto_input": (
    "log β concatenated to the input instead of FiLM (Figure 4)",
    _constant(*_both("conditioning_type", "'input'")),
  ),
  "yoto_concat": (
    "log β concatenated before every block instead of FiLM (Figure 4)",
    _constant(*_both("conditioning_type", "'concat'")),
  ),
  "yoto_balanced": reproduction.balanced_variant("β"),
  # Trained K times as long, K the number of fixed models (its schedule
  # is set in `model_specs`).
  "yoto_same_compute": (
    "trained as many steps as the whole fixed sweep",
    _constant(),
  ),
}
reproduction.combine_variants(
  VARIANTS, "yoto_centred_balanced", "yoto_centred", "yoto_balanced"
)
reproduction.combine_variants(
  VARIANTS, "yoto_centred_normalized", "yoto_centred", "yoto_normalized"
)
reproduction.combine_variants(
  VARIANTS,
  "yoto_centred_normalized_wide",
  "yoto_centred",
  "yoto_normalized",
  "yoto_wide",
)
SAME_COMPUTE = "yoto_same_compute"


def _parser():
  parser = common.base_parser(__doc__)
  reproduction.add_arguments(
    parser, os.path.join(common.REPO_ROOT, "runs", "reproduce_vae"), None
  )
  parser.add_argument(
    "--setting",
    default=DEFAULT_SETTING,
    choices=sorted(SETTINGS),
    help="Dataset and configs (default "
    f"{DEFAULT_SETTING}); each has its own β grid and "
    "steps: "
    + "; ".join(
      f"{k}: β {v.betas}, {v.steps} steps" for k, v in SETTINGS.items()
    ),
  )
  parser.add_argument(
    "--betas",
    default=None,
    help="Comma-separated β grid: one fixed model each, "
    "the eval weights of all, and YOTO's training range "
    "(default: the setting's).",
  )
  parser.add_argument(
    "--variants",
    default=DEFAULT_VARIANTS,
    help="Comma-separated YOTO variants, or 'all': "
    + "; ".join(f"{k}: {v[0]}" for k, v in VARIANTS.items()),
  )
  return parser


def _weights(beta: float) -> Dict[str, float]:
  return {"kl_loss": float(beta), "reconstruction_loss": 1.0}


def shared_bindings(
  steps: int, betas: Sequence[float], evals: int = 8, batch: Sequence[str] = ()
) -> List[str]:
  """Bindings every model gets: steps, schedule and evaluations, eval grid,
  β range, and `batch` (`reproduction.override_bindings`)."""
  return (
    reproduction.schedule_bindings(steps, (0.5, 0.75), evals)
    + [
      f"experiment.eval_weights = {[_weights(b) for b in betas]!r}",
    ]
    + range_bindings(min(betas), max(betas))
    + list(batch)
  )


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
        f"{[scale(n) for n in value(scope, 'conditioning_layer_sizes')]}",
      ]
    return bindings
  finally:
    gin.clear_config()


def variant_names(text: str) -> List[str]:
  return reproduction.variant_names(text, VARIANTS)


def fixed_name(beta: float) -> str:
  return f"fixed_beta{beta:g}"


def model_specs(
  betas: Sequence[float],
  variants: Sequence[str],
  steps: Optional[int] = None,
  evals: int = 8,
  setting: str = DEFAULT_SETTING,
) -> List[reproduction.ModelSpec]:
  """The models of the reproduction, fixed ones first."""
  arch = SETTINGS[setting].architecture
  steps = steps or SETTINGS[setting].steps
  specs = [
    reproduction.fixed_model(fixed_name(b), arch.fixed_config, _weights(b))
    for b in betas
  ]
  for name in variants:
    bindings = VARIANTS[name][1](betas, arch.yoto_config)
    own_steps = None
    if name == SAME_COMPUTE:
      own_steps = steps * len(betas)
      bindings = reproduction.schedule_bindings(own_steps, (0.5, 0.75), evals)
    specs.append(
      reproduction.ModelSpec(
        name, arch.yoto_config, tuple(bindings), steps=own_steps
      )
    )
  return specs


def main(argv=None):
  args = _parser().parse_args(argv)
  reproduction.prepare_process(args)
  setting = SETTINGS[args.setting]
  betas = [float(b) for b in (args.betas or setting.betas).split(",") if b]
  if args.model_root is None:
    args.model_root = os.path.join(
      common.REPO_ROOT, "runs", "reproduce_vae", args.setting
    )
  steps, model_root = reproduction.steps_and_root(args, setting.steps)
  seed_list = reproduction.seeds(args)
  specs = model_specs(
    betas, variant_names(args.variants), steps, args.evals, args.setting
  )
  shared = shared_bindings(
    steps, betas, args.evals, reproduction.override_bindings(args, 8)
  )
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
    reuse=reproduction.reuse_names(args),
  )
  script = (
    SCRIPT if args.setting == DEFAULT_SETTING else f"{SCRIPT}_{args.setting}"
  )
  name = reproduction.results_name(script, args, steps, setting.steps)
  results, text = vae_report.analyse(
    specs,
    model_root,
    steps,
    seed_list,
    args.out_dir,
    name,
    timings,
    shared,
    setting.architecture,
  )
  results.update(
    setting=args.setting,
    model_root=model_root,
    betas=betas,
    wall_seconds_this_run=time.time() - start,
    shared_bindings=shared,
  )
  common.write_results(name, args.out_dir, results, text, argv, script=SCRIPT)
  return results


if __name__ == "__main__":
  reproduction.run_command_line(main)
