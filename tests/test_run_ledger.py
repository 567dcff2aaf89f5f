"""Tests of benchmarks/run_ledger: what it keeps of finished models, what
it writes back, the cached computations and the seed a report can draw."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import run_ledger
from yoto import results
from yoto.training import experiment as experiment_lib
# pylint: enable=g-import-not-at-top,wrong-import-position


def _write(path, text="x"):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as f:
    f.write(text)


def _finished_model(model_dir, rows="{}\n"):
  _write(os.path.join(model_dir, results.METRICS_FILE), rows)
  _write(experiment_lib.finished_path(model_dir))
  # Kept: what the reproduction's config check reads.
  _write(os.path.join(model_dir, "config.gin"))
  _write(os.path.join(model_dir, "operative_config.gin"))
  _write(os.path.join(model_dir, "ckpt-1.index"))  # Not kept.


def test_save_keeps_finished_models_small_files_only(tmp_path):
  root, ledger = str(tmp_path / "models"), str(tmp_path / "ledger")
  _finished_model(os.path.join(root, "seed0", "fixed"))
  _write(os.path.join(root, "seed0", "unfinished", results.METRICS_FILE))
  _write(os.path.join(root, "seed0", "blend.ledger.json"), "{}")
  assert run_ledger.save(root, ledger) == 1
  assert sorted(os.listdir(os.path.join(ledger, "seed0"))) == [
    "blend.ledger.json",
    "fixed",
  ]
  assert sorted(os.listdir(os.path.join(ledger, "seed0", "fixed"))) == sorted(
    [
      results.METRICS_FILE,
      experiment_lib.FINISHED_FILE,
      "config.gin",
      "operative_config.gin",
    ]
  )


def test_restore_does_not_overwrite_a_model_trained_here(tmp_path):
  root, ledger = str(tmp_path / "models"), str(tmp_path / "ledger")
  _finished_model(os.path.join(ledger, "seed0", "a"), rows="ledger\n")
  _finished_model(os.path.join(ledger, "seed0", "b"), rows="ledger\n")
  _finished_model(os.path.join(root, "seed0", "a"), rows="here\n")
  assert run_ledger.restore(ledger, root) == ["seed0/b"]
  with open(os.path.join(root, "seed0", "a", results.METRICS_FILE)) as f:
    assert f.read() == "here\n"


def test_cached_computes_once_per_fingerprint(tmp_path):
  calls = []

  def compute():
    calls.append(1)
    return {"loss": len(calls)}

  first = run_ledger.cached(str(tmp_path), "k", {"alphas": [0, 1]}, compute)
  again = run_ledger.cached(str(tmp_path), "k", {"alphas": [0, 1]}, compute)
  other = run_ledger.cached(str(tmp_path), "k", {"alphas": [0]}, compute)
  assert (first, again, other) == ({"loss": 1}, {"loss": 1}, {"loss": 2})
  with open(tmp_path / ("k" + run_ledger.CACHE_SUFFIX)) as f:
    assert json.load(f)["fingerprint"] == {"alphas": [0]}
  # A None (weights gone) is not kept.
  assert run_ledger.cached(str(tmp_path), "n", {}, lambda: None) is None
  assert not (tmp_path / ("n" + run_ledger.CACHE_SUFFIX)).exists()


def test_first_complete_skips_seeds_missing_a_model(tmp_path):
  seeds = [str(tmp_path / f"seed{k}") for k in range(3)]
  for seed, models in zip(seeds, (["a"], ["a", "b"], ["a", "b"])):
    for model in models:
      _write(os.path.join(seed, model, "weights"))
  has_file = lambda d: os.path.exists(os.path.join(d, "weights"))
  assert run_ledger.first_complete(seeds, ["a", "b"], has_file) == seeds[1]
  assert run_ledger.first_complete(seeds, ["a"], has_file) == seeds[0]
  assert run_ledger.first_complete(seeds, ["c"], has_file) is None
  # By default a seed counts where every model has a checkpoint.
  assert run_ledger.first_complete(seeds, ["a"]) is None
