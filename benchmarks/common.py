"""What the benchmark scripts share: models built from the project's configs,
in-memory data, and result files (timing: `benchmarks.timing`).

Models are built exactly as `experiment` builds them (the gin config's
problem, multi-loss optimizer, base optimizer and training parameters, then
`TrainingState`), so a benchmark times the code users run. Only the data is
replaced by a constant in-memory batch where the input pipeline must not be
measured.
"""

import argparse
import dataclasses
import datetime
import json
import os
import platform
import subprocess
import sys
from typing import Callable, Dict, List, Optional, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pylint: disable=g-import-not-at-top,wrong-import-position
import gin
import numpy as np
import tensorflow as tf

tf.get_logger().setLevel("ERROR")  # Retracing notes from interleaved models.

from yoto import main as yoto_main
from yoto.training import trainer as trainer_lib
from yoto.training import training_state as state_lib
# pylint: enable=g-import-not-at-top,wrong-import-position

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_DIR = os.path.join(REPO_ROOT, "config")
RESULTS_DIR = os.path.join(REPO_ROOT, "benchmarks", "results")


@dataclasses.dataclass(frozen=True)
class Architecture:
  """A paper architecture: its YOTO and fixed-weight configs and its data.

  Attributes:
    name: short name used in result tables.
    yoto_config: gin file of the YOTO model.
    fixed_config: gin file of its fixed-weight twin.
    image_shape: [H, W, C] of the images the config trains on.
    value_range: the range its `preprocess` maps pixels to.
  """

  name: str
  yoto_config: str
  fixed_config: str
  image_shape: Sequence[int]
  value_range: Sequence[float]

  @property
  def preprocess(self) -> str:
    """The eval preprocessing of its images: pixels to `value_range`."""
    return "value_range({:g},{:g})".format(*self.value_range)


ARCHITECTURES = {
  "cifar10": Architecture(
    "cifar10",
    "cifar_conv_vae_yoto.gin",
    "cifar_conv_vae_fixed.gin",
    (32, 32, 3),
    (-1, 1),
  ),
  "shapes3d": Architecture(
    "shapes3d",
    "shapes3d_conv_vae_yoto.gin",
    "shapes3d_conv_vae_fixed.gin",
    (64, 64, 3),
    (0, 1),
  ),
  "photo_patches": Architecture(
    "photo_patches",
    "photo_patches_conv_vae_yoto.gin",
    "photo_patches_conv_vae_fixed.gin",
    (32, 32, 3),
    (-1, 1),
  ),
  "procedural_shapes": Architecture(
    "procedural_shapes",
    "procedural_shapes_conv_vae_yoto.gin",
    "procedural_shapes_conv_vae_fixed.gin",
    (32, 32, 3),
    (0, 1),
  ),
}


def config_path(name: str) -> str:
  return name if os.path.isabs(name) else os.path.join(CONFIG_DIR, name)


def include(name: str) -> str:
  """A gin binding that includes config/`name`: an overlay config added
  among a run's bindings."""
  return f"include '{config_path(name)}'"


# The style-transfer scripts' --tiny modes: a narrow network, and a two-step
# run of it (overlays in config/tiny/, which the tests use too).
TINY_STYLE_NETWORK_BINDINGS = (include("tiny/style_transfer_network.gin"),)
TINY_STYLE_RUN_BINDINGS = TINY_STYLE_NETWORK_BINDINGS + (
  include("tiny/two_step_run.gin"),
)


# Models from configs.


def parse_config(config: str, bindings: Sequence[str] = ()) -> None:
  """Replaces gin's global config by `config` plus `bindings`."""
  gin.clear_config()
  yoto_main.parse_config([config_path(config)], list(bindings))


def bound_value(parameter: str, default=None):
  """The value the parsed config binds to `parameter` ('scope/Name.arg').

  A `@Configurable` reference comes back as the configured callable (what
  the configurable would receive), an unbound parameter as `default`.
  """
  try:
    value = gin.query_parameter(parameter)
  except ValueError:
    return default
  if isinstance(value, gin.config.ConfigurableReference):
    return value.scoped_configurable_fn
  return value


