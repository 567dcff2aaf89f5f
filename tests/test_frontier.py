"""Tests of yoto.analysis.frontier: Pareto fronts, baseline and gaps."""

import math

import fake_runs
import numpy as np
import pytest

from yoto.analysis import frontier
from yoto.analysis import metrics


def test_pareto_front_removes_dominated_points_and_orders_by_x():
  points = [
    (3.0, 4.0),  # Dominated by (2, 3).
    (1.0, 5.0),
    (4.0, 1.0),
    (2.0, 3.0),
    (5.0, 1.0),  # Dominated by (4, 1): same y, larger x.
    (2.0, 3.0),  # A duplicate: only the first is kept.
    (1.0, 6.0),  # Dominated by (1, 5): same x, larger y.
    (math.nan, 0.0),
  ]
  np.testing.assert_array_equal(frontier.pareto_front(points), [1, 3, 2])


def test_pareto_front_of_a_line_keeps_every_point_in_order():
  points = [(x, 10.0 - x) for x in (5.0, 1.0, 3.0, 2.0)]
  front = frontier.pareto_front(points)
  np.testing.assert_array_equal(front, [1, 3, 2, 0])
  xs = np.asarray(points)[front]
  assert np.all(np.diff(xs[:, 0]) > 0) and np.all(np.diff(xs[:, 1]) < 0)


def test_pareto_front_of_one_point_and_of_none():
  np.testing.assert_array_equal(frontier.pareto_front([(1.0, 2.0)]), [0])
  assert frontier.pareto_front(np.zeros((0, 2))).size == 0


def test_beta_is_the_relative_weight_of_the_beta_loss():
  axes = frontier.LossAxes()
  assert axes.beta({"kl_loss": 8.0, "reconstruction_loss": 2.0}) == 4.0
  compression = frontier.LossAxes(
    x="rate", y="distortion", beta_loss="distortion"
  )
  assert compression.beta({"rate": 1.0, "distortion": 0.01}) == 0.01


@pytest.mark.parametrize(
  "kwargs", [dict(x="kl_loss", y="kl_loss"), dict(beta_loss="other_loss")]
)
def test_loss_axes_reject_inconsistent_names(kwargs):
  with pytest.raises(ValueError):
    frontier.LossAxes(**kwargs)


def _comparison(tmp_path, **kwargs):
  yoto_dir, fixed_dirs = fake_runs.write_sweep(tmp_path, **kwargs)
  yoto, fixed = metrics.load_comparison(yoto_dir, fixed_dirs)
  return frontier.compare(yoto, fixed)


def test_gaps_are_full_loss_differences_to_the_fixed_model_at_that_beta(
  tmp_path,
):
  # YOTO is worse than the dedicated models by 1 nat of reconstruction.
  yoto_losses = lambda b, *_: (10.0 / (1 + b), 101.0 + 5.0 * b)
  comparison = _comparison(tmp_path, yoto_losses=yoto_losses)
  assert [r.beta for r in comparison.rows] == [0.5, 2.0, 8.0]
  gaps = {r.beta: r.yoto_gap for r in comparison.rows}
  assert gaps[0.5] == pytest.approx(1.0, abs=1e-9)
  assert gaps[8.0] == pytest.approx(1.0, abs=1e-9)
  assert gaps[2.0] is None  # No fixed model was trained at β = 2.
  row = comparison.rows[0]
  assert row.fixed.full_loss == pytest.approx(0.5 * 10 / 1.5 + 102.5)
  assert row.yoto.x == pytest.approx(10 / 1.5)
  assert row.yoto.y == pytest.approx(103.5)


def test_single_model_is_the_fixed_model_best_on_average_over_the_grid(
  tmp_path,
):
  comparison = _comparison(tmp_path)
  # Mean full loss over β in {0.5, 2, 8}: the β = 0.5 model (KL 6.67, rec
  # 102.5) averages 125.8, the β = 8 model (KL 1.11, rec 140) 143.9.
  assert comparison.single_model.name == "fixed_beta0.5"
  by_beta = {r.beta: r for r in comparison.rows}
  # At its own β the single model is the fixed model: no gap.
  assert by_beta[0.5].single_model_gap == pytest.approx(0.0)
  # At β = 8 it pays 8 * (6.67 - 1.11) - (140 - 102.5) = 6.94 more.
  assert by_beta[8.0].single_model_gap == pytest.approx(
    8 * (10 / 1.5 - 10 / 9) - 37.5
  )
  assert by_beta[2.0].single_model.full_loss == pytest.approx(
    2 * 10 / 1.5 + 102.5
  )


def test_points_of_each_method(tmp_path):
  comparison = _comparison(tmp_path)
  assert [p.beta for p in comparison.yoto_points()] == [0.5, 2.0, 8.0]
  fixed = comparison.fixed_points()
  assert [p.beta for p in fixed] == [0.5, 8.0]
  assert [p.label for p in fixed] == ["fixed_beta0.5", "fixed_beta8"]
  assert fixed[1].x == pytest.approx(10 / 9)
  assert len(comparison.single_model_points()) == 1


def test_compare_without_fixed_runs_has_only_yoto(tmp_path):
  comparison = _comparison(tmp_path, fixed_betas=())
  assert comparison.single_model is None
  assert comparison.single_model_points() == []
  assert all(r.fixed is None and r.yoto_gap is None for r in comparison.rows)


def test_compare_rejects_axes_the_runs_do_not_have(tmp_path):
  yoto_dir, _ = fake_runs.write_sweep(tmp_path, fixed_betas=())
  yoto = metrics.load_run(yoto_dir)
  with pytest.raises(metrics.MetricsError, match="no loss 'rate'"):
    frontier.compare(yoto, (), frontier.LossAxes(x="rate", beta_loss="rate"))
