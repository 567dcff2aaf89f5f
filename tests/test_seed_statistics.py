"""Tests for yoto.analysis.seed_statistics against hand-computed values.

A small fake results set: two fixed models (β = 1 and β = 10) and one YOTO
model, three seeds, evaluated at steps 100, 200, 300 and 400.
"""

import math

import pytest

from yoto.analysis import seed_statistics as st

# t_{0.975} quantiles of Student's t (tables): 2 and 1 degrees of freedom.
T_975_DF2 = 4.302652729911275
T_975_DF1 = 12.706204736174698


def _curves():
  """Losses chosen so that means and spreads are easy to do by hand."""
  fixed1 = {
    seed: {400: {1.0: -100.0 + seed, 10.0: 50.0 + seed}} for seed in range(3)
  }  # at β=1: -100, -99, -98
  fixed10 = {
    seed: {400: {1.0: -80.0, 10.0: 20.0 + 2 * seed}} for seed in range(3)
  }  # at β=10: 20, 22, 24
  yoto = {
    seed: {
      step: {
        1.0: -100.0 + seed + gap * 400 / step,
        10.0: 20.0 + 2 * seed + 4.0 * 400 / step,
      }
      for step in (100, 200, 300, 400)
    }
    for seed, gap in zip(range(3), (1.0, 2.0, 6.0))
  }
  return {"fixed_beta1": fixed1, "fixed_beta10": fixed10, "yoto": yoto}


FIXED = {1.0: "fixed_beta1", 10.0: "fixed_beta10"}


def test_interval_is_mean_and_student_t_half_width():
  result = st.interval([1.0, 2.0, 6.0])
  # mean 3, sample variance ((-2)^2 + (-1)^2 + 3^2) / 2 = 7.
  assert result.mean == pytest.approx(3.0, abs=1e-12)
  assert result.std == pytest.approx(math.sqrt(7.0), abs=1e-12)
  assert result.half_width == pytest.approx(
    T_975_DF2 * math.sqrt(7.0) / math.sqrt(3.0), rel=1e-9
  )
  assert result.n == 3


def test_interval_of_one_value_has_no_half_width_and_none_of_nothing():
  assert st.interval([5.0]) == st.Interval(5.0, None, 1)
  assert st.interval([]) is None
  assert st.interval([None, 4.0, 2.0]).mean == pytest.approx(3.0)


def test_paired_gap_uses_only_common_seeds():
  gap = st.paired_gap({0: 10.0, 1: 14.0, 2: 99.0}, {0: 9.0, 1: 11.0})
  # Differences 1 and 3: mean 2, sample std sqrt(2).
  assert gap.mean == pytest.approx(2.0)
  assert gap.half_width == pytest.approx(
    T_975_DF1 * math.sqrt(2) / math.sqrt(2), rel=1e-9
  )


def test_gap_rows_against_hand_computed_values():
  curves = _curves()
  rows = st.gap_rows(curves, FIXED, ["yoto"], 400, baseline="fixed_beta1")
  assert [r["label"] for r in rows] == [1.0, 10.0]
  beta1, beta10 = rows
  # β = 1: YOTO minus fixed per seed is 1, 2, 6.
  assert beta1["fixed"].mean == pytest.approx(-99.0)
  assert beta1["fixed"].std == pytest.approx(1.0)
  assert beta1["gaps"]["yoto"].mean == pytest.approx(3.0)
  assert beta1["gaps"]["yoto"].half_width == pytest.approx(
    T_975_DF2 * math.sqrt(7.0 / 3.0), rel=1e-9
  )
  assert beta1["gaps"]["single_model"].mean == pytest.approx(0.0)
  assert beta1["relative"]["yoto"] == pytest.approx(3.0 / 99.0)
  # β = 10: YOTO is 4 worse for every seed; the single model (β = 1) is
  # 30 + seed - 2 seed worse: 30, 29, 28.
  assert beta10["gaps"]["yoto"].mean == pytest.approx(4.0)
  assert beta10["gaps"]["yoto"].half_width == pytest.approx(0.0, abs=1e-9)
  assert beta10["gaps"]["single_model"].mean == pytest.approx(29.0)
  assert beta10["fixed"].std == pytest.approx(2.0)


def test_relative_gap_is_withheld_where_the_fixed_loss_is_near_zero():
  curves = {
    "f1": {0: {1: {1.0: -1000.0, 2.0: 0.0}}},
    "f2": {0: {1: {1.0: 0.0, 2.0: 5.0}}},
    "f3": {0: {1: {3.0: 2000.0}}},
    "y": {0: {1: {1.0: -900.0, 2.0: 15.0, 3.0: 2100.0}}},
  }
  rows = st.gap_rows(curves, {1.0: "f1", 2.0: "f2", 3.0: "f3"}, ["y"], 1)
  relative = [r["relative"]["y"] for r in rows]
  assert relative[0] == pytest.approx(0.1)
  assert relative[1] is None  # |5| is below a tenth of the median 1000.
  assert relative[2] == pytest.approx(0.05)


def test_single_model_is_the_fixed_model_best_on_average():
  # A fixed loss (-99 at β=1) is not positive, so the absolute losses are
  # averaged: fixed_beta1 ((-99) + 51) / 2 = -24; fixed_beta10
  # (-80 + 22) / 2 = -29: the better single model.
  assert st.single_model(_curves(), FIXED, 400) == "fixed_beta10"


