"""Training a set of models for a reduced-scale reproduction, resumably.

Every reproduction script (β-VAE, compression, style transfer) compares one
or more YOTO models with fixed-weight models trained for the same number of
steps. This module trains such a set: each model in-process by `experiment`
with `schedule='train_and_eval'` (what `python -m yoto.main` runs), so each
ends with eval rows on the test split at every eval weight in
model_dir/metrics.jsonl and a hub module. A model_dir with FINISHED and eval
rows at the final step is skipped, so rerunning a script resumes an
interrupted reproduction; the training time of every model is kept in
model_dir/reproduce_timing.json.
"""

import dataclasses
import json
import math
import os
import time
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
import tensorflow as tf

from benchmarks import common
from yoto import main as yoto_main
from yoto import results
from yoto.training import experiment as experiment_lib
from yoto.training import trainer as trainer_lib

TIMING_FILE = "reproduce_timing.json"
SPLIT = "test"


@dataclasses.dataclass(frozen=True)
class ModelSpec:
  """One model of a reproduction.

  Attributes:
    name: its model_dir's basename and its name in tables.
    config: gin file (a name under config/ or a path).
    bindings: gin bindings on top of the config and the shared ones.
    weights: the training loss weights of a fixed-weight model; None for a
      YOTO model.
  """
  name: str
  config: str
  bindings: Sequence[str] = ()
  weights: Optional[Mapping[str, float]] = None

  @property
  def is_yoto(self) -> bool:
    return self.weights is None

  def all_bindings(self, shared: Sequence[str]) -> List[str]:
    """The shared bindings, then the model's own (which win)."""
    return list(shared) + list(self.bindings)


def fixed_model(name: str, config: str,
                weights: Mapping[str, float]) -> ModelSpec:
  """A fixed-weight model trained with `weights` (a literal dict binding,
  from which the analysis reads them back)."""
  weights = {k: float(v) for k, v in weights.items()}
  return ModelSpec(name, config,
                   (f"LinearlyScalarizedOptimizer.weights = {weights!r}",),
                   weights=weights)


def add_arguments(parser, default_model_root: str, default_steps: int,
                  tiny_steps: int = 4, analysis_needs_hub_modules: bool = False
                  ) -> None:
  """The command-line flags every reproduction takes (and --no_export where
  the analysis reads no hub module)."""
  parser.add_argument("--model_root", default=default_model_root,
                      help="The models' model_dirs go to "
                      "MODEL_ROOT/steps<steps>/<model> (kept, so that a rerun "
                      "resumes).")
  parser.add_argument("--steps", type=int, default=None,
                      help=f"Training steps of every model (default "
                      f"{default_steps}; {tiny_steps} with --tiny).")
  parser.add_argument("--seed", type=int, default=0,
                      help="Seed of every model (initialisation, sampling).")
  parser.add_argument("--only", default="",
                      help="Comma-separated model names: train only these "
                      "(the analysis uses whatever is finished).")
  parser.add_argument("--verbose", action="store_true",
                      help="Log the training loop's progress.")
  parser.add_argument("--batch_size", type=int, default=None,
                      help="Training and eval batch (default: the config's; "
                      "a small one with --tiny).")
  parser.add_argument("--eval_steps", type=int, default=None,
                      help="Test batches per evaluation (default: the "
                      "config's; 1 with --tiny).")
  if not analysis_needs_hub_modules:
    parser.add_argument("--no_export", action="store_true",
                        help="Write no hub module per model (the analysis "
                        "needs none; `python -m yoto.main --schedule=eval "
                        "--model_dir=MODEL_ROOT/...` exports one later).")


def steps_and_root(args, default_steps: int, tiny_steps: int = 4):
  """(steps, MODEL_ROOT/steps<steps>) from the parsed flags; turns on
  training logs with --verbose."""
  steps = args.steps or (tiny_steps if args.tiny else default_steps)
  if args.verbose:
    from absl import logging  # pylint: disable=g-import-not-at-top
    logging.set_verbosity(logging.INFO)
  return steps, os.path.join(args.model_root, f"steps{steps}")


def only_names(args) -> Sequence[str]:
  return [n for n in args.only.split(",") if n]


def log_spaced(count: int, low: float, high: float) -> List[float]:
  """`count` values from low to high, evenly spaced in log, 3 significant
  digits (the ends exactly); one value is the geometric centre."""
  if count == 1:
    return [float(f"{math.sqrt(low * high):.3g}")]
  values = np.exp(np.linspace(math.log(low), math.log(high), count))
  values = [float(f"{v:.3g}") for v in values]
  values[0], values[-1] = float(low), float(high)
  return values


