"""Reading the eval metrics of runs, for plots and tables.

Every evaluated checkpoint appends one row per (split, eval weights) to
`model_dir/metrics.jsonl` (see `yoto.results`). A plot compares
runs at one step and split, so this module picks them (the latest step by
default, and the 'test' or else 'valid' split), and pairs a YOTO run with
fixed-weight runs, checking that they fit together: same losses, same eval
weights, the right kinds of model. Whatever does not fit raises a
`MetricsError` whose message says what to do, so the command line can print
it without a traceback.

A fixed-weight run is compared at the weights it was *trained* with. Its rows
hold the weights it was *evaluated* at, so those come from the row's
'train_weights' when present, otherwise from the run's `run_config`.
"""

import dataclasses
import os
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from yoto import results
from yoto import run_config

SPLIT_PREFERENCE = ("test", "valid", "train_full", "train")
YOTO, FIXED = "yoto", "fixed"

Weights = Dict[str, float]
WeightsKey = Tuple[Tuple[str, float], ...]


class MetricsError(ValueError):
  """Runs whose metrics are missing or do not fit together."""


def weights_key(weights: Mapping[str, float]) -> WeightsKey:
  """A hashable form of a weights dict, equal for equal weights.

  Weights are rounded to 6 significant digits, so that the same config
  value read back from JSON or gin always gives the same key.
  """
  return tuple(
    sorted((k, float(f"{float(v):.6g}")) for k, v in weights.items())
  )


def format_weights(weights: Mapping[str, float]) -> str:
  return (
    "{" + ", ".join(f"{k}: {v:g}" for k, v in sorted(weights.items())) + "}"
  )


@dataclasses.dataclass(frozen=True)
class RunMetrics:
  """The eval results of one run at one step and split.

  Attributes:
    model_dir: the run's directory.
    kind: 'yoto' or 'fixed'.
    step: the evaluated checkpoint.
    split: the evaluated split.
    evals: eval weights key -> values ({loss: mean, ..., 'full_loss': ..}),
      in the order the weights were evaluated.
    eval_weights: the eval weight dicts, in the same order.
    train_weights: for a fixed-weight run, the weights it was trained with
      (None if unknown); None for YOTO.
  """

  model_dir: str
  kind: str
  step: int
  split: str
  evals: Dict[WeightsKey, Dict[str, float]]
  eval_weights: Tuple[Weights, ...]
  train_weights: Optional[Weights] = None

  @property
  def name(self) -> str:
    return os.path.basename(os.path.normpath(self.model_dir))

  @property
  def loss_names(self) -> Tuple[str, ...]:
    return tuple(sorted(self.eval_weights[0]))

  def values_at(self, weights: Mapping[str, float]) -> Dict[str, float]:
    """The values evaluated at `weights`; MetricsError if not evaluated."""
    key = weights_key(weights)
    if key not in self.evals:
      raise MetricsError(
        f"{self.model_dir} was not evaluated at {format_weights(weights)} "
        f"(step {self.step}, split {self.split!r}); its eval weights are "
        f"{', '.join(format_weights(w) for w in self.eval_weights)}."
      )
    return self.evals[key]

  def own_values(self) -> Dict[str, float]:
    """A fixed-weight model's losses: the same at every eval weight."""
    if self.train_weights and weights_key(self.train_weights) in self.evals:
      return self.values_at(self.train_weights)
    return self.evals[weights_key(self.eval_weights[0])]


def read_rows(model_dir: str) -> List[dict]:
  """All rows of the run's metrics file; MetricsError if there are none."""
  if not os.path.isdir(model_dir):
    raise MetricsError(
      f"{model_dir} is not a directory; pass the model_dir of a training run."
    )
  path = results.metrics_path(model_dir)
  if not os.path.isfile(path):
    raise MetricsError(
      f"{model_dir} has no {results.METRICS_FILE}: the run was never "
      "evaluated. Evaluate it with `python -m yoto.main --schedule=eval "
      f"--model_dir={model_dir}`."
    )
  rows = results.read_rows(path)
  if not rows:
    raise MetricsError(f"{path} holds no eval rows; evaluate the run again.")
  return rows


def choose_split(
  rows: Sequence[dict], split: Optional[str] = None, source: str = "the run"
) -> str:
  """`split` if evaluated, else the first of SPLIT_PREFERENCE that was."""
  splits = sorted({r["split"] for r in rows})
  if split is not None:
    if split not in splits:
      raise MetricsError(
        f"{source} has no eval rows for split {split!r}; "
        f"it has {', '.join(splits)}."
      )
    return split
  for candidate in SPLIT_PREFERENCE:
    if candidate in splits:
      return candidate
  return splits[0]


def choose_step(
  rows: Sequence[dict],
  split: str,
  step: Optional[int] = None,
  source: str = "the run",
) -> int:
  """`step` if evaluated on `split`, else the latest such step."""
  steps = sorted({int(r["step"]) for r in rows if r["split"] == split})
  if step is None:
    return steps[-1]
  if int(step) not in steps:
    raise MetricsError(
      f"{source} has no eval rows at step {step} on split {split!r}; "
      f"evaluated steps: {', '.join(map(str, steps))}."
    )
  return int(step)


