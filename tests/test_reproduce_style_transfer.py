"""Tests of the style-transfer reproduction (benchmarks/reproduce_style_transfer
and its report): the Figure-6a points, and the seed protocol end
to end in --tiny mode (intervals over seeds, the blending baseline in full
loss, the figures)."""

import ast
import json
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import reproduce_style_transfer
from yoto import results as results_lib
# pylint: enable=g-import-not-at-top,wrong-import-position

CONTENT = "content_loss"
# Ghiasi's default (content 2, style 1-3 1e-3, style 4 1e-2) on the embedded
# config's ranges: style 1 / 2 / 3 / 4 ranges are the paper's x 1e-2, 1e-1,
# 10, 10.
DEFAULT = {
  CONTENT: 2.0,
  "style_loss_1": 1e-5,
  "style_loss_2": 1e-4,
  "style_loss_3": 1e-2,
  "style_loss_4": 0.1,
  "total_variation_loss": 1e4,
}


VARIANT = "yoto_style3_wide"  # Trained beside YOTO in the tiny runs.


@pytest.fixture(scope="module")
def config():
  return reproduce_style_transfer.read_config()


def test_figure6a_points_are_ghiasis_default_and_one_weight_times_ten(config):
  points = reproduce_style_transfer.figure6a_points(
    config.ranges,
    reproduce_style_transfer.varied_losses(
      reproduce_style_transfer.DEFAULT_VARIED
    ),
  )
  assert [p.name for p in points] == [
    "default",
    "content ÷10",
    "content x10",
    "style3 ÷10",
    "style3 x10",
  ]
  assert [p.model for p in points] == [
    "fixed_default",
    "fixed_content_div10",
    "fixed_content_x10",
    "fixed_style3_div10",
    "fixed_style3_x10",
  ]
  assert sorted(points) == points  # Tables keep this order.
  assert points[0].as_dict() == DEFAULT
  for point, factor in zip(points[1:], (0.1, 10, 0.1, 10)):
    expected = {**DEFAULT, point.varied: DEFAULT[point.varied] * factor}
    np.testing.assert_allclose(
      [point.as_dict()[k] for k in sorted(DEFAULT)],
      [expected[k] for k in sorted(DEFAULT)],
      rtol=1e-9,
    )
  every = reproduce_style_transfer.figure6a_points(
    config.ranges, reproduce_style_transfer.varied_losses("all")
  )
  assert len(every) == 11 and len({p.model for p in every}) == 11
  with pytest.raises(SystemExit, match="style_loss_9"):
    reproduce_style_transfer.varied_losses("style_loss_9")


def test_a_point_outside_yotos_range_is_refused(config):
  narrow = {**config.ranges, CONTENT: (1.0, 10.0)}
  with pytest.raises(ValueError, match="content ÷10"):
    reproduce_style_transfer.figure6a_points(narrow, [CONTENT])


def test_specs_fix_the_specialists_style_weights_at_the_default(config):
  points = reproduce_style_transfer.figure6a_points(config.ranges, [CONTENT])
  specs = reproduce_style_transfer.model_specs(points, config.ranges)
  assert [s.name for s in specs] == [p.model for p in points] + [
    "yoto",
    "specialist",
  ]
  assert [s.weights for s in specs[:3]] == [p.as_dict() for p in points]
  binding = next(b for b in specs[-1].bindings if "params" in b)
  params = ast.literal_eval(binding.split("=", 1)[1].strip())
  assert params[0] == {"low": 0.1, "high": 100.0}  # Content: whole range.
  for (name, weight), bounds in zip(sorted(DEFAULT.items())[1:], params[1:]):
    np.testing.assert_allclose(
      [bounds["low"], bounds["high"]], [weight, weight], rtol=2e-4, err_msg=name
    )