def schedule_bindings(steps: int, decay_fractions: Sequence[float],
                      max_loop: int = 200) -> list:
  """Steps, one checkpoint/eval/export at the end, and learning-rate decays
  at the given fractions of the steps (the configs' schedules, rescaled)."""
  boundaries = []
  for fraction in decay_fractions:
    boundaries.append(max(int(fraction * steps),
                          boundaries[-1] + 1 if boundaries else 1))
  return [
      f"experiment.train_steps = {steps}",
      f"experiment.iterations_per_loop = {min(max_loop, steps)}",
      f"experiment.save_checkpoints_steps = {steps}",
      "TrainingParams.lr_decay_steps_str = "
      f"'{','.join(str(b) for b in boundaries)}'"]


def batch_bindings(args, tiny_batch_size: int) -> list:
  """Overrides of the training and eval batch and of the eval batches: the
  flags' values, or the tiny mode's small ones; none by default."""
  batch_size = args.batch_size or (tiny_batch_size if args.tiny else None)
  eval_steps = args.eval_steps or (1 if args.tiny else None)
  bindings = []
  if batch_size:
    bindings += [f"experiment.batch_size = {batch_size}",
                 f"experiment.eval_batch_size = {batch_size}"]
  if eval_steps:
    bindings.append(f"experiment.eval_steps = {eval_steps}")
  return bindings


def is_finished(model_dir: str, steps: int) -> bool:
  """FINISHED written and the final step evaluated on the test split."""
  return (os.path.exists(experiment_lib.finished_path(model_dir)) and
          SPLIT in results.evaluated_steps(model_dir).get(steps, set()))


def finished_dirs(specs: Sequence[ModelSpec], model_root: str, steps: int,
                  yoto: bool) -> Dict[str, str]:
  """name -> model_dir of the finished YOTO (or fixed) models, in order."""
  dirs = {s.name: os.path.join(model_root, s.name) for s in specs
          if s.is_yoto == yoto}
  return {n: d for n, d in dirs.items() if is_finished(d, steps)}


def train(spec: ModelSpec, model_dir: str, bindings: Sequence[str],
          seed: int, export: bool = True) -> float:
  """Trains, evaluates and (if `export`) exports one model in-process;
  returns seconds.

  Like `python -m yoto.main` it saves the parsed config as
  model_dir/config.gin and the resolved settings as run_config.json, where
  the analysis finds a fixed model's weights.
  """
  start = time.time()
  yoto_main.run_in_process(
      model_dir, [common.config_path(spec.config)], bindings,
      runtime=experiment_lib.RuntimeOptions(seed=seed,
                                            export_hub_modules=export))
  seconds = time.time() - start
  with open(os.path.join(model_dir, TIMING_FILE), "w") as f:
    json.dump({"seconds": seconds, "bindings": list(bindings)}, f, indent=2)
  return seconds


def train_all(specs: Sequence[ModelSpec], model_root: str, steps: int,
              shared: Sequence[str], seed: int,
              only: Sequence[str] = (), export: bool = True
              ) -> Dict[str, float]:
  """Trains every unfinished model (exporting a hub module of each if
  `export`); returns name -> training seconds."""
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
      train(spec, model_dir, spec.all_bindings(shared), seed, export)
    timing = os.path.join(model_dir, TIMING_FILE)
    if os.path.exists(timing):
      with open(timing) as f:
        seconds[spec.name] = json.load(f)["seconds"]
      print(f"{spec.name}: {seconds[spec.name]:.0f} s", flush=True)
  return seconds


def restore_state(spec: ModelSpec, model_root: str, shared: Sequence[str],
                  image_shape: Sequence[int],
                  batch_size: Optional[int] = None
                  ) -> trainer_lib.TrainingState:
  """A trained model of the reproduction, rebuilt and restored.

  Built as `train` built it (its config, `shared` and its own bindings),
  for images [B, *image_shape], then restored from the latest checkpoint
  in MODEL_ROOT/<name>.
  """
  model_dir = os.path.join(model_root, spec.name)
  latest = tf.train.latest_checkpoint(model_dir)
  if latest is None:
    raise ValueError(f"{model_dir} holds no checkpoint; train {spec.name} "
                     "first.")
  state = common.build_state(spec.config, spec.all_bindings(shared),
                             image_shape, batch_size)
  state.restore(latest)
  return state


def relative_gap(value, reference):
  """(value - reference) / |reference|: > 0 when `value` is worse."""
  if value is None or reference is None or reference == 0:
    return None
  return (value - reference) / abs(reference)


def mean(values):
  """Mean of the values that are not None; None when there are none."""
  values = [v for v in values if v is not None]
  return sum(values) / len(values) if values else None


def seconds_line(seconds: Mapping[str, float]) -> str:
  return ("Training + evaluation + export time per model (s): " +
          ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()) + "\n")