def load_run(
  model_dir: str, step: Optional[int] = None, split: Optional[str] = None
) -> RunMetrics:
  """The metrics of one run at `step` (default latest) and `split`.

  Args:
    model_dir: the run's directory, holding metrics.jsonl.
    step: the checkpoint step; None picks the latest evaluated one.
    split: the split; None picks 'test', else 'valid', else what exists.

  Returns:
    RunMetrics; for a re-evaluated step the last rows win.

  Raises:
    MetricsError: if the directory, file, step or split does not exist.
  """
  rows = read_rows(model_dir)
  split = choose_split(rows, split, model_dir)
  return _run_at(
    model_dir, rows, split, choose_step(rows, split, step, model_dir)
  )


def load_steps(
  model_dir: str, split: Optional[str] = None
) -> Dict[int, RunMetrics]:
  """The metrics of one run at every step evaluated on `split`.

  What `load_run` gives at each step, in step order, from one reading of
  the metrics file (for learning curves: `load_run` per step rereads it).

  Raises:
    MetricsError: if the directory, file or split does not exist.
  """
  rows = read_rows(model_dir)
  split = choose_split(rows, split, model_dir)
  steps = sorted({int(r["step"]) for r in rows if r["split"] == split})
  return {step: _run_at(model_dir, rows, split, step) for step in steps}


def _run_at(
  model_dir: str, rows: Sequence[dict], split: str, step: int
) -> RunMetrics:
  """RunMetrics of the `rows` of `split` at `step` (evaluated there)."""
  selected = [r for r in rows if r["split"] == split and int(r["step"]) == step]
  evals, eval_weights = {}, {}
  for row in selected:
    key = weights_key(row["weights"])
    evals[key] = {k: float(v) for k, v in row["values"].items()}
    eval_weights.setdefault(
      key, {k: float(v) for k, v in row["weights"].items()}
    )
  kind = selected[-1].get("model", YOTO)
  train_weights = None
  if kind == FIXED:
    train_weights = (
      selected[-1].get("train_weights")
      or run_config.read(model_dir).train_weights
    )
  return RunMetrics(
    model_dir=model_dir,
    kind=kind,
    step=step,
    split=split,
    evals=evals,
    eval_weights=tuple(eval_weights.values()),
    train_weights=train_weights,
  )


def load_comparison(
  yoto_dir: str,
  fixed_dirs: Sequence[str] = (),
  step: Optional[int] = None,
  split: Optional[str] = None,
) -> Tuple[RunMetrics, List[RunMetrics]]:
  """A YOTO run and fixed-weight runs, checked to be comparable.

  Args:
    yoto_dir: model_dir of the YOTO run.
    fixed_dirs: model_dirs of fixed-weight runs (may be empty).
    step: the YOTO run's step (default latest); fixed runs are always read at
      their latest step, since they may have trained for another number of
      steps.
    split: the split of every run (default: the YOTO run's 'test' or
      'valid').

  Returns:
    (yoto, [fixed, ...]).

  Raises:
    MetricsError: a missing run, a run of the wrong kind, mismatched losses or
      eval weights, a fixed run whose training weights are unknown, or two
      fixed runs trained at the same weights.
  """
  yoto = load_run(yoto_dir, step, split)
  if yoto.kind != YOTO:
    raise MetricsError(
      f"{yoto_dir} holds a {yoto.kind!r} model, not a YOTO one; pass it "
      "among the fixed-weight runs instead."
    )
  fixed = [load_run(d, None, yoto.split) for d in fixed_dirs]
  for run in fixed:
    _check_fixed(run, yoto)
  _check_distinct(fixed)
  return yoto, fixed


def _check_fixed(run: RunMetrics, yoto: RunMetrics) -> None:
  if run.kind != FIXED:
    raise MetricsError(
      f"{run.model_dir} holds a {run.kind!r} model, not a fixed-weight one."
    )
  if run.loss_names != yoto.loss_names:
    raise MetricsError(
      f"{run.model_dir} has losses {list(run.loss_names)} but "
      f"{yoto.model_dir} has {list(yoto.loss_names)}: they solve different "
      "problems."
    )
  mine, theirs = set(run.evals), set(yoto.evals)
  if mine != theirs:
    only_fixed = [format_weights(dict(k)) for k in sorted(mine - theirs)]
    only_yoto = [format_weights(dict(k)) for k in sorted(theirs - mine)]
    raise MetricsError(
      f"Mismatched eval weights: {run.model_dir} was evaluated at "
      f"{only_fixed or 'no other weights'} that {yoto.model_dir} was not, "
      f"and {yoto.model_dir} at {only_yoto or 'no other weights'} that "
      f"{run.model_dir} was not. Evaluate both with the same "
      "experiment.eval_weights."
    )
  if run.train_weights is None:
    raise MetricsError(
      f"Cannot tell which weights {run.model_dir} was trained with: it "
      "has no run_config.json, and its config.gin does not bind "
      "LinearlyScalarizedOptimizer.weights to a dict. Train fixed-weight "
      "models with literal weights."
    )
  if set(run.train_weights) != set(run.loss_names):
    raise MetricsError(
      f"{run.model_dir} was trained with weights "
      f"{format_weights(run.train_weights)} that do not name its losses "
      f"{list(run.loss_names)}."
    )


def _check_distinct(fixed: Sequence[RunMetrics]) -> None:
  seen = {}
  for run in fixed:
    key = weights_key(run.train_weights)
    if key in seen:
      raise MetricsError(
        f"{seen[key]} and {run.model_dir} were both trained at "
        f"{format_weights(run.train_weights)}; pass one run per weight."
      )
    seen[key] = run.model_dir
