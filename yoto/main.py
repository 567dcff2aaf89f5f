r"""Train, evaluate and export YOTO models.

  python -m yoto.main --model_dir=/tmp/yoto_vae \
      --gin_config=config/photo_patches_conv_vae_yoto.gin \
      --schedule=train_and_eval

`train` trains (resuming from the latest checkpoint), `eval` follows the
checkpoints of a run until it is FINISHED, evaluating each at the config's
`eval_weights` and exporting a hub module for it, and `train_and_eval` does
both in one process. Without --gin_config, the config saved in model_dir by
the training run is used.
"""

import contextlib
import logging as pylogging
import os
import sys
import tempfile

from absl import app
from absl import flags
from absl import logging
import gin

from yoto import configurables
from yoto.training import determinism
from yoto.training import experiment as experiment_lib
from yoto.training import run_lock
from yoto.training import strategy as strategy_lib
from yoto.utils import arguments

COMMAND = "yoto.main"
FLAGS = flags.FLAGS
CONFIG_FILE = "config.gin"
OPERATIVE_CONFIG_FILE = "operative_config.gin"

flags.DEFINE_string(
  "model_dir",
  None,
  "Directory for checkpoints, summaries, metrics and hub modules. Required.",
)
flags.DEFINE_enum(
  "schedule",
  "train",
  experiment_lib.SCHEDULES,
  "What to run: train, eval (follow checkpoints until the run "
  "is FINISHED) or train_and_eval.",
)
flags.DEFINE_multi_string(
  "gin_config",
  [],
  "Gin config file; repeat to combine several. "
  "Defaults to model_dir/config.gin of an earlier "
  "training run.",
)
flags.DEFINE_multi_string(
  "gin_bindings",
  [],
  "Gin binding such as 'experiment.train_steps=100'; "
  "repeatable, applied after the config files.",
)
flags.DEFINE_enum(
  "strategy",
  "default",
  strategy_lib.STRATEGIES,
  "tf.distribute strategy: default, one_device, mirrored "
  "(all local GPUs, or all logical CPUs), "
  "multi_worker_mirrored (cluster from TF_CONFIG) or tpu.",
)
flags.DEFINE_bool(
  "use_tpu",
  False,
  "Run on a TPU (as in the original code); same as --strategy=tpu.",
)
flags.DEFINE_string(
  "master",
  None,
  "TPU address (grpc://...) for --use_tpu, as in the original code.",
)
flags.DEFINE_string("tpu", None, "TPU name or address; alias of --master.")
flags.DEFINE_integer(
  "seed",
  0,
  "Random seed: loss-weight sampling, the VAE's sampling "
  "and data shuffling all derive from it.",
)
flags.DEFINE_integer(
  "validation_percent",
  20,
  "Percent of the training split held out as 'valid' "
  "(train[:p%]); training uses train[p%:].",
)
flags.DEFINE_string(
  "data_dir",
  None,
  "tensorflow_datasets data directory holding prepared "
  "datasets (default: ~/tensorflow_datasets).",
)
flags.DEFINE_bool(
  "export",
  True,
  "Export a TF-Hub module of every evaluated checkpoint "
  "(model_dir/hub_modules/step-N); --noexport only "
  "evaluates (a later --schedule=eval run can still "
  "export).",
)
flags.DEFINE_bool(
  "deterministic",
  False,
  "Bit-reproducible training: the same --seed gives the same weights "
  "(one CPU thread for TensorFlow's ops and TF op determinism; slower "
  "on an idle multi-core CPU). See yoto/training/determinism.py.",
)
flags.DEFINE_float(
  "eval_timeout_secs",
  3600.0,
  "--schedule=eval stops after this long without a new checkpoint.",
)


class UserError(Exception):
  """A problem with the command line or config, reported without traceback."""


