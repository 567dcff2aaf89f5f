"""A tiny trained YOTO VAE and its fixed-weight twin, trained once per session.

Plots, the command line and the notebooks need real artifacts: a hub module
and metrics files written by `experiment`. Both runs use the embedded
photo_patches configs shrunk to a few steps and three eval weights; the
fixed-weight one is trained at β = 8, one of those eval weights, so the
frontier and the full-loss comparison have something to compare. The runs
are cached here so that several test modules share them.
"""

import dataclasses
import os

from conftest import config_path

from yoto import main

EVAL_BETAS = (0.5, 8.0, 128.0)
FIXED_BETA = 8.0


def _weights(beta):
  return {"kl_loss": beta, "reconstruction_loss": 1.0}


BINDINGS = (
  "experiment.train_steps = 4",
  "experiment.iterations_per_loop = 4",
  "experiment.save_checkpoints_steps = 4",
  "experiment.eval_steps = 1",
  "experiment.batch_size = 16",
  "experiment.eval_batch_size = 16",
  f"experiment.eval_weights = {[_weights(b) for b in EVAL_BETAS]!r}",
)


@dataclasses.dataclass(frozen=True)
class TinyRuns:
  yoto_dir: str
  fixed_dir: str
  hub_module: str


_RUNS = {}


def train_in_process(model_dir, config, bindings):
  """Trains, evaluates and exports in-process, like `python -m yoto.main`
  (the run's run_config.json tells the analysis a fixed-weight run's
  weights)."""
  return main.run_in_process(model_dir, [config_path(config)], bindings)


def get(tmp_path_factory) -> TinyRuns:
  """Trains both runs on the first call of the session; returns them."""
  if "runs" not in _RUNS:
    root = tmp_path_factory.mktemp("tiny_vae_runs")
    yoto_dir = os.path.join(str(root), "yoto")
    fixed_dir = os.path.join(str(root), f"fixed_beta{FIXED_BETA:g}")
    result = train_in_process(
      yoto_dir, "photo_patches_conv_vae_yoto.gin", BINDINGS
    )
    train_in_process(
      fixed_dir,
      "photo_patches_conv_vae_fixed.gin",
      BINDINGS
      + (f"LinearlyScalarizedOptimizer.weights = {_weights(FIXED_BETA)!r}",),
    )
    _RUNS["runs"] = TinyRuns(yoto_dir, fixed_dir, result.hub_module)
  return _RUNS["runs"]
