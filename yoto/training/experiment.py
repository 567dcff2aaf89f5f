"""`experiment`: wires problem, optimizers, data and the schedules together.

This is the function the configs bind (`experiment.batch_size = 128`, ...);
its arguments keep the original names. Runtime choices that are not part of a
config (strategy, seed, data_dir, validation split) arrive as `RuntimeOptions`
from the command line.

Schedules:
  train           train to `train_steps` (resuming), then write FINISHED.
  eval            follow checkpoints in model_dir until FINISHED is seen and
                  every checkpoint is evaluated and exported.
  train_and_eval  train, evaluating and exporting each checkpoint as written.

Exporting can be turned off (`RuntimeOptions.export_hub_modules`, `--noexport`)
when only the eval metrics are wanted.
"""

import dataclasses
import os
import time
from typing import Callable, Dict, Optional

from absl import logging
import tensorflow as tf

from yoto import results
from yoto import run_config
from yoto.clients import paths as module_paths
from yoto.training import checkpoints
from yoto.training import determinism
from yoto.training import evaluator as evaluator_lib
from yoto.training import export as export_lib
from yoto.training import precision
from yoto.training import strategy as strategy_lib
from yoto.training import trainer as trainer_lib
from yoto.training import training_state as state_lib
from yoto.utils import data
from yoto.utils import data_sources
from yoto.utils import preprocessing
from yoto.weights import distributions

SCHEDULES = ("train", "eval", "train_and_eval")
FINISHED_FILE = "FINISHED"


@dataclasses.dataclass
class RuntimeOptions:
  """Command-line choices that are not part of an experiment's config."""

  strategy: Optional[tf.distribute.Strategy] = None
  seed: int = 0
  validation_percent: int = 20
  data_dir: Optional[str] = None
  eval_timeout_secs: float = 3600.0
  eval_poll_secs: float = 5.0
  # False: evaluate each checkpoint but write no hub module (cheaper when
  # only the metrics are wanted; `--schedule=eval` can export later).
  export_hub_modules: bool = True
  # True: export only the final step's module (learning curves that are
  # evaluated often and analysed from the last module only).
  export_final_only: bool = False
  # True: the process was made bit-reproducible (`determinism.enable()`,
  # --deterministic) and the run checks that it was; see
  # `yoto.training.determinism`.
  deterministic: bool = False


@dataclasses.dataclass
class ExperimentResult:
  """Where a run left its artifacts."""

  model_dir: str
  final_step: int = 0
  hub_module: Optional[str] = None
  metrics_file: Optional[str] = None
  evaluated_steps: list = dataclasses.field(default_factory=list)
  train_history: list = dataclasses.field(default_factory=list)
  problem: str = ""
  conditioned: bool = False
  after_run_plot: Optional[str] = None  # The problem's; see `Problem`.
  chief: bool = True


def finished_path(model_dir: str) -> str:
  return os.path.join(model_dir, FINISHED_FILE)


def eval_splits(eval_on_test: bool) -> Dict[str, data_sources.DatasetSplit]:
  if eval_on_test:
    return {
      "train_full": data_sources.DatasetSplit.TRAIN_FULL,
      "test": data_sources.DatasetSplit.TEST,
    }
  return {
    "train": data_sources.DatasetSplit.TRAIN,
    "valid": data_sources.DatasetSplit.VALID,
  }