def _config_files(model_dir):
  files = list(FLAGS.gin_config)
  if not files:
    saved = os.path.join(model_dir, CONFIG_FILE)
    if not os.path.exists(saved):
      raise UserError(
        f"No --gin_config given and {saved} does not exist. Pass the "
        "experiment's config, e.g. "
        "--gin_config=config/photo_patches_conv_vae_yoto.gin."
      )
    files = [saved]
  for path in files:
    if not os.path.isfile(path):
      raise UserError(
        f"Gin config file {path!r} does not exist (working "
        f"directory: {os.getcwd()})."
      )
  return files


def parse_config(files, bindings):
  """Parses gin files and bindings, turning gin's errors into UserErrors."""
  configurables.register()
  for path in files:  # So that `include 'x.gin'` finds its neighbours.
    gin.add_config_file_search_path(os.path.dirname(os.path.abspath(path)))
  root_logger = pylogging.getLogger()
  root_logger.addFilter(_quiet_gin_search)
  try:
    gin.parse_config_files_and_bindings(files, bindings, finalize_config=False)
  except (ValueError, KeyError, SyntaxError, ImportError, OSError) as e:
    raise UserError(
      f"Invalid gin config ({', '.join(files)}; bindings {bindings}): {e}"
    ) from None
  finally:
    root_logger.removeFilter(_quiet_gin_search)


def _quiet_gin_search(record) -> bool:
  """Drops gin's 'Path not found' errors: they are tries of search paths."""
  return not record.getMessage().startswith("Path not found")


def _check_writable(model_dir):
  try:
    os.makedirs(model_dir, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=model_dir):
      pass
  except OSError as e:
    raise UserError(
      f"--model_dir={model_dir} is not writable: {e}. Choose another directory."
    ) from None


def save_config(model_dir):
  """Writes the parsed config (includes resolved) to model_dir/config.gin,
  atomically, for eval, resume and the analysis of fixed-weight runs."""
  target = os.path.join(model_dir, CONFIG_FILE)
  tmp = target + ".tmp"
  with open(tmp, "w") as f:
    f.write(gin.config_str())
  os.replace(tmp, target)


def _make_strategy():
  name = FLAGS.strategy
  address = FLAGS.tpu or FLAGS.master
  if FLAGS.use_tpu:
    name = "tpu"
  try:
    return strategy_lib.make_strategy(name, tpu_address=address)
  except (ValueError, RuntimeError) as e:
    raise UserError(f"Could not create the {name!r} strategy: {e}") from None


def run(model_dir, schedule):
  """Runs one schedule from the flags; returns the ExperimentResult."""
  _check_writable(model_dir)
  files = _config_files(model_dir)
  parse_config(files, list(FLAGS.gin_bindings))
  runtime = experiment_lib.RuntimeOptions(
    strategy=_make_strategy(),
    seed=FLAGS.seed,
    validation_percent=FLAGS.validation_percent,
    data_dir=FLAGS.data_dir,
    eval_timeout_secs=FLAGS.eval_timeout_secs,
    export_hub_modules=FLAGS.export,
    deterministic=FLAGS.deterministic,
  )
  return run_parsed(model_dir, schedule, runtime)


def run_parsed(model_dir, schedule, runtime):
  """Runs the parsed gin config's experiment in model_dir.

  Like every run of the command line, it saves the config as
  model_dir/config.gin first (not for `eval`; only the chief writes) and
  the operative config afterwards. A training schedule holds model_dir's
  lock file while it runs (the chief only; see `yoto.training.run_lock`).

  Raises:
    run_lock.ModelDirLockedError: if another live process trains model_dir.

  Returns:
    The ExperimentResult.
  """
  chief = strategy_lib.is_chief(runtime.strategy)
  trains = schedule != "eval"
  # One training job per model_dir: refused before anything is written.
  with (
    run_lock.held(model_dir) if trains and chief else contextlib.nullcontext()
  ):
    if trains and chief:
      save_config(model_dir)
    experiment = configurables.register()
    try:
      result = experiment(
        model_dir=model_dir, schedule=schedule, runtime=runtime
      )
    finally:
      if chief:
        with open(os.path.join(model_dir, OPERATIVE_CONFIG_FILE), "w") as f:
          f.write(gin.operative_config_str())
  return result


