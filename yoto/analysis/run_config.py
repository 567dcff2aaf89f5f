"""Values from the gin config that a training run saved in its model_dir.

`python -m yoto.main` writes the parsed config to `model_dir/config.gin` when
training starts and the operative one to `model_dir/operative_config.gin` at
the end. Plots need a few of its values (the dataset, the eval
preprocessing, the weights of a fixed-weight model) without re-running gin,
whose global state belongs to training; so this module reads the literal
values of bindings such as

  experiment.dataset_name = 'photo_patches'
  experiment.eval_weights = \\
      [{'kl_loss': 0.5, 'reconstruction_loss': 1.0},
       {'kl_loss': 2.0, 'reconstruction_loss': 1.0}]

as Python literals. A binding whose value is not a literal (a `@reference`
or a `%MACRO`) reads as `NOT_LITERAL`.
"""

import ast
import os
from typing import Any, Dict, Optional, Tuple

CONFIG_FILES = ("config.gin", "operative_config.gin")
NOT_LITERAL = object()


def config_files(model_dir: str) -> Tuple[str, ...]:
  """The saved config files of `model_dir` that exist, preferred first."""
  paths = (os.path.join(model_dir, name) for name in CONFIG_FILES)
  return tuple(p for p in paths if os.path.isfile(p))


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


def read_bindings(model_dir: str) -> Dict[str, Any]:
  """The bindings of the first saved config file of `model_dir`, or {}."""
  files = config_files(model_dir)
  if not files:
    return {}
  with open(files[0]) as f:
    return parse_bindings(f.read())


def get_value(model_dir: str, name: str, default: Any = None) -> Any:
  """The literal value bound to `name` in the run's config, else `default`.
  """
  value = read_bindings(model_dir).get(name, NOT_LITERAL)
  return default if value is NOT_LITERAL else value


def fixed_weights(model_dir: str) -> Optional[Dict[str, float]]:
  """The loss weights a fixed-weight run was trained with, if a literal dict.

  Returns None when the config is missing or the weights were drawn from a
  distribution (then only the hub module's metadata knows them).
  """
  weights = get_value(model_dir, "LinearlyScalarizedOptimizer.weights")
  if isinstance(weights, str):  # The optimizer also accepts a dict string.
    weights = _literal(weights)
  if isinstance(weights, dict) and all(
      isinstance(v, (int, float)) for v in weights.values()):
    return {str(k): float(v) for k, v in weights.items()}
  return None


def eval_data(model_dir: str) -> Tuple[Optional[str], Optional[str]]:
  """(dataset_name, preprocess_eval) of the run, None where unknown."""
  bindings = read_bindings(model_dir)
  name = bindings.get("experiment.dataset_name")
  preprocess = bindings.get("experiment.preprocess_eval")
  return (name if isinstance(name, str) else None,
          preprocess if isinstance(preprocess, str) else None)


def model_dir_of_module(module_path: str) -> Optional[str]:
  """`model_dir` for a module at `model_dir/hub_modules/step-N`, else None."""
  parent = os.path.dirname(os.path.normpath(module_path))
  if os.path.basename(parent) == "hub_modules":
    return os.path.dirname(parent)
  return None