def test_a_variant_is_the_config_yoto_with_one_range_widened(config):
  points = reproduce_style_transfer.figure6a_points(
    config.ranges, ["style_loss_3"]
  )
  names = reproduce_style_transfer.yoto_names("yoto_style3_wide")
  assert names == ["yoto", "yoto_style3_wide"]
  specs = reproduce_style_transfer.model_specs(points, config.ranges, names)
  assert [s.name for s in specs[3:]] == names + ["specialist"]
  assert specs[3].bindings == ()  # The config's YOTO model as it is.
  binding = ast.literal_eval(specs[4].bindings[0].split("=", 1)[1].strip())
  widened = dict(zip(sorted(config.ranges), binding))
  for name, (low, high) in config.ranges.items():
    factor = 10.0 if name == "style_loss_3" else 1.0
    assert widened[name] == pytest.approx({"low": low / factor, "high": high})
  # The style 3 ÷10 point sat on the config's bound; now a decade inside.
  assert points[1].name == "style3 ÷10"
  style3_div10 = points[1].as_dict()["style_loss_3"]
  assert style3_div10 == pytest.approx(config.ranges["style_loss_3"][0])
  assert style3_div10 == pytest.approx(10 * widened["style_loss_3"]["low"])
  with pytest.raises(SystemExit, match="yoto_nonsense"):
    reproduce_style_transfer.yoto_names("yoto_nonsense")


def _eval_values(model_dir, step, weights):
  """The model's test-split eval values at `weights` and `step`."""
  for row in results_lib.read_rows(model_dir):
    if (
      row["split"] == "test"
      and row["step"] == step
      and np.allclose(
        [row["weights"][k] for k in sorted(weights)],
        [weights[k] for k in sorted(weights)],
      )
    ):
      return row["values"]
  raise AssertionError(f"no eval row of {model_dir} at {weights}")


def _tiny_args(models, out, *more):
  return [
    "--tiny",
    "--no_export",
    f"--varied={CONTENT}",
    f"--variants={VARIANT}",
    f"--model_root={models}",
    f"--out_dir={out}",
    *more,
  ]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
  """(model root, out dir, report) of a --tiny reproduction with 2 seeds."""
  root = tmp_path_factory.mktemp("tiny_style_reproduction")
  models, out = root / "models", root / "out"
  report = reproduce_style_transfer.main(_tiny_args(models, out, "--seeds=2"))
  return models, out, report


