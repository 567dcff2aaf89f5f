"""Tests of benchmarks/seed_comparison: curves are read from finished models
only, YOTO models with steps of their own are compared at their last step,
each fixed model's convergence is stated at its own label, and the CPU time
of the fixed sweep is summed per seed."""

import os
import sys

import fake_runs
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import reproduction
from benchmarks import seed_comparison
from yoto.training import experiment
# pylint: enable=g-import-not-at-top,wrong-import-position

SPECS = [
  reproduction.fixed_model("fixed_a", "unused.gin", {"w": 1.0}),
  reproduction.fixed_model("fixed_b", "unused.gin", {"w": 2.0}),
  reproduction.ModelSpec("yoto", "unused.gin"),
  reproduction.ModelSpec("yoto_long", "unused.gin", steps=12),
]
FIXED = {1.0: "fixed_a", 2.0: "fixed_b"}


def _curve(final, steps=(2, 4, 6), improvement=4.0):
  """A falling learning curve that ends at `final`."""
  return {
    s: {
      1.0: final + improvement * (steps[-1] - s),
      2.0: 2 * final + improvement * (steps[-1] - s),
    }
    for s in steps
  }


def _curves():
  """Two seeds; fixed_b and the YOTO models see both labels, fixed_a one;
  yoto_long trains to step 12."""
  curves = {}
  for seed, shift in ((0, 0.0), (1, 1.0)):
    own = lambda final, steps=(2, 4, 6): _curve(final + shift, steps)
    curves.setdefault("fixed_a", {})[seed] = {
      s: {1.0: v[1.0]} for s, v in own(10.0).items()
    }
    curves.setdefault("fixed_b", {})[seed] = own(9.0)
    curves.setdefault("yoto", {})[seed] = own(11.0)
    curves.setdefault("yoto_long", {})[seed] = own(9.5, (4, 8, 12))
  return curves


def test_models_with_own_steps_are_compared_at_their_last_step():
  result = seed_comparison.gaps_and_convergence(_curves(), SPECS, FIXED)
  assert result.step == 6 and result.method_steps == {"yoto_long": 12}
  assert [r["label"] for r in result.rows] == [1.0, 2.0]
  gaps = result.rows[0]["gaps"]
  assert gaps["yoto"].mean == pytest.approx(1.0)  # 11 - 10, both seeds.
  assert gaps["yoto_long"].mean == pytest.approx(-0.5)  # At step 12.
  assert result.baseline is None and "single_model" not in gaps


def test_single_model_is_the_best_fixed_model_over_all_labels():
  result = seed_comparison.gaps_and_convergence(
    _curves(), SPECS, FIXED, single_model=True
  )
  # fixed_a was not evaluated at label 2: only fixed_b covers every label.
  assert result.baseline == "fixed_b"
  assert result.rows[1]["gaps"]["single_model"].mean == pytest.approx(0.0)


def test_fixed_models_state_convergence_at_their_own_label():
  result = seed_comparison.gaps_and_convergence(_curves(), SPECS, FIXED)
  assert list(result.convergence) == ["fixed_a", "fixed_b", "yoto", "yoto_long"]
  assert result.convergence["fixed_a"]["label"] == 1.0
  assert result.convergence["fixed_b"]["label"] == 2.0
  assert result.convergence["yoto_long"]["to_step"] == 12


def test_curves_come_from_finished_models_only(tmp_path):
  root = tmp_path / "steps6"
  losses = lambda beta, step, split: (float(step), beta)
  for seed in (0, 1):
    model_dir = os.path.join(reproduction.seed_dir(str(root), seed), "yoto")
    fake_runs.write_run(model_dir, losses, (0.5, 2.0), steps=(3, 6))
    if seed == 0:  # Seed 1 is still training.
      open(experiment.finished_path(model_dir), "w").close()
  curves = seed_comparison.collect_curves(
    SPECS[2:3], str(root), [0, 1], 6, lambda w: w["kl_loss"]
  )
  assert list(curves) == ["yoto"] and list(curves["yoto"]) == [0]
  # Test-split full loss, β · kl + reconstruction: 2 · 6 + 2 at step 6.
  assert curves["yoto"][0][6] == {0.5: pytest.approx(3.5), 2.0: 14.0}
  # Any other number of the row: here the weighted KL term β · kl alone.
  terms = seed_comparison.collect_curves(
    SPECS[2:3],
    str(root),
    [0, 1],
    6,
    lambda w: w["kl_loss"],
    value_of=lambda values, weights: weights["kl_loss"] * values["kl_loss"],
  )
  assert terms["yoto"][0][6] == {0.5: pytest.approx(3.0), 2.0: 12.0}


def test_cpu_summary_sums_the_sweep_over_the_seeds_all_finished():
  timings = {
    "fixed_a": {0: {"cpu_seconds": 10.0}, 1: {"cpu_seconds": 12.0}},
    "fixed_b": {0: {"cpu_seconds": 20.0}},
    "yoto": {0: {"cpu_seconds": 8.0}, 1: {"cpu_seconds": 10.0}},
  }
  assert seed_comparison.cpu_summary(
    timings, ["fixed_a", "fixed_b"], ["yoto", "yoto_long"]
  ) == {"fixed_sweep": 30.0, "yoto": 9.0, "yoto_long": None}
