"""A tiny trained YOTO style-transfer model, trained once per test session.

The hub-module, command-line and notebook tests need a real exported module:
the embedded config (photo_patches_magenta_style_transfer_yoto.gin) shrunk to
a narrower network and two steps (config/tiny/), with three eval weight
vectors.
"""

import os

from conftest import config_path
from tiny_runs import train_in_process

CONFIG = "photo_patches_magenta_style_transfer_yoto.gin"
FIXED_CONFIG = "photo_patches_magenta_style_transfer_fixed.gin"
CENTRE = {
  "content_loss": 3.16,
  "style_loss_1": 3.16e-5,
  "style_loss_2": 3.16e-4,
  "style_loss_3": 0.0316,
  "style_loss_4": 0.316,
  "total_variation_loss": 10000.0,
}
EVAL_WEIGHTS = [
  CENTRE,
  {**CENTRE, "content_loss": 0.1},
  {**CENTRE, "content_loss": 100.0},
]
# The overlays of config/tiny/ that the benchmarks' --tiny modes use too.
BINDINGS = tuple(
  f"include '{config_path(name)}'"
  for name in ("tiny/style_transfer_network.gin", "tiny/two_step_run.gin")
) + (
  f"experiment.eval_weights = {EVAL_WEIGHTS!r}",
  # With the config's content skip, whose gain starts at 0, a two-step run
  # returns the photo at every weight; the tests check that the weights
  # reach the image, so the tiny run goes without it.
  "StylizationNetwork.content_skip = False",
)

_RUNS = {}


def get(tmp_path_factory):
  """The tiny YOTO run's ExperimentResult (trained on the first call)."""
  if "yoto" not in _RUNS:
    root = tmp_path_factory.mktemp("tiny_style_runs")
    _RUNS["yoto"] = train_in_process(
      os.path.join(str(root), "yoto"), CONFIG, BINDINGS
    )
  return _RUNS["yoto"]
