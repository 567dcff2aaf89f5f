"""A run's resolved settings, `model_dir/run_config.json`: written, read here.

`experiment` writes the record when a training run starts, next to the
`config.gin` that `python -m yoto.main` saves: the problem, the optimizer, the
loss names, the weights a fixed-weight model is trained with or the
distribution a YOTO model is trained on (with each weight's range), the eval
weights, the steps, batch sizes and data. Plots, tables, benchmarks and tests
read these values back from the record, never by re-running gin (whose global
state belongs to training) or by scraping gin text.

Runs from before the record existed have only `config.gin` (or
`operative_config.gin`); for them `read` falls back to the literal values of
bindings such as

  experiment.dataset_name = 'photo_patches'
  LinearlyScalarizedOptimizer.weights = {'kl_loss': 8.0, ...}

and leaves unknown whatever is not a literal (a `@reference`, a `%MACRO`).
"""

import ast
import dataclasses
import json
import os
from typing import Any, Dict, Optional, Tuple

RUN_CONFIG_FILE = "run_config.json"
LEGACY_CONFIG_FILES = ("config.gin", "operative_config.gin")
FORMAT_VERSION = 1
NOT_LITERAL = object()

Weights = Dict[str, float]


class RunConfigError(ValueError):
  """A run_config.json that cannot be read."""


@dataclasses.dataclass(frozen=True)
class RunConfig:
  """What a run was configured to do; None where unknown (an old run).

  Attributes:
    problem: the problem's class name, e.g. 'ConditionalVaeProblem'.
    optimizer: the multi-loss optimizer's class name.
    model: 'yoto' (conditioned on the loss weights) or 'fixed'.
    loss_names: the loss names in sorted order, the order of every weight
      vector.
    train_weights: the weights a fixed-weight model was trained with.
    train_distribution: for a YOTO model, {'type': 'LOG_UNIFORM' or
      'UNIFORM', 'preprocessing': 'log' or 'identity', 'ranges': {loss:
      [low, high]}}.
    eval_weights: the weight dicts the run is evaluated at.
    dataset_name, preprocess, preprocess_eval: the data and its pipelines.
    batch_size, eval_batch_size, train_steps, eval_steps, eval_on_test: as
      bound to `experiment`.
    seed, validation_percent: the run's command-line choices.
    deterministic: whether the run was bit-reproducible (one CPU thread
      for TensorFlow's ops and op determinism; `yoto.training.determinism`).
    source: the file the values were read from (None: nothing was found).
  """

  problem: Optional[str] = None
  optimizer: Optional[str] = None
  model: Optional[str] = None
  loss_names: Optional[Tuple[str, ...]] = None
  train_weights: Optional[Weights] = None
  train_distribution: Optional[Dict[str, Any]] = None
  eval_weights: Optional[Tuple[Weights, ...]] = None
  dataset_name: Optional[str] = None
  preprocess: Optional[str] = None
  preprocess_eval: Optional[str] = None
  batch_size: Optional[int] = None
  eval_batch_size: Optional[int] = None
  train_steps: Optional[int] = None
  eval_steps: Optional[int] = None
  eval_on_test: Optional[bool] = None
  seed: Optional[int] = None
  validation_percent: Optional[int] = None
  deterministic: Optional[bool] = None
  source: Optional[str] = dataclasses.field(default=None, compare=False)

  def to_json(self) -> str:
    record = dataclasses.asdict(self)
    del record["source"]
    return json.dumps(
      {"format_version": FORMAT_VERSION, **record}, indent=2, sort_keys=True
    )

  @classmethod
  def from_json(cls, text: str, source: Optional[str] = None) -> "RunConfig":
    """Parses `to_json`'s output; RunConfigError if it is not a record."""
    where = source or "the run config"
    try:
      record = json.loads(text)
    except json.JSONDecodeError as e:
      raise RunConfigError(
        f"{where} is not valid JSON ({e}); delete it to "
        "fall back on the run's config.gin."
      ) from None
    if not isinstance(record, dict):
      raise RunConfigError(
        f"{where} holds no JSON object; delete it to fall "
        "back on the run's config.gin."
      )
    version = record.pop("format_version", None)
    if version != FORMAT_VERSION:
      raise RunConfigError(
        f"{where} has format_version {version!r}; this yoto reads "
        f"{FORMAT_VERSION}. Use the yoto version that wrote it."
      )
    fields = {f.name for f in dataclasses.fields(cls)} - {"source"}
    values = {k: v for k, v in record.items() if k in fields}
    for key in ("loss_names", "eval_weights"):
      if values.get(key) is not None:
        values[key] = tuple(values[key])
    return cls(**values, source=source)