def experiment_value(name: str, default=None):
  """The value the parsed config binds to `experiment.<name>`."""
  return bound_value(f"experiment.{name}", default)


def build_state(
  config: str,
  bindings: Sequence[str] = (),
  image_shape: Sequence[int] = (32, 32, 3),
  batch_size: Optional[int] = None,
  strategy: Optional[tf.distribute.Strategy] = None,
) -> state_lib.TrainingState:
  """A `TrainingState` built from a config as `experiment` builds it.

  Args:
    config: gin file (name in config/ or a path).
    bindings: extra gin bindings.
    image_shape: [H, W, C] of the (synthetic) training images.
    batch_size: the global batch; None takes `experiment.batch_size`.
    strategy: the distribution strategy; None is the default one.

  Returns:
    The state; its `.batch_size` attribute holds the batch size used.
  """
  parse_config(config, bindings)
  try:
    batch_size = batch_size or experiment_value("batch_size")
    problem = experiment_value("problem_class")()
    mlo = experiment_value("optimizer_class")(problem, batch_size=batch_size)
    conditioning_params = experiment_value("training_params_conditioning_class")
    state = state_lib.TrainingState(
      strategy or tf.distribute.get_strategy(),
      mlo,
      {"image": tf.TensorSpec([batch_size, *image_shape], tf.float32)},
      experiment_value("base_optimizer_class"),
      experiment_value("training_params_class")(),
      experiment_value("base_optimizer_conditioning_class"),
      conditioning_params() if conditioning_params else None,
    )
  finally:
    gin.clear_config()
  state.batch_size = batch_size
  return state


def make_trainer(
  state: state_lib.TrainingState, model_dir: str, iterations_per_loop: int = 100
) -> trainer_lib.Trainer:
  """The project's `Trainer` for `state` (its loop is what gets timed)."""
  loop = trainer_lib.LoopConfig(
    train_steps=10**9,
    global_batch_size=state.batch_size,
    iterations_per_loop=iterations_per_loop,
  )
  return trainer_lib.Trainer(state, loop, model_dir)


def loop_fn(
  trainer: trainer_lib.Trainer, dataset_fn, steps: int
) -> Callable[[], Dict[str, tf.Tensor]]:
  """One call of the Trainer's compiled loop: `steps` training steps.

  The loop `Trainer.train` runs between checkpoints, minus its logging and
  checkpointing, on the data of `dataset_fn` (e.g. `in_memory_dataset_fn`).
  """
  iterator = iter(
    trainer.strategy.distribute_datasets_from_function(dataset_fn)
  )
  return lambda: trainer.run_steps(iterator, steps)


def num_params(variables) -> int:
  return int(sum(np.prod(v.shape) for v in variables))


# Data.


def synthetic_images(
  batch_size: int,
  image_shape: Sequence[int],
  value_range: Sequence[float] = (-1, 1),
  seed: int = 0,
) -> tf.Tensor:
  """A fixed batch of uniform noise images in `value_range`."""
  low, high = value_range
  rng = np.random.default_rng(seed)
  return tf.constant(
    rng.uniform(low, high, [batch_size, *image_shape]), tf.float32
  )


def in_memory_dataset_fn(
  images: tf.Tensor, repeat: Optional[int] = None
) -> Callable[[tf.distribute.InputContext], tf.data.Dataset]:
  """A dataset_fn giving the same in-memory batch forever (or `repeat`x)."""

  def dataset_fn(unused_context):
    dataset = tf.data.Dataset.from_tensors({"image": images})
    return dataset.repeat(repeat) if repeat else dataset.repeat()

  return dataset_fn


# Timing.


# Results.