@precision.with_policy_argument  # Builds everything under that policy.
def experiment(
  model_dir: str,
  schedule: str,
  problem_class: Callable = None,
  optimizer_class: Callable = None,
  dataset_name: str = None,
  batch_size: int = None,
  eval_batch_size: int = 64,
  train_steps: int = None,
  eval_steps: int = None,
  base_optimizer_class: Callable = None,
  base_optimizer_conditioning_class: Optional[Callable] = None,
  iterations_per_loop: int = 100,
  eval_weights=None,
  eval_num_samples: int = 10,
  training_params_class: Callable = None,
  training_params_conditioning_class: Optional[Callable] = None,
  preprocess: str = "",
  preprocess_eval: str = "",
  save_checkpoints_steps: Optional[int] = None,
  keep_checkpoint_max: int = 0,
  checkpoint_input_pipeline: bool = True,
  eval_on_test: bool = False,
  mixed_precision_policy: Optional[str] = None,
  runtime: Optional[RuntimeOptions] = None,
) -> ExperimentResult:
  """Runs one schedule of one experiment; see the module docstring.

  `mixed_precision_policy` ('mixed_float16', 'mixed_bfloat16' or None for
  float32) is the Keras policy the networks are built and trained under;
  see `yoto.training.precision`.
  """
  required = dict(
    problem_class=problem_class,
    optimizer_class=optimizer_class,
    dataset_name=dataset_name,
    batch_size=batch_size,
    train_steps=train_steps,
    eval_steps=eval_steps,
    base_optimizer_class=base_optimizer_class,
    training_params_class=training_params_class,
  )
  missing = [k for k, v in required.items() if v is None]
  if missing:
    raise ValueError(
      "The config does not set "
      + ", ".join(f"experiment.{k}" for k in missing)
      + "."
    )
  if schedule not in SCHEDULES:
    raise ValueError(
      f"Unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}."
    )
  runtime = runtime or RuntimeOptions()
  determinism.check(runtime.deterministic)
  # Seeds Python, NumPy and TF: initial weights are reproducible from --seed.
  tf.keras.utils.set_random_seed(runtime.seed)
  strategy = runtime.strategy or tf.distribute.get_strategy()
  loop = trainer_lib.LoopConfig(
    train_steps=train_steps,
    global_batch_size=batch_size,
    iterations_per_loop=iterations_per_loop,
    save_checkpoints_steps=save_checkpoints_steps,
    keep_checkpoint_max=keep_checkpoint_max,
    seed=runtime.seed,
    checkpoint_input_pipeline=checkpoint_input_pipeline,
  )
  if batch_size % strategy.num_replicas_in_sync:
    raise ValueError(
      f"experiment.batch_size={batch_size} is not divisible by the "
      f"{strategy.num_replicas_in_sync} replicas of the strategy."
    )

  problem = problem_class()
  precision.check_problem(problem)
  mlo = optimizer_class(problem, batch_size=batch_size)
  train_fn = _dataset_fn(
    dataset_name,
    data_sources.DatasetSplit.TRAIN,
    batch_size,
    preprocess,
    runtime,
    training=True,
  )
  split_fns = {
    name: _dataset_fn(
      dataset_name,
      split,
      eval_batch_size,
      preprocess_eval,
      runtime,
      training=False,
    )
    for name, split in eval_splits(eval_on_test).items()
  }
  element_spec = train_fn(tf.distribute.InputContext()).element_spec
  _check_eval_spec(element_spec, split_fns)

  state = state_lib.TrainingState(
    strategy,
    mlo,
    element_spec,
    base_optimizer_class,
    training_params_class(),
    base_optimizer_conditioning_class,
    training_params_conditioning_class()
    if training_params_conditioning_class
    else None,
  )
  weights = _eval_weights(eval_weights, eval_num_samples, mlo)
  chief = strategy_lib.is_chief(strategy)
  if chief and schedule != "eval":
    run_config.write(
      model_dir,
      run_config.RunConfig(
        problem=type(problem).__name__,
        optimizer=type(mlo).__name__,
        model="yoto" if mlo.conditioning.is_conditioned else "fixed",
        loss_names=mlo.losses_names,
        train_weights=mlo.conditioning.fixed_weights,
        train_distribution=_train_distribution(mlo),
        eval_weights=tuple(weights),
        dataset_name=dataset_name,
        preprocess=preprocess,
        preprocess_eval=preprocess_eval,
        batch_size=batch_size,
        eval_batch_size=eval_batch_size,
        train_steps=train_steps,
        eval_steps=eval_steps,
        eval_on_test=eval_on_test,
        seed=runtime.seed,
        validation_percent=runtime.validation_percent,
        deterministic=runtime.deterministic,
      ),
    )
  # Every worker takes part in evaluation (it runs collectives under
  # MultiWorkerMirroredStrategy); only the chief writes and exports.
  evaluator = evaluator_lib.Evaluator(
    strategy,
    mlo,
    weights,
    split_fns,
    eval_steps,
    model_dir if chief else None,
    model_kind="yoto" if mlo.conditioning.is_conditioned else "fixed",
  )
  result = ExperimentResult(
    model_dir,
    metrics_file=results.metrics_path(model_dir),
    problem=type(problem).__name__,
    after_run_plot=problem.after_run_plot,
    conditioned=mlo.conditioning.is_conditioned,
    chief=chief,
  )

  def evaluate_and_export(step):
    export = (
      chief
      and runtime.export_hub_modules
      and (step >= train_steps or not runtime.export_final_only)
    )
    _evaluate_once(state, evaluator, model_dir, step, result, export=export)

  if schedule in ("train", "train_and_eval"):
    trainer = trainer_lib.Trainer(state, loop, model_dir)
    on_checkpoint = (
      evaluate_and_export if schedule == "train_and_eval" else None
    )
    result.final_step = trainer.train(train_fn, on_checkpoint=on_checkpoint)
    result.train_history = trainer.history
    if (
      schedule == "train_and_eval"
      and result.final_step not in result.evaluated_steps
    ):
      evaluate_and_export(result.final_step)  # Resumed after the last save.
    if chief:
      with open(finished_path(model_dir), "w") as f:
        f.write(f"{result.final_step}\n")
  else:
    for path in follow_checkpoints(
      model_dir, runtime.eval_timeout_secs, runtime.eval_poll_secs
    ):
      problem = checkpoints.damage(path)
      if problem is not None:
        logging.warning(
          "Skipping checkpoint %s, which cannot be read: %s.", path, problem
        )
        continue
      step = state.restore(path)
      evaluate_and_export(step)
      result.final_step = step
  result.hub_module = module_paths.latest_hub_module(model_dir)
  return result


