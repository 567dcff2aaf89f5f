"""Training a set of models for a reduced-scale reproduction, resumably.

Every reproduction script (β-VAE, compression, style transfer) compares one
or more YOTO models with fixed-weight models trained for the same number of
steps. This module trains such a set, once per seed: each model in-process
by `experiment` with `schedule='train_and_eval'` (what `python -m yoto.main`
runs), checkpointed and evaluated on the test split at every eval weight
`--evals` times during the run (the learning curves), so each ends with
eval rows in model_dir/metrics.jsonl and, unless --no_export, a hub module.

Model_dirs are MODEL_ROOT/steps<steps>/seed<seed>/<model>. A model_dir with
FINISHED and eval rows at the final step is skipped, and an unfinished one
resumes from its last checkpoint, so rerunning a script (in chunks of
`--max_minutes`) continues an interrupted reproduction; the wall and CPU
seconds of every model are kept in model_dir/reproduce_timing.json.
`benchmarks.seed_comparison` reads it all back. Where the analysis can do
without a model's weights, a script keeps a ledger (`run_ledger`, --ledger):
the finished models' small files, committed, so that the next session (a
fresh machine) goes on where this one stopped.
"""

import dataclasses
import difflib
import json
import math
import os
import time
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import gin
import numpy as np
import tensorflow as tf

from benchmarks import common
from benchmarks import run_ledger
from yoto import main as yoto_main
from yoto import results
from yoto.training import determinism
from yoto.training import experiment as experiment_lib
from yoto.training import training_state as state_lib

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
    steps: its own number of training steps (its bindings then carry its
      schedule); None trains the reproduction's steps.
  """

  name: str
  config: str
  bindings: Sequence[str] = ()
  weights: Optional[Mapping[str, float]] = None
  steps: Optional[int] = None

  @property
  def is_yoto(self) -> bool:
    return self.weights is None

  def all_bindings(self, shared: Sequence[str]) -> List[str]:
    """The shared bindings, then the model's own (which win)."""
    return list(shared) + list(self.bindings)


def fixed_model(
  name: str, config: str, weights: Mapping[str, float]
) -> ModelSpec:
  """A fixed-weight model trained with `weights` (a literal dict binding,
  from which the analysis reads them back)."""
  weights = {k: float(v) for k, v in weights.items()}
  return ModelSpec(
    name,
    config,
    (f"LinearlyScalarizedOptimizer.weights = {weights!r}",),
    weights=weights,
  )


