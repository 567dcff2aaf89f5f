r"""The price of bit-reproducible training (`--deterministic`), measured.

  python -m benchmarks.determinism_cost           # about 5 minutes
  python -m benchmarks.determinism_cost --tiny    # the VAE config; for tests

TensorFlow's thread pools are set once per process, so every measurement is
a fresh process (`--worker`), default and deterministic alternately,
`--repeats` times each. A worker trains the embedded style-transfer YOTO
config (a batch of eight 64x64 crops) from scratch for STEPS steps twice,
into two model dirs, and prints the SHA-1 of both runs' final weights; then
it times the project's training loop (`Trainer.run_steps`, STEPS steps per
call on an in-memory batch, after one warm-up call) TIMED_CALLS times.

Reports the median step time per mode, the ratio deterministic / default,
and whether each worker's two runs of one seed ended with identical weights.
"""

import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np
import tensorflow as tf

from benchmarks import common
from benchmarks import timing
from yoto import main as yoto_main
from yoto.training import determinism
from yoto.training import experiment
# pylint: enable=g-import-not-at-top,wrong-import-position

# (config, image shape [H, W, C], value range) of the timed batch.
STYLE = ("photo_patches_magenta_style_transfer_yoto.gin", (64, 64, 3), (0, 1))
TINY = ("photo_patches_conv_vae_yoto.gin", (32, 32, 3), (-1, 1))  # Seconds.
STEPS = 4
TIMED_CALLS = 3
BATCH_SIZE = 8
MODES = ("default", "deterministic")
CLOCKS = ("wall", "cpu")


def _parser():
  parser = common.base_parser(__doc__)
  parser.add_argument(
    "--worker",
    default=None,
    metavar="ROOT",
    help="Internal: train in ROOT and print one JSON line.",
  )
  parser.add_argument(
    "--deterministic",
    action="store_true",
    help="With --worker: make the process deterministic first.",
  )
  return parser


def _bindings(steps: int) -> list:
  return [
    f"experiment.train_steps = {steps}",
    "experiment.iterations_per_loop = 1",
    f"experiment.save_checkpoints_steps = {steps}",
    f"experiment.batch_size = {BATCH_SIZE}",
  ]


def weights_digest(model_dir: str) -> str:
  """SHA-1 over the final checkpoint's float tensors, in name order."""
  reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(model_dir))
  dtypes = reader.get_variable_to_dtype_map()
  digest = hashlib.sha1()
  for name in sorted(dtypes):
    if dtypes[name].is_floating:
      digest.update(np.asarray(reader.get_tensor(name)).tobytes())
  return digest.hexdigest()


def _train(model_dir: str, steps: int, tiny: bool, deterministic: bool):
  """Trains the config from scratch in model_dir, as the command line does."""
  yoto_main.run_in_process(
    model_dir,
    [common.config_path((TINY if tiny else STYLE)[0])],
    _bindings(steps),
    schedule="train",
    runtime=experiment.RuntimeOptions(
      seed=0, export_hub_modules=False, deterministic=deterministic
    ),
  )


def train_seed_twice(
  root: str, steps: int, tiny: bool, deterministic: bool
) -> dict:
  """Trains seed 0 twice into ROOT/a and ROOT/b; their weights' digests.
  Call `determinism.enable()` first for a deterministic process."""
  digests = {}
  for name in ("a", "b"):
    _train(os.path.join(root, name), steps, tiny, deterministic)
    digests[f"digest_{name}"] = weights_digest(os.path.join(root, name))
  return digests


def seconds_per_step(steps: int, tiny: bool) -> dict:
  """Median wall and CPU seconds of one step of the training loop."""
  config, image_shape, value_range = TINY if tiny else STYLE
  state = common.build_state(config, (), image_shape, BATCH_SIZE)
  images = common.synthetic_images(BATCH_SIZE, image_shape, value_range)
  with tempfile.TemporaryDirectory() as model_dir:
    trainer = common.make_trainer(state, model_dir, steps)
    run_loop = common.loop_fn(
      trainer, common.in_memory_dataset_fn(images), steps
    )
    times = timing.interleaved({"loop": run_loop}, TIMED_CALLS)
  return {
    clock: timing.median(values["loop"]) / steps
    for clock, values in (("wall", times.wall()), ("cpu", times.cpu()))
  }


