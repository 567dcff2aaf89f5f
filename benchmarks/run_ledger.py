"""A reproduction's finished models, kept small enough to commit.

A reproduction trains more models than one session's time allows, and the
machine of the next session starts empty. What the analysis reads of a
finished model is small: its eval rows (metrics.jsonl), its timing, its
resolved settings and FINISHED. The ledger keeps exactly those (not the
checkpoints, events or hub modules) under LEDGER/seed<K>/<model>/, beside
what an analysis computed from a model's weights while it still had them
(`cached`: files named `*.ledger.json` in a model's or a seed's directory,
e.g. a codec's whole-image rates or the pixel-blending baseline's losses).
Committed, it lets a later session:

  * skip the models it holds (`restore` writes them back into MODEL_ROOT,
    where `reproduction.is_finished` sees them), and
  * rebuild every table and interval over all seeds so far.

What needs a model's weights (images, new blends) comes from the models
whose checkpoints are still on this machine: an analysis asks
`has_weights`.
"""

import json
import os
import shutil
from typing import Callable, List, Mapping, Optional, Sequence

import tensorflow as tf

from yoto import main as yoto_main
from yoto import results
from yoto.clients import paths
from yoto.training import experiment as experiment_lib

# What the analysis reads of a finished model (reproduction.TIMING_FILE,
# the eval rows, FINISHED, the resolved settings and the parsed config),
# and what the reproduction checks its config with.
MODEL_FILES = (
  "reproduce_timing.json",
  results.METRICS_FILE,
  experiment_lib.FINISHED_FILE,
  "run_config.json",
  yoto_main.CONFIG_FILE,
  # The configurables the model used (`reproduction.config_change`).
  yoto_main.OPERATIVE_CONFIG_FILE,
)
# What an analysis computed from a model's (or a seed's models') weights.
CACHE_SUFFIX = ".ledger.json"


def _seed_dirs(root: str) -> List[str]:
  if not os.path.isdir(root):
    return []
  return sorted(
    name
    for name in os.listdir(root)
    if name.startswith("seed") and os.path.isdir(os.path.join(root, name))
  )


def _copy_files(source: str, target: str, names) -> int:
  copied = 0
  for name in names:
    path = os.path.join(source, name)
    if os.path.isfile(path):
      os.makedirs(target, exist_ok=True)
      shutil.copyfile(path, os.path.join(target, name))
      copied += 1
  return copied


def _caches(directory: str) -> List[str]:
  return sorted(n for n in os.listdir(directory) if n.endswith(CACHE_SUFFIX))


def cached(
  directory: str,
  key: str,
  fingerprint: Mapping[str, object],
  compute: Callable[[], Optional[object]],
):
  """compute()'s value (JSON-serialisable), kept as directory/<key>.ledger
  .json with `fingerprint` (what it was computed from: a later call with
  another fingerprint computes again). A None from `compute` (e.g. the
  weights are gone) is returned and not kept."""
  path = os.path.join(directory, key + CACHE_SUFFIX)
  fingerprint = json.loads(json.dumps(fingerprint))
  if os.path.exists(path):
    with open(path) as f:
      kept = json.load(f)
    if kept.get("fingerprint") == fingerprint:
      return kept["value"]
  value = compute()
  if value is not None:
    with open(path, "w") as f:
      json.dump({"fingerprint": fingerprint, "value": value}, f, indent=1)
  return value


def save(model_root: str, ledger_dir: str) -> int:
  """Copies every finished model's MODEL_FILES and every seed's caches from
  MODEL_ROOT (…/steps<N>) to LEDGER; returns how many models it holds."""
  saved = 0
  for seed in _seed_dirs(model_root):
    source_seed = os.path.join(model_root, seed)
    target_seed = os.path.join(ledger_dir, seed)
    _copy_files(source_seed, target_seed, _caches(source_seed))
    for model in sorted(os.listdir(source_seed)):
      source = os.path.join(source_seed, model)
      if os.path.exists(experiment_lib.finished_path(source)):
        _copy_files(
          source,
          os.path.join(target_seed, model),
          MODEL_FILES + tuple(_caches(source)),
        )
        saved += 1
  return saved


def restore(ledger_dir: str, model_root: str) -> List[str]:
  """Writes the ledger's models and caches into MODEL_ROOT where MODEL_ROOT
  has no finished model of that name (a model trained here wins); returns
  the 'seed<K>/<model>' restored."""
  restored = []
  for seed in _seed_dirs(ledger_dir):
    source_seed = os.path.join(ledger_dir, seed)
    target_seed = os.path.join(model_root, seed)
    for name in _caches(source_seed):
      if not os.path.exists(os.path.join(target_seed, name)):
        _copy_files(source_seed, target_seed, [name])
    for model in sorted(os.listdir(source_seed)):
      source = os.path.join(source_seed, model)
      target = os.path.join(target_seed, model)
      if not os.path.isdir(source) or os.path.exists(
        experiment_lib.finished_path(target)
      ):
        continue
      if tf.train.latest_checkpoint(target) is not None:
        # An unfinished run of this model is here: let it resume rather
        # than mixing its files with the ledger's.
        continue
      _copy_files(source, target, MODEL_FILES + tuple(_caches(source)))
      restored.append(f"{seed}/{model}")
  return restored


def has_weights(model_dir: str) -> bool:
  """Whether `model_dir` holds a checkpoint (a ledger copy holds none)."""
  return tf.train.latest_checkpoint(model_dir) is not None


def has_hub_module(model_dir: str) -> bool:
  """Whether `model_dir` holds an exported hub module (a ledger copy holds
  none)."""
  return paths.latest_hub_module(model_dir) is not None


def first_complete(
  seed_dirs: Sequence[str],
  models: Sequence[str],
  present: Callable[[str], bool] = has_weights,
) -> Optional[str]:
  """The first of `seed_dirs` in which every model of `models` still has
  what `present` asks of its directory (`has_weights`, `has_hub_module`),
  or None: the seed whose images a report can draw when the ledger
  restored the others without weights."""
  for seed_dir in seed_dirs:
    if all(present(os.path.join(seed_dir, m)) for m in models):
      return seed_dir
  return None