def add_arguments(
  parser,
  default_model_root: str,
  default_steps: Optional[int],
  tiny_steps: int = 4,
  analysis_needs_hub_modules: bool = False,
  default_seeds: int = 3,
  default_evals: int = 8,
  keeps_ledger: bool = False,
) -> None:
  """The command-line flags every reproduction takes (and --no_export where
  the analysis reads no hub module, --ledger where it keeps one)."""
  parser.add_argument(
    "--model_root",
    default=default_model_root,
    help="The models' model_dirs go to "
    "MODEL_ROOT/steps<steps>/<model> (kept, so that a rerun "
    "resumes).",
  )
  parser.add_argument(
    "--steps",
    type=int,
    default=None,
    help="Training steps of every model (default "
    + (f"{default_steps}" if default_steps else "the setting's")
    + f"; {tiny_steps} with --tiny).",
  )
  parser.add_argument(
    "--seed",
    type=int,
    default=0,
    help="The first seed (initialisation, sampling); "
    "--seeds=N trains seeds SEED .. SEED+N-1.",
  )
  parser.add_argument(
    "--seeds",
    type=int,
    default=default_seeds,
    help=f"Seeds per model, fixed and YOTO alike (default {default_seeds}).",
  )
  parser.add_argument(
    "--evals",
    type=int,
    default=default_evals,
    help="Evaluations per run, evenly spaced: the "
    "learning curves and the convergence statement.",
  )
  parser.add_argument(
    "--name",
    default="",
    help="A name for this variant of the results: files "
    "are <script>_<name>.{json,md,png} (default: "
    "<script>_steps<steps> unless the default steps).",
  )
  parser.add_argument(
    "--max_minutes",
    type=float,
    default=None,
    help="Start no new model after this many minutes "
    "(a chunk of a long reproduction; rerun to go on).",
  )
  parser.add_argument(
    "--only",
    default="",
    help="Comma-separated model names: train only these "
    "(the analysis uses whatever is finished).",
  )
  parser.add_argument(
    "--reuse",
    default="",
    help="Comma-separated model names used as found in MODEL_ROOT even "
    "if they were trained with another config than this run's (e.g. "
    "the YOTO models a variant of the fixed models' setting shares with "
    "the main run). Any other model whose saved config differs is an "
    "error, not silently reused.",
  )
  parser.add_argument(
    "--verbose", action="store_true", help="Log the training loop's progress."
  )
  parser.add_argument(
    "--deterministic",
    action="store_true",
    help="Bit-reproducible training: a rerun of a seed gives the same "
    "weights (one CPU thread for TensorFlow's ops and TF op determinism; "
    "see yoto/training/determinism.py). Recorded in each model's "
    "run_config.json.",
  )
  parser.add_argument(
    "--batch_size",
    type=int,
    default=None,
    help="Training and eval batch (default: the config's; "
    "a small one with --tiny).",
  )
  parser.add_argument(
    "--gin_bindings",
    action="append",
    default=[],
    help="A gin binding for every model, fixed and YOTO, "
    "after the config's and the reproduction's own (a "
    "setting of the whole reproduction; give it its own "
    "--model_root and --name). Repeat for several.",
  )
  parser.add_argument(
    "--eval_steps",
    type=int,
    default=None,
    help="Test batches per evaluation (default: the config's; 1 with --tiny).",
  )
  if keeps_ledger:
    parser.add_argument(
      "--ledger",
      default=None,
      help="Where the finished models' small files are kept across "
      "sessions (run_ledger; default OUT_DIR/ledgers/<results "
      "name>/steps<steps>; 'none' keeps none). Models found there are "
      "not trained again.",
    )
  if not analysis_needs_hub_modules:
    parser.add_argument(
      "--no_export",
      action="store_true",
      help="Write no hub module per model (the analysis "
      "needs none; `python -m yoto.main --schedule=eval "
      "--model_dir=MODEL_ROOT/...` exports one later).",
    )


def prepare_process(args) -> None:
  """The process-wide settings of the parsed flags, made before TensorFlow
  runs its first op: training logs with --verbose, bit-reproducible
  training with --deterministic."""
  if args.deterministic:
    determinism.enable()
  if args.verbose:
    from absl import logging  # pylint: disable=g-import-not-at-top

    logging.set_verbosity(logging.INFO)


def steps_and_root(args, default_steps: int, tiny_steps: int = 4):
  """(steps, MODEL_ROOT/steps<steps>) from the parsed flags."""
  steps = args.steps or (tiny_steps if args.tiny else default_steps)
  return steps, os.path.join(args.model_root, f"steps{steps}")


def seeds(args) -> List[int]:
  """The seeds of every model: SEED .. SEED + SEEDS - 1."""
  return list(range(args.seed, args.seed + max(1, args.seeds)))


def results_name(script: str, args, steps: int, default_steps: int) -> str:
  """`script`, `script_<name>` or, for non-default steps, `script_steps<N>`."""
  if args.name:
    return f"{script}_{args.name}"
  if args.tiny or steps == default_steps:
    return script
  return f"{script}_steps{steps}"


def ledger_dir(args, name: str, steps: int) -> Optional[str]:
  """The --ledger directory (None for 'none'): by default, beside the
  results, one per results name and step count."""
  if args.ledger == "none":
    return None
  return args.ledger or os.path.join(
    args.out_dir, "ledgers", name, f"steps{steps}"
  )


def seed_dir(model_root: str, seed: int) -> str:
  return os.path.join(model_root, f"seed{seed}")


def variant_names(text: str, variants: Mapping[str, object]) -> List[str]:
  """The --variants flag: comma-separated names of `variants`, or 'all';
  SystemExit naming the unknown ones and the choices."""
  names = list(variants) if text == "all" else [n for n in text.split(",") if n]
  unknown = [n for n in names if n not in variants]
  if unknown:
    raise SystemExit(
      f"Unknown --variants {', '.join(unknown)}; choose from "
      f"{', '.join(variants)} or 'all'."
    )
  return names


def constant_bindings(*bindings: str) -> Callable[..., List[str]]:
  """A variant's bindings that depend on nothing the script passes."""
  return lambda *unused: list(bindings)