def worker(root: str, deterministic: bool, steps: int, tiny: bool) -> dict:
  """`train_seed_twice`, then `seconds_per_step`."""
  if deterministic:  # Importing runs no TF op; the first one comes after.
    determinism.enable()
  result = train_seed_twice(root, steps, tiny, deterministic)
  result["seconds_per_step"] = seconds_per_step(steps, tiny)
  return result


def run_worker(root: str, mode: str, tiny: bool) -> dict:
  """One worker process of `mode`; its JSON line as a dict."""
  command = [sys.executable, "-m", "benchmarks.determinism_cost"]
  command += [f"--worker={root}"] + (["--tiny"] if tiny else [])
  if mode == "deterministic":
    command.append("--deterministic")
  result = subprocess.run(
    command,
    cwd=common.REPO_ROOT,
    capture_output=True,
    text=True,
    check=False,
    env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
  )
  if result.returncode:
    raise RuntimeError(f"The {mode} worker failed:\n{result.stderr[-3000:]}")
  return json.loads(result.stdout.strip().splitlines()[-1])


def summary(runs: dict) -> dict:
  """From {mode: [worker results]}: the median over workers of each clock's
  step time, deterministic / default per clock, and how many workers' two
  runs agreed bit for bit."""
  medians = {
    mode: {
      clock: statistics.median(r["seconds_per_step"][clock] for r in results)
      for clock in CLOCKS
    }
    for mode, results in runs.items()
  }
  return {
    "median_seconds_per_step": medians,
    "deterministic_over_default": {
      clock: medians["deterministic"][clock] / medians["default"][clock]
      for clock in CLOCKS
    },
    "identical_reruns": {
      mode: sum(r["digest_a"] == r["digest_b"] for r in results)
      for mode, results in runs.items()
    },
    "workers": {mode: len(results) for mode, results in runs.items()},
  }


def markdown(result: dict) -> str:
  steps = result["median_seconds_per_step"]
  rows = [
    [
      mode,
      f"{steps[mode]['wall'] * 1000:.0f}",
      f"{steps[mode]['cpu'] * 1000:.0f}",
      f"{result['identical_reruns'][mode]} of {result['workers'][mode]}",
    ]
    for mode in MODES
  ]
  ratio = result["deterministic_over_default"]
  return (
    f"The embedded style-transfer YOTO config, batch {BATCH_SIZE}: one "
    "training step (median over worker processes), and whether a "
    "process's two runs of one seed ended with the same weights:\n\n"
    + common.markdown_table(
      ["mode", "wall ms per step", "CPU ms per step", "identical reruns"],
      rows,
    )
    + f"\nDeterministic / default: {ratio['wall']:.2f}x wall time, "
    f"{ratio['cpu']:.2f}x CPU time.\n"
  )


def main(argv=None):
  args = _parser().parse_args(argv)
  if args.worker:
    steps = 1 if args.tiny else STEPS
    print(json.dumps(worker(args.worker, args.deterministic, steps, args.tiny)))
    return None
  repeats = args.repeats or (1 if args.tiny else 2)
  runs = {mode: [] for mode in MODES}
  with tempfile.TemporaryDirectory() as tmp:
    for repeat in range(repeats):
      for mode in MODES:
        root = os.path.join(tmp, f"{mode}{repeat}")
        runs[mode].append(run_worker(root, mode, args.tiny))
  result = {**summary(runs), "runs": runs}
  common.write_results(
    "determinism_cost", args.out_dir, result, markdown(result), argv
  )
  return result


if __name__ == "__main__":
  main()
