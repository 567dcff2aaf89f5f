"""A tiny YOTO compression run and its fixed-λ twin, trained once per session.

The exported-module, codec CLI and notebook tests need real artifacts: hub
modules and metrics files written by `experiment` from the embedded configs
(`photo_patches_hyperprior_compression_{yoto,fixed}.gin`), here shrunk to an
8-filter codec, two steps and three eval λ. The fixed-λ run is trained at
λ = 0.01, one of those eval λ. The runs are cached here so that several test
modules share them (each costs tens of seconds, mostly tracing and export).
"""

import dataclasses
import os

from tiny_runs import train_in_process

EVAL_LAMBDAS = (0.0012, 0.01, 0.26)
FIXED_LAMBDA = 0.01
STEPS = 2


def _weights(lmbda):
  return {"distortion": lmbda, "rate": 1.0}


BINDINGS = (
  "HyperpriorCompressionProblem.num_filters = 8",
  "HyperpriorCompressionProblem.num_latent_filters = 12",
  "HyperpriorCompressionProblem.conditioning_layer_sizes = [8]",
  "experiment.dataset_name = 'photo_patches/32'",
  "experiment.batch_size = 2",
  "experiment.eval_batch_size = 4",
  f"experiment.train_steps = {STEPS}",
  f"experiment.iterations_per_loop = {STEPS}",
  f"experiment.save_checkpoints_steps = {STEPS}",
  "experiment.eval_steps = 1",
  f"experiment.eval_weights = {[_weights(lmbda) for lmbda in EVAL_LAMBDAS]!r}",
)


@dataclasses.dataclass(frozen=True)
class TinyCompressionRuns:
  yoto_dir: str
  fixed_dir: str
  yoto_module: str
  fixed_module: str


_RUNS = {}


def get(tmp_path_factory) -> TinyCompressionRuns:
  """Trains both runs on the first call of the session; returns them."""
  if "runs" not in _RUNS:
    root = tmp_path_factory.mktemp("tiny_compression_runs")
    yoto_dir = os.path.join(str(root), "yoto")
    fixed_dir = os.path.join(str(root), f"fixed_{FIXED_LAMBDA:g}")
    yoto = train_in_process(
      yoto_dir, "photo_patches_hyperprior_compression_yoto.gin", BINDINGS
    )
    fixed = train_in_process(
      fixed_dir,
      "photo_patches_hyperprior_compression_fixed.gin",
      BINDINGS
      + (f"LinearlyScalarizedOptimizer.weights = {_weights(FIXED_LAMBDA)!r}",),
    )
    _RUNS["runs"] = TinyCompressionRuns(
      yoto_dir, fixed_dir, yoto.hub_module, fixed.hub_module
    )
  return _RUNS["runs"]
