"""A run's eval results, `model_dir/metrics.jsonl`: written and read here.

Every evaluation appends one JSON row per (step, split, weights):

  {"step": 1000, "split": "test", "weights": {"kl_loss": 4.0, ...},
   "values": {"kl_loss": .., "reconstruction_loss": .., "full_loss": ..},
   "num_examples": 6400, "model": "yoto"}

(fixed-weight runs add "train_weights": the weights they were trained with;
`yoto.compress evaluate` writes rows of the same shape). Training's evaluator,
the compression command line, the analysis and the benchmarks all go through
this module, so plots and tables never need TensorBoard or log scraping.
"""

import json
import os
from typing import Dict, List, Sequence, Set

from absl import logging

METRICS_FILE = "metrics.jsonl"
ROW_KEYS = frozenset({"step", "split", "weights", "values"})


def metrics_path(model_dir: str) -> str:
  """The metrics file of `model_dir`."""
  return os.path.join(model_dir, METRICS_FILE)


def append_rows(path: str, rows: Sequence[dict]) -> None:
  """Appends rows durably: a crash leaves at most one torn last line."""
  with open(path, "a") as f:
    for row in rows:
      f.write(json.dumps(row, sort_keys=True) + "\n")
    f.flush()
    os.fsync(f.fileno())


def read_rows(model_dir_or_file: str) -> List[dict]:
  """Every eval row of a metrics file (a model_dir or the file itself).

  Lines that are not rows (a torn last line of a crashed eval, say) are
  skipped with a warning; a missing file gives no rows.
  """
  path = model_dir_or_file
  if os.path.isdir(path):
    path = metrics_path(path)
  if not os.path.exists(path):
    return []
  rows = []
  with open(path) as f:
    for line in f:
      try:
        row = json.loads(line)
      except json.JSONDecodeError:
        row = None
      if is_row(row):
        rows.append(row)
      elif line.strip():
        logging.warning("Skipping a malformed line in %s", path)
  return rows


def is_row(row) -> bool:
  """Whether `row` is a dict with every key an eval row has."""
  return isinstance(row, dict) and ROW_KEYS <= set(row)


def evaluated_steps(model_dir: str) -> Dict[int, Set[str]]:
  """Which splits of which steps already have metrics rows."""
  done = {}
  for row in read_rows(model_dir):
    done.setdefault(int(row["step"]), set()).add(row["split"])
  return done