def run_in_process(
  model_dir, config_files, bindings=(), schedule="train_and_eval", runtime=None
):
  """`python -m yoto.main` as a function, for scripts and tests: parses
  `config_files` and `bindings` into a fresh gin config, runs `schedule` in
  model_dir (created if needed) and clears the config again.

  Returns:
    The ExperimentResult.
  """
  gin.clear_config()
  try:
    parse_config(list(config_files), list(bindings))
    os.makedirs(model_dir, exist_ok=True)
    return run_parsed(
      model_dir, schedule, runtime or experiment_lib.RuntimeOptions()
    )
  finally:
    gin.clear_config()


def _draw_after_run_plot(result):
  """The plot the run's problem asks for (`Problem.after_run_plot`, e.g. the
  β-VAE's Figure-3-style grid), drawn from the run's last hub module across
  the loss weights it was trained on (best effort).

  Returns:
    The paths written: none when the run is unconditioned, its problem asks
    for no plot, or the plot failed (the run itself succeeded; the failure
    is logged).
  """
  from yoto import plot  # pylint: disable=g-import-not-at-top

  if not (
    result.chief
    and result.hub_module
    and result.conditioned
    and result.after_run_plot
  ):
    return []
  args = [result.after_run_plot, f"--module={result.hub_module}"]
  if FLAGS.data_dir:
    args.append(f"--data_dir={FLAGS.data_dir}")
  try:
    return plot.draw(args)
  except Exception:  # pylint: disable=broad-except
    logging.warning(
      "Could not draw the %r plot.", result.after_run_plot, exc_info=True
    )
  return []


def _print_summary(result, plots=()):
  lines = [
    f"yoto: done ({FLAGS.schedule}) at step {result.final_step}.",
    f"  model_dir:     {result.model_dir}",
    f"  checkpoints:   {result.model_dir}/ckpt-*",
  ]
  if result.metrics_file and os.path.exists(result.metrics_file):
    lines.append(f"  eval metrics:  {result.metrics_file}")
  if result.hub_module:
    lines.append(f"  hub module:    {result.hub_module}")
  lines.extend(f"  plot:          {path}" for path in plots)
  lines.append(f"  TensorBoard:   tensorboard --logdir {result.model_dir}")
  print("\n".join(lines), flush=True)


def _user_error_types():
  from yoto.training import trainer  # pylint: disable=g-import-not-at-top
  from yoto.utils import data_sources  # pylint: disable=g-import-not-at-top
  from yoto.training import checkpoints  # pylint: disable=g-import-not-at-top

  return (
    UserError,
    determinism.DeterminismError,
    trainer.NonFiniteLossError,
    checkpoints.NoReadableCheckpointError,
    run_lock.ModelDirLockedError,
    data_sources.DatasetNotAvailableError,
    OSError,
    ValueError,
  )


def _parse_flags(argv):
  """absl's flag parsing, with the yoto error line for a bad flag."""
  try:
    return FLAGS(argv)
  except flags.Error as e:
    sys.exit(arguments.report(COMMAND, e))


def main(argv):
  try:
    if len(argv) > 1:
      raise UserError(
        f"Unexpected arguments: {' '.join(argv[1:])}; pass "
        "everything as --flag=value (see --help)."
      )
    if not FLAGS.model_dir:
      raise UserError("--model_dir is required (see --help).")
    if FLAGS.deterministic:  # Before TensorFlow runs its first op.
      determinism.enable()
    result = run(FLAGS.model_dir, FLAGS.schedule)
  except _user_error_types() as e:
    logging.debug("Failure details", exc_info=True)
    sys.exit(arguments.report(COMMAND, e))
  plots = _draw_after_run_plot(result) if FLAGS.schedule != "train" else []
  _print_summary(result, plots)


if __name__ == "__main__":
  app.run(main, flags_parser=_parse_flags)