def path(model_dir: str) -> str:
  """The run config record of `model_dir`."""
  return os.path.join(model_dir, RUN_CONFIG_FILE)


def write(model_dir: str, config: RunConfig) -> str:
  """Writes `config` to model_dir/run_config.json atomically; returns the path."""
  os.makedirs(model_dir, exist_ok=True)
  target = path(model_dir)
  tmp = target + ".tmp"
  with open(tmp, "w") as f:
    f.write(config.to_json() + "\n")
  os.replace(tmp, target)
  return target


def read(model_dir: str) -> RunConfig:
  """The settings of the run in `model_dir`.

  Reads run_config.json; for an older run without one, the literal values
  of its saved config.gin (or operative_config.gin). With neither, every
  value is None.

  Raises:
    RunConfigError: if run_config.json exists but cannot be parsed.
  """
  record = path(model_dir)
  if os.path.isfile(record):
    with open(record) as f:
      return RunConfig.from_json(f.read(), source=record)
  for name in LEGACY_CONFIG_FILES:
    legacy = os.path.join(model_dir, name)
    if os.path.isfile(legacy):
      with open(legacy) as f:
        return from_gin_bindings(parse_bindings(f.read()), source=legacy)
  return RunConfig()


def from_gin_bindings(
  bindings: Dict[str, Any], source: Optional[str] = None
) -> RunConfig:
  """The RunConfig that the literal values of old gin bindings give."""

  def value(name, kind):
    found = bindings.get(name, NOT_LITERAL)
    return found if isinstance(found, kind) else None

  eval_weights = value("experiment.eval_weights", list)
  return RunConfig(
    train_weights=_weights(bindings.get("LinearlyScalarizedOptimizer.weights")),
    eval_weights=tuple(eval_weights) if eval_weights else None,
    dataset_name=value("experiment.dataset_name", str),
    preprocess=value("experiment.preprocess", str),
    preprocess_eval=value("experiment.preprocess_eval", str),
    batch_size=value("experiment.batch_size", int),
    eval_batch_size=value("experiment.eval_batch_size", int),
    train_steps=value("experiment.train_steps", int),
    eval_steps=value("experiment.eval_steps", int),
    source=source,
  )


def _weights(value: Any) -> Optional[Weights]:
  """A literal {loss: weight} dict (or a string holding one) as floats."""
  if isinstance(value, str):  # The optimizer also accepts a dict string.
    value = _literal(value)
  if (
    isinstance(value, dict)
    and value
    and all(isinstance(v, (int, float)) for v in value.values())
  ):
    return {str(k): float(v) for k, v in value.items()}
  return None


def parse_bindings(text: str) -> Dict[str, Any]:
  """Parses `name = value` bindings of a gin file into {name: value}.

  Continuation lines (after a trailing backslash, or indented) belong to the
  binding above them; comments, `import` and `include` lines are skipped.

  Args:
    text: the contents of a gin file.

  Returns:
    Binding name (e.g. 'experiment.dataset_name' or
    'train/DistributionSpec.params') -> the value as a Python literal, or
    `NOT_LITERAL`.
  """
  bindings = {}
  name, parts = None, []

  def finish():
    if name is not None:
      bindings[name] = _literal(" ".join(parts))

  for line in text.splitlines():
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
      continue
    continued = parts and (parts[-1].endswith("\\") or line[0].isspace())
    if name is not None and continued:
      parts[-1] = parts[-1].rstrip("\\")
      parts.append(stripped)
      continue
    finish()
    name, parts = None, []
    if "=" in stripped and not stripped.startswith(("import ", "include ")):
      key, value = stripped.split("=", 1)
      name, parts = key.strip(), [value.strip()]
  finish()
  return bindings


def _literal(value: str) -> Any:
  value = value.rstrip("\\").strip()
  try:
    return ast.literal_eval(value)
  except (ValueError, SyntaxError):
    return NOT_LITERAL