def machine_info() -> dict:
  """What the numbers were measured on, including how busy the machine was."""
  model = platform.processor()
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          model = line.split(":", 1)[1].strip()
          break
  except OSError:
    pass
  return {
    "cpu": model,
    "cpu_count": os.cpu_count(),
    "load_average_1_5_15min": [round(x, 2) for x in os.getloadavg()],
    "python": platform.python_version(),
    "tensorflow": tf.__version__,
    "platform": platform.platform(),
    "git_commit": _git_commit(),
    "git_describe": _git_describe(),
    "date": datetime.datetime.now().isoformat(timespec="seconds"),
  }


def _git_commit() -> Optional[str]:
  try:
    return subprocess.run(
      ["git", "rev-parse", "--short", "HEAD"],
      cwd=REPO_ROOT,
      check=True,
      capture_output=True,
      text=True,
    ).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    return None


def _git_describe() -> Optional[str]:
  """`git describe --always --dirty`: the commit, marked when the working
  tree had changes."""
  try:
    return subprocess.run(
      ["git", "describe", "--always", "--dirty"],
      cwd=REPO_ROOT,
      check=True,
      capture_output=True,
      text=True,
    ).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    return None


def command_line(name: str, argv: Optional[Sequence[str]] = None) -> str:
  """The command that produced the results, as typed from the repo root."""
  argv = sys.argv[1:] if argv is None else argv
  return " ".join(["python", "-m", f"benchmarks.{name}", *argv])


def write_results(
  name: str,
  out_dir: str,
  results: dict,
  markdown: str,
  argv: Optional[Sequence[str]] = None,
  script: Optional[str] = None,
) -> List[str]:
  """Prints `markdown`, writes `name`.json (results + machine) and `name`.md
  and prints their paths; returns the paths.

  Args:
    name: the results' name: the script's module name in benchmarks/, or
      a named variant of its results (then `script` names the module).
    out_dir: where the files go.
    results: JSON-serialisable results.
    markdown: the results as Markdown (BENCHMARKS.md shows it).
    argv: the script's arguments (None: sys.argv[1:]), for the command line.
    script: the module, when it is not `name`.
  """
  os.makedirs(out_dir, exist_ok=True)
  payload = {
    "benchmark": script or name,
    "command": command_line(script or name, argv),
    "machine": machine_info(),
    "results": results,
  }
  json_path = os.path.join(out_dir, f"{name}.json")
  with open(json_path, "w") as f:
    json.dump(payload, f, indent=2, sort_keys=True)
    f.write("\n")
  md_path = os.path.join(out_dir, f"{name}.md")
  machine = payload["machine"]
  with open(md_path, "w") as f:
    f.write(f"<!-- {payload['command']} -->\n")
    f.write(
      f"Measured {machine['date']} on {machine['cpu_count']} x "
      f"{machine['cpu']}, TF {machine['tensorflow']}, load average "
      f"{machine['load_average_1_5_15min'][0]} at the end "
      f"(commit {machine['git_describe'] or machine['git_commit']})."
      "\n\n"
    )
    f.write(markdown)
  print(markdown)
  for path in (json_path, md_path):
    print(f"wrote {path}")
  return [json_path, md_path]


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence]) -> str:
  """A Markdown table; floats get 3-4 significant digits."""

  def cell(value):
    if isinstance(value, float):
      return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
    return str(value)

  lines = [
    "| " + " | ".join(columns) + " |",
    "|" + "|".join("---" for _ in columns) + "|",
  ]
  lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
  return "\n".join(lines) + "\n"


def base_parser(description: str) -> argparse.ArgumentParser:
  """Flags every benchmark has: --out_dir, --repeats, --tiny."""
  parser = argparse.ArgumentParser(
    description=description,
    formatter_class=argparse.RawDescriptionHelpFormatter,
  )
  parser.add_argument(
    "--out_dir", default=RESULTS_DIR, help="Where the .json and .md results go."
  )
  parser.add_argument(
    "--repeats",
    type=int,
    default=None,
    help="Interleaved timed repetitions per variant.",
  )
  parser.add_argument(
    "--tiny",
    action="store_true",
    help="A few steps only: checks the script runs (tests).",
  )
  return parser