def test_tiny_reproduction_compares_in_full_loss_over_seeds(tiny_run):
  models, out, report = tiny_run
  fixed = ["fixed_default", "fixed_content_div10", "fixed_content_x10"]
  assert {n: sorted(t) for n, t in report["timings"].items()} == {
    n: [0, 1] for n in fixed + ["yoto", VARIANT, "specialist"]
  }
  assert report["seeds"] == [0, 1]
  assert [r["point"] for r in report["gaps"]] == [
    "default",
    "content ÷10",
    "content x10",
  ]
  for row in report["gaps"]:
    # The fixed model's seed spread beside every gap, intervals over seeds.
    assert row["fixed"]["n"] == 2 and row["fixed"]["std"] is not None
    for method in (
      "yoto",
      VARIANT,
      "specialist",
      "blend content",
      "single_model",
    ):
      gap = row["gaps"][method]
      assert gap["n"] == 2 and gap["half_width"] is not None, method
      assert np.isfinite(row["relative"][method])

  # The blends at α = 0 and 1 are the end models themselves, scored on the
  # test images the evaluator read: their losses are the eval rows'.
  steps = report["compared_step"]
  points = report["points"]
  for seed, blend in report["blends"]["blend content"].items():
    assert blend["models"] == ["fixed_content_div10", "fixed_content_x10"]
    for losses, name, point in (
      (blend["losses"][0], blend["models"][0], "content ÷10"),
      (blend["losses"][-1], blend["models"][1], "content x10"),
    ):
      own = _eval_values(
        str(models / "steps3" / f"seed{seed}" / name),
        steps,
        points[point]["weights"],
      )
      for key, value in losses.items():
        np.testing.assert_allclose(
          value, own[key], rtol=1e-4, err_msg=f"{name} {key}"
        )
    assert set(blend["best_alpha"]) == {"default", "content ÷10", "content x10"}

  # The photo returned unchanged: no content loss, and its gap at each
  # point is its full loss there minus the fixed model's eval row.
  photo = report["photo_losses"]
  assert photo[CONTENT] == 0 and photo["style_loss_1"] > 0
  for row in report["gaps"]:
    weights = points[row["point"]]["weights"]
    photo_full = sum(w * photo[k] for k, w in weights.items())
    fixed_full = [
      _eval_values(
        str(models / "steps3" / f"seed{seed}" / points[row["point"]]["model"]),
        steps,
        weights,
      )["full_loss"]
      for seed in (0, 1)
    ]
    np.testing.assert_allclose(
      row["gaps"]["photo"]["mean"], photo_full - np.mean(fixed_full), rtol=1e-4
    )

  # Every model evaluated three times: a convergence statement each.
  assert set(report["convergence"]) == set(fixed) | {
    "yoto",
    VARIANT,
    "specialist",
  }
  assert all(s is not None for s in report["convergence"].values())
  cpu = report["cpu_seconds"]
  assert cpu["fixed_sweep"] > cpu["yoto"] > 0 and cpu[VARIANT] > 0
  # The loss terms: the photo's, the fixed model's and YOTO's at each
  # point sum to their full losses (the photo's row: its gap + fixed).
  for row in report["gaps"]:
    terms = report["loss_terms"][row["point"]]
    assert set(terms) == {"photo", "fixed", "yoto"}
    assert terms["photo"][CONTENT] == 0
    np.testing.assert_allclose(
      sum(terms["fixed"].values()), row["fixed"]["mean"], rtol=1e-4
    )
    np.testing.assert_allclose(
      sum(terms["yoto"].values()),
      row["fixed"]["mean"] + row["gaps"]["yoto"]["mean"],
      rtol=1e-4,
    )
  # The sweep's envelope: at most each point's own fixed model, which is
  # behind it by exactly its 'own fixed' gap; YOTO's gap grows by as much.
  envelope = report["envelope"]
  for row, against in zip(report["gaps"], envelope["gaps"]):
    assert against["point"] == row["point"]
    own = against["gaps"]["own fixed"]["mean"]
    assert own >= 0
    np.testing.assert_allclose(
      against["best_fixed"]["mean"] + own, row["fixed"]["mean"], rtol=1e-5
    )
    np.testing.assert_allclose(
      against["gaps"]["yoto"]["mean"],
      row["gaps"]["yoto"]["mean"] + own,
      rtol=1e-4,
      atol=1e-3,
    )
    assert VARIANT in against["gaps"]
    assert set(envelope["best_fixed_model"][row["point"]].values()) <= set(
      fixed
    )
  # The gap against steps: YOTO at every point, the specialist on the
  # content line only, at each of the three evaluations.
  against_steps = report["gaps_against_steps"]
  for model in ("yoto", VARIANT):
    assert {p: len(s) for p, s in against_steps[model].items()} == {
      r["point"]: 3 for r in report["gaps"]
    }
  assert {p for p, s in against_steps["specialist"].items() if s} == {
    "default",
    "content ÷10",
    "content x10",
  }
  for suffix in ("gaps", "learning_curves", "figure7"):
    path = out / f"reproduce_style_transfer_{suffix}.png"
    assert os.path.getsize(path) > 1000, suffix
  with open(out / "reproduce_style_transfer.json") as f:
    assert "benchmarks.reproduce_style_transfer" in json.load(f)["command"]
  markdown = (out / "reproduce_style_transfer.md").read_text()
  assert "| fixed seed-to-seed sd (noise floor) |" in markdown
  assert "| best fixed full loss |" in markdown
  assert "| blend content |" in markdown
  assert "yoto − fixed full loss against training steps" in markdown
  assert "| default | photo | 0 |" in markdown
  # --no_export: evaluated, but no hub module (the analysis needs none).
  assert not list(models.glob("steps3/seed*/*/hub_modules"))


def test_a_fresh_machine_goes_on_from_the_ledger_without_retraining(
  tiny_run, tmp_path
):
  """The ledger (committed beside the results) stands in for the models of
  an earlier session: a new, empty model root trains nothing, and the
  tables over both seeds, blends included, come out the same."""
  _, out, first = tiny_run
  ledger = out / "ledgers" / "reproduce_style_transfer" / "steps3"
  assert sorted(p.name for p in ledger.iterdir()) == ["seed0", "seed1"]
  assert not list(ledger.glob("**/*.index")), "no checkpoint in the ledger"
  assert list(ledger.glob("seed*/blend_content.ledger.json"))
  fresh = tmp_path / "fresh_models"
  again = reproduce_style_transfer.main(
    _tiny_args(fresh, out, "--seeds=2", "--only=none")
  )
  assert again["seeds"] == [0, 1]
  assert not list(fresh.glob("**/*.index")), "nothing trained again"
  for before, after in zip(first["gaps"], again["gaps"]):
    assert before["point"] == after["point"]
    for method, gap in before["gaps"].items():
      np.testing.assert_allclose(
        after["gaps"][method]["mean"], gap["mean"], rtol=1e-6
      )
  assert again["blends"] == first["blends"]
  # Figure 7 needs weights, which the ledger does not keep.
  assert "reproduce_style_transfer_figure7.png" not in again["files"]