def balanced_variant(weight: str) -> Tuple[str, Callable[..., List[str]]]:
  """The `yoto_balanced` variant of a reproduction whose loss weight is
  written `weight` (β, λ): (description, bindings)."""
  return (
    f"each example's loss divided by the expected loss at its {weight}, "
    "fitted online (YotoOptimizer.balance_loss_scale)",
    constant_bindings("YotoOptimizer.balance_loss_scale = True"),
  )


def combine_variants(variants: Dict[str, tuple], name: str, *parts: str):
  """Adds `variants[name]`: the bindings of the variants `parts`, in that
  order (each a (description, bindings function) pair, whatever arguments
  the reproduction passes its bindings functions)."""
  missing = [p for p in parts if p not in variants]
  if missing:
    raise ValueError(f"{name} combines unknown variants {missing}.")
  bindings = [variants[p][1] for p in parts]
  variants[name] = (
    " and ".join(parts) + " together",
    lambda *args: [b for function in bindings for b in function(*args)],
  )


def only_names(args) -> Sequence[str]:
  return [n for n in args.only.split(",") if n]


def reuse_names(args) -> Sequence[str]:
  return [n for n in args.reuse.split(",") if n]


def log_spaced(count: int, low: float, high: float) -> List[float]:
  """`count` values from low to high, evenly spaced in log, 3 significant
  digits (the ends exactly); one value is the geometric centre."""
  if count == 1:
    return [float(f"{math.sqrt(low * high):.3g}")]
  values = np.exp(np.linspace(math.log(low), math.log(high), count))
  values = [float(f"{v:.3g}") for v in values]
  values[0], values[-1] = float(low), float(high)
  return values