def test_single_model_is_chosen_on_losses_relative_to_each_label():
  def constant(losses):
    return {seed: {400: losses} for seed in range(2)}

  curves = {  # Own losses 10 at β=1, 1000 at β=100, 100 at β=10.
    "fixed_beta1": constant({1.0: 10.0, 10.0: 300.0, 100.0: 1010.0}),
    "fixed_beta10": constant({1.0: 13.0, 10.0: 100.0, 100.0: 1200.0}),
    "fixed_beta100": constant({1.0: 30.0, 10.0: 200.0, 100.0: 1000.0}),
  }
  fixed = {1.0: "fixed_beta1", 10.0: "fixed_beta10", 100.0: "fixed_beta100"}
  # Relative to each β's own: beta1 (1 + 3 + 1.01) / 3 = 1.67; beta10
  # (1.3 + 1 + 1.2) / 3 = 1.17; beta100 (3 + 2 + 1) / 3 = 2. In absolute
  # terms beta100 (410) would win over beta10 (437.7) and beta1 (440).
  assert st.single_model(curves, fixed, 400) == "fixed_beta10"


def test_gap_curve_follows_steps():
  curve = st.gap_curve(_curves(), FIXED, "yoto", 10.0)
  # Only step 400 has the fixed model evaluated.
  assert list(curve) == [400]
  assert curve[400].mean == pytest.approx(4.0)


def test_relative_gap_curve_divides_by_the_fixed_seed_mean():
  curve = st.relative_gap_curve(_curves(), FIXED, "yoto", 1.0)
  assert list(curve) == [400]
  # Gaps 1, 2, 6 (mean 3, sd sqrt(7)) over |fixed mean| = 99.
  assert curve[400].mean == pytest.approx(3.0 / 99.0)
  assert curve[400].std == pytest.approx(math.sqrt(7.0) / 99.0)
  assert curve[400].half_width == pytest.approx(
    T_975_DF2 * math.sqrt(7.0) / math.sqrt(3.0) / 99.0
  )
  assert curve[400].n == 3


def test_convergence_statement():
  # Improvement 100 -> 10 overall; 3/4 of step 400 is 300: 12 -> 10.
  statement = st.convergence({100: 100.0, 200: 30.0, 300: 12.0, 400: 10.0})
  assert statement["from_step"] == 300
  assert statement["last_quarter_change"] == pytest.approx(2.0)
  assert statement["relative_change"] == pytest.approx(0.2)
  assert statement["share_of_improvement"] == pytest.approx(2.0 / 90.0)
  assert statement["plateaued"]
  still_improving = st.convergence({100: 100.0, 300: 60.0, 400: 10.0})
  assert still_improving["share_of_improvement"] == pytest.approx(50 / 90)
  assert not still_improving["plateaued"]
  assert st.convergence({100: 1.0, 200: 0.5}) is None


def test_model_convergence_reports_the_worst_label():
  statement = st.model_convergence(_curves(), "yoto", [1.0, 10.0])
  # Seed-mean curves: β = 1: -99 + 3 * 400 / step; β = 10: 22 + 1600 / step.
  # Share in the last quarter (300 -> 400) is the same form for both:
  # (1/300 - 1/400) / (1/100 - 1/400) = 1/9.
  assert statement["share_of_improvement"] == pytest.approx(1.0 / 9.0)
  assert not statement["plateaued"]
  assert statement["label"] in (1.0, 10.0)


def test_final_step_is_the_smallest_last_step_of_all_seeds():
  curves = {"a": {0: {100: {}, 200: {}}, 1: {100: {}}}, "b": {0: {300: {}}}}
  assert st.final_step(curves, ["a", "b"]) == 100
  assert st.final_step(curves, ["b"]) == 300


def test_a_method_with_its_own_steps_is_compared_at_its_last_step():
  curves = _curves()
  curves["yoto_long"] = {
    seed: {800: {1.0: -100.0 + seed - 5.0}} for seed in range(3)
  }
  rows = st.gap_rows(
    curves, FIXED, ["yoto", "yoto_long"], 400, method_steps={"yoto_long": 800}
  )
  assert rows[0]["gaps"]["yoto_long"].mean == pytest.approx(-5.0)
  assert rows[0]["gaps"]["yoto"].mean == pytest.approx(3.0)


def test_envelope_takes_each_labels_lowest_fixed_loss_and_names_its_model():
  curves = {
    "a": {0: {400: {1.0: 10.0, 2.0: 7.0}}, 1: {400: {1.0: 12.0, 2.0: 30.0}}},
    "b": {0: {400: {1.0: 11.0, 2.0: 20.0}}, 1: {400: {1.0: 9.0, 2.0: 25.0}}},
  }
  losses, chosen = st.envelope(curves, ["a", "b"])
  assert losses == {
    0: {400: {1.0: 10.0, 2.0: 7.0}},
    1: {400: {1.0: 9.0, 2.0: 25.0}},
  }
  assert chosen == {
    0: {400: {1.0: "a", 2.0: "a"}},
    1: {400: {1.0: "b", 2.0: "b"}},
  }
  own = st.own_models_curve(curves, {1.0: "a", 2.0: "b"})
  assert own == {
    0: {400: {1.0: 10.0, 2.0: 20.0}},
    1: {400: {1.0: 12.0, 2.0: 25.0}},
  }
  # The own models against the envelope: at 1.0 seed 1 loses 12 - 9 = 3,
  # at 2.0 seed 0 loses 20 - 7 = 13; mean over the two seeds.
  rows = st.gap_rows(
    dict(curves, own=own, best=losses), {1.0: "best", 2.0: "best"}, ["own"], 400
  )
  assert [r["gaps"]["own"].mean for r in rows] == [1.5, 6.5]