def _evaluate_once(state, evaluator, model_dir, step, result, export):
  """Evaluates `step` unless already done; exports it if `export` (and not
  already exported)."""
  done = results.evaluated_steps(model_dir).get(step, set())
  if not set(evaluator.split_dataset_fns) <= done:
    evaluator.evaluate(step)
  if export:
    export_lib.export_hub_module(
      state.problem,
      state.multi_loss_optimizer.conditioning,
      module_paths.hub_module_path(model_dir, step),
    )
  result.evaluated_steps.append(step)


def _dataset_fn(
  dataset_name, split, global_batch_size, pipeline, runtime, training
):
  preprocess_fn = preprocessing.get_preprocess_fn(pipeline)

  def dataset_fn(input_context: tf.distribute.InputContext):
    return data.get_dataset(
      dataset_name,
      split,
      runtime.validation_percent,
      input_context.get_per_replica_batch_size(global_batch_size),
      preprocess_fn,
      shuffle=training,
      repeat=training,
      data_dir=runtime.data_dir,
      seed=runtime.seed,
      input_context=input_context,
      drop_remainder=True,
    )

  return dataset_fn


def _check_eval_spec(train_spec, split_fns):
  for name, fn in split_fns.items():
    spec = fn(tf.distribute.InputContext()).element_spec
    for key, value in train_spec.items():
      if key not in spec or spec[key].shape[1:] != value.shape[1:]:
        got = spec[key].shape[1:] if key in spec else "missing"
        raise ValueError(
          f"Eval split {name!r} gives {key!r} of shape {got} but training "
          f"gives {value.shape[1:]}; make experiment.preprocess_eval "
          "produce the same shapes as experiment.preprocess."
        )


def _eval_weights(eval_weights, eval_num_samples, mlo):
  """The list of weight dicts to evaluate at."""
  names = mlo.losses_names
  if eval_weights is None:
    if mlo.conditioning.is_conditioned:
      eval_weights = mlo.train_distribution_spec
    else:
      return [dict(mlo.conditioning.fixed_weights)]
  return distributions.get_samples_as_dicts(
    eval_weights, num_samples=eval_num_samples, names=names, seed=17
  )


def _train_distribution(mlo) -> Optional[dict]:
  """A YOTO model's training distribution as JSON-ready values."""
  conditioning = mlo.conditioning
  if not conditioning.is_conditioned:
    return None
  return {
    "type": mlo.train_distribution_spec.distribution_type.name,
    "preprocessing": conditioning.preprocessing,
    "ranges": {k: list(v) for k, v in conditioning.ranges.items()},
  }


def follow_checkpoints(
  model_dir: str, timeout_secs: float, poll_secs: float = 5.0
):
  """Yields every checkpoint of model_dir in order, waiting for new ones.

  Stops once FINISHED exists and every listed checkpoint was yielded, or
  when no new checkpoint appeared for `timeout_secs`.
  """
  yielded = set()
  last_new = time.time()

  def pending():
    state = tf.train.get_checkpoint_state(model_dir)
    paths = list(state.all_model_checkpoint_paths) if state else []
    return [p for p in paths if p not in yielded]

  def should_stop():
    if pending():
      return False
    return (
      os.path.exists(finished_path(model_dir))
      or time.time() - last_new > timeout_secs
    )

  for _ in tf.train.checkpoints_iterator(
    model_dir, min_interval_secs=0, timeout=poll_secs, timeout_fn=should_stop
  ):
    for path in pending():
      yielded.add(path)
      last_new = time.time()
      yield path
    if os.path.exists(finished_path(model_dir)) and not pending():
      return
  for path in pending():  # Written between the last poll and FINISHED.
    yielded.add(path)
    yield path
  if not yielded:
    logging.warning(
      "No checkpoint appeared in %s within %.0f s.", model_dir, timeout_secs
    )