def schedule_bindings(
  steps: int,
  decay_fractions: Sequence[float],
  evals: int = 8,
  max_loop: int = 200,
) -> list:
  """Steps, `evals` evenly spaced checkpoints (each evaluated, the last at
  the end; two kept), and learning-rate decays at the given fractions of the steps
  (the configs' schedules, rescaled)."""
  boundaries = []
  for fraction in decay_fractions:
    boundaries.append(
      max(int(fraction * steps), boundaries[-1] + 1 if boundaries else 1)
    )
  save_every = max(1, -(-steps // max(1, evals)))
  return [
    f"experiment.train_steps = {steps}",
    # Each checkpoint is evaluated as it is written; the last two are
    # enough to resume (one if the latest is damaged).
    "experiment.keep_checkpoint_max = 2",
    f"experiment.iterations_per_loop = {min(max_loop, save_every)}",
    f"experiment.save_checkpoints_steps = {save_every}",
    "TrainingParams.lr_decay_steps_str = "
    f"'{','.join(str(b) for b in boundaries)}'",
  ]


def override_bindings(args, tiny_batch_size: int) -> list:
  """Overrides every model gets last: the training and eval batch and the
  eval batches (the flags' values, or the tiny mode's small ones), then the
  --gin_bindings flags; none by default."""
  batch_size = args.batch_size or (tiny_batch_size if args.tiny else None)
  eval_steps = args.eval_steps or (1 if args.tiny else None)
  bindings = []
  if batch_size:
    bindings += [
      f"experiment.batch_size = {batch_size}",
      f"experiment.eval_batch_size = {batch_size}",
    ]
  if eval_steps:
    bindings.append(f"experiment.eval_steps = {eval_steps}")
  return bindings + list(args.gin_bindings or ())


def is_finished(model_dir: str, steps: int) -> bool:
  """FINISHED written and the final step evaluated on the test split."""
  return os.path.exists(
    experiment_lib.finished_path(model_dir)
  ) and SPLIT in results.evaluated_steps(model_dir).get(steps, set())


def finished_dirs(
  specs: Sequence[ModelSpec], model_root: str, steps: int, yoto: bool
) -> Dict[str, str]:
  """name -> model_dir of the finished YOTO (or fixed) models, in order."""
  return {
    s.name: os.path.join(model_root, s.name)
    for s in specs
    if s.is_yoto == yoto
    and is_finished(os.path.join(model_root, s.name), s.steps or steps)
  }


class ConfigChangedError(ValueError):
  """A model in MODEL_ROOT was trained with another config than asked for."""


def parsed_config(spec: ModelSpec, bindings: Sequence[str]) -> str:
  """The config text `train` saves as model_dir/config.gin for `spec` with
  `bindings` (gin's parsed config: includes resolved, comments dropped)."""
  gin.clear_config()
  try:
    yoto_main.parse_config([common.config_path(spec.config)], list(bindings))
    return gin.config_str()
  finally:
    gin.clear_config()


_BLOCK_HEADER = "# Parameters for "


def config_blocks(text: str) -> Dict[str, str]:
  """A gin config as written by gin (`config_str`, `operative_config_str`)
  cut into its per-configurable blocks: selector ('' for anything before
  the first block) -> the block's text."""
  blocks, key = {"": []}, ""
  for line in text.splitlines():
    if line.startswith(_BLOCK_HEADER):
      key = line[len(_BLOCK_HEADER) :].rstrip(":")
      blocks[key] = []
    elif line.strip() and not line.startswith("# ="):
      blocks[key].append(line)
  return {key: "\n".join(lines) for key, lines in blocks.items()}


def config_change(
  spec: ModelSpec, model_dir: str, bindings: Sequence[str]
) -> Optional[str]:
  """How model_dir's saved config differs from the one `train` would use
  now (a few '-saved' / '+now' lines), or None: the same, or nothing saved
  (a model not started).

  Only the configurables the model used count when its operative config
  was kept (operative_config.gin): a fixed-weight config that includes the
  YOTO one does not make its models stale when a YOTO-only setting changes.
  """
  saved_path = os.path.join(model_dir, yoto_main.CONFIG_FILE)
  if not os.path.exists(saved_path):
    return None
  with open(saved_path) as f:
    saved = config_blocks(f.read())
  now = config_blocks(parsed_config(spec, bindings))
  selectors = sorted(set(saved) | set(now))
  operative_path = os.path.join(model_dir, yoto_main.OPERATIVE_CONFIG_FILE)
  if os.path.exists(operative_path):
    with open(operative_path) as f:
      used = set(config_blocks(f.read())) | {""}
    selectors = [key for key in selectors if key in used]
  lines = []
  for key in selectors:
    old, new = saved.get(key, ""), now.get(key, "")
    if old != new:
      lines += [
        line
        for line in difflib.unified_diff(
          old.splitlines(), new.splitlines(), lineterm="", n=0
        )
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
      ]
  if not lines:
    return None
  shown = lines[:8] + (
    [f"... ({len(lines) - 8} more)"] if len(lines) > 8 else []
  )
  return "\n".join(f"    {line}" for line in shown)


def check_config(
  spec: ModelSpec, model_dir: str, bindings: Sequence[str], label: str
) -> None:
  """Raises ConfigChangedError if model_dir was trained (or started) with
  another config than `spec` with `bindings`: its results would not
  describe this run's setting, and resuming it would mix two."""
  change = config_change(spec, model_dir, bindings)
  if change is None:
    return
  raise ConfigChangedError(
    f"{label}: {model_dir} was trained with another config than this run "
    f"asks for ('-' saved there, '+' now):\n{change}\n"
    "Its results would not describe this setting. Move that model "
    "directory away (and its entry in the ledger, if it has one) to "
    "retrain it; give a changed setting its own --model_root and --name; "
    f"or pass --reuse={spec.name} if the change does not concern this "
    "model."
  )


def run_command_line(main: Callable[[], object]) -> None:
  """Runs a reproduction's `main` as a command: a model trained with
  another config ends it with the message alone (exit status 1), not a
  traceback."""
  try:
    main()
  except ConfigChangedError as e:
    raise SystemExit(f"error: {e}") from None


def train(
  spec: ModelSpec,
  model_dir: str,
  bindings: Sequence[str],
  seed: int,
  export: bool = True,
) -> Dict[str, float]:
  """Trains, evaluates and (if `export`) exports one model in-process;
  returns its `{"seconds", "cpu_seconds"}`, also kept in TIMING_FILE.

  Like `python -m yoto.main` it saves the parsed config as
  model_dir/config.gin and the resolved settings as run_config.json, where
  the analysis finds a fixed model's weights. A resumed model adds the
  time of this attempt to the earlier ones'.
  """
  earlier = read_timing(model_dir) or {"seconds": 0.0, "cpu_seconds": 0.0}
  start, cpu_start = time.time(), time.process_time()
  yoto_main.run_in_process(
    model_dir,
    [common.config_path(spec.config)],
    bindings,
    runtime=experiment_lib.RuntimeOptions(
      seed=seed,
      export_hub_modules=export,
      export_final_only=True,
      deterministic=determinism.is_enabled(),
    ),
  )
  timing = {
    "seconds": earlier["seconds"] + time.time() - start,
    "cpu_seconds": (
      earlier.get("cpu_seconds", 0.0) + time.process_time() - cpu_start
    ),
    "seed": seed,
    "bindings": list(bindings),
  }
  with open(os.path.join(model_dir, TIMING_FILE), "w") as f:
    json.dump(timing, f, indent=2)
  return timing


def read_timing(model_dir: str) -> Optional[dict]:
  path = os.path.join(model_dir, TIMING_FILE)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def train_all(
  specs: Sequence[ModelSpec],
  model_root: str,
  steps: int,
  shared: Sequence[str],
  seed_list: Sequence[int],
  only: Sequence[str] = (),
  export: bool = True,
  max_minutes: Optional[float] = None,
  ledger: Optional[str] = None,
  after_training: Optional[Callable[[ModelSpec, str], None]] = None,
  reuse: Sequence[str] = (),
) -> Dict[str, Dict[int, dict]]:
  """Trains every unfinished model of every seed, seed by seed (so that a
  chunk leaves whole seeds); returns name -> seed -> timing of the
  finished ones. With `max_minutes`, starts no model after that long.
  `after_training(spec, model_dir)` runs after each model is trained (to
  cache what the analysis needs of its weights). With a `ledger`
  directory, first restores the models it holds and adds each model to it
  as soon as it finishes.

  Raises:
    ConfigChangedError: before anything is trained, if a model it would use
      or resume was started with another config (models named in `reuse`
      excepted).
  """
  start = time.time()
  timings = {}
  if ledger:
    for entry in run_ledger.restore(ledger, model_root):
      print(f"{entry}: restored from the ledger {ledger}", flush=True)
  for seed in seed_list:
    for spec in specs:
      model_dir = os.path.join(seed_dir(model_root, seed), spec.name)
      if spec.name not in reuse and (
        not only
        or spec.name in only
        or is_finished(model_dir, spec.steps or steps)
      ):
        check_config(
          spec, model_dir, spec.all_bindings(shared), f"{spec.name} seed {seed}"
        )
  for seed in seed_list:
    for spec in specs:
      model_dir = os.path.join(seed_dir(model_root, seed), spec.name)
      label = f"{spec.name} seed {seed}"
      spec_steps = spec.steps or steps
      if is_finished(model_dir, spec_steps):
        print(f"{label}: finished earlier, skipped", flush=True)
      elif only and spec.name not in only:
        continue
      elif max_minutes is not None and time.time() - start > 60 * max_minutes:
        print(f"{label}: past --max_minutes, left for the next run", flush=True)
        continue
      else:
        print(f"{label}: training {spec_steps} steps ...", flush=True)
        train(spec, model_dir, spec.all_bindings(shared), seed, export)
        if after_training:
          after_training(spec, model_dir)
        if ledger:
          run_ledger.save(model_root, ledger)
      timing = read_timing(model_dir)
      if timing and is_finished(model_dir, spec_steps):
        timings.setdefault(spec.name, {})[seed] = timing
        print(
          f"{label}: {timing['seconds']:.0f} s "
          f"({timing.get('cpu_seconds', 0):.0f} CPU s)",
          flush=True,
        )
  return timings


def restore_state(
  spec: ModelSpec,
  model_root: str,
  shared: Sequence[str],
  image_shape: Sequence[int],
  batch_size: Optional[int] = None,
) -> state_lib.TrainingState:
  """A trained model of the reproduction, rebuilt and restored.

  Built from the config it was trained with (MODEL_ROOT/<name>/config.gin,
  as `--schedule=eval` does), or where none was saved as `train` would
  build it now (its config, `shared` and its own bindings), for images
  [B, *image_shape]; then restored from its latest checkpoint. The saved
  config matters for a model kept with --reuse: a setting changed since
  (e.g. a network's default) must not change what it computes.
  """
  model_dir = os.path.join(model_root, spec.name)
  latest = tf.train.latest_checkpoint(model_dir)
  if latest is None:
    raise ValueError(
      f"{model_dir} holds no checkpoint; train {spec.name} first."
    )
  saved = os.path.abspath(os.path.join(model_dir, yoto_main.CONFIG_FILE))
  config, bindings = (
    (saved, [])
    if os.path.exists(saved)
    else (spec.config, spec.all_bindings(shared))
  )
  state = common.build_state(config, bindings, image_shape, batch_size)
  state.restore(latest)
  return state
