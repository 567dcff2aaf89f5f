"""Every benchmark script runs end to end in its --tiny mode, so none rots.

The numbers of a tiny run mean nothing; these tests check that each script
exercises its code paths and writes its result files (the reproductions
have test files of their own).
"""

import functools
import json
import os
import sys

import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import common
from benchmarks import compute_limit
from benchmarks import determinism_cost
from benchmarks import eval_cost
from benchmarks import film_overhead
from benchmarks import hub_latency
from benchmarks import input_pipeline
from benchmarks import reproduce_vae
from benchmarks import style_weight_effect
from benchmarks import train_throughput
# pylint: enable=g-import-not-at-top,wrong-import-position


def _assert_written(out_dir, name, script=None):
  """The .json (with its machine and the command of `script`, default
  `name`) and the .md exist."""
  with open(os.path.join(out_dir, f"{name}.json")) as f:
    payload = json.load(f)
  assert payload["machine"]["cpu_count"] >= 1
  assert f"benchmarks.{script or name}" in payload["command"]
  assert os.path.getsize(os.path.join(out_dir, f"{name}.md")) > 100
  return payload["results"]


def _all_ratios_positive(ratios):
  for ratio in ratios.values():
    assert ratio["cpu"] > 0 and ratio["wall"] > 0


def test_train_throughput_runs_every_section(tmp_path):
  results = train_throughput.main(
    [
      "--tiny",
      "--architectures=cifar10",
      "--xla_models=yoto",
      f"--out_dir={tmp_path}",
    ]
  )
  loop = results["loop"]["cifar10"]
  # The plain Keras reference has exactly the fixed model's layers.
  assert loop["params"]["keras"] == loop["params"]["fixed"]
  assert loop["params"]["yoto"] > loop["params"]["fixed"]
  for section in (loop, results["xla"]["cifar10"], results["pipeline"]):
    _all_ratios_positive(section["ratios"])
  _assert_written(tmp_path, "train_throughput")


def test_input_pipeline_times_both_pipelines_against_the_step(tmp_path):
  results = input_pipeline.main(["--tiny", f"--out_dir={tmp_path}"])
  assert results["preprocess"] == "flip_lr()|value_range(-1,1)"
  assert results["num_train"] == 12000 and results["steps_per_call"] == 2
  for name in input_pipeline.PIPELINES:
    assert results["alone"]["ms_per_batch"]["cpu"][name] > 0
  _all_ratios_positive(results["alone"]["share_of_step"])
  _all_ratios_positive(results["loop"]["ratios"])
  assert set(results["loop"]["ratios"]) == {
    "batched/in-memory",
    "per_example/in-memory",
  }
  _assert_written(tmp_path, "input_pipeline")


def test_film_overhead_times_a_variant(tmp_path):
  results = film_overhead.main(
    [
      "--tiny",
      "--architectures=shapes3d",
      "--variants=custom_gradient",
      f"--out_dir={tmp_path}",
    ]
  )
  ratios = results["shapes3d"]["ratios"]
  assert set(ratios) == {
    "yoto/fixed",
    "literal/fixed",
    "yoto/literal",
    "custom_gradient/fixed",
    "custom_gradient/yoto",
  }
  _all_ratios_positive(ratios)
  _assert_written(tmp_path, "film_overhead")


def test_custom_gradient_variant_computes_film_and_its_gradients():
  arch = common.ARCHITECTURES["shapes3d"]
  state = common.build_state(
    arch.yoto_config, (), arch.image_shape, batch_size=2
  )
  layer = state.problem.decoder.film_layers[0]  # 8 channels at 64x64.
  features = tf.random.normal([2, 64, 64, 8])
  bias = tf.random.normal([8])
  inputs_extra = tf.math.log([[4.0, 1.0], [300.0, 1.0]])
  outputs = {}
  for name, fn in (
    ("layer", layer),
    ("custom", functools.partial(film_overhead.custom_gradient, layer)),
  ):
    with tf.GradientTape() as tape:
      tape.watch([features, bias])
      y = fn(features, inputs_extra, bias=bias)
      loss = tf.reduce_sum(y * tf.cos(y))
    outputs[name] = [y] + tape.gradient(
      loss, [features, bias] + layer.trainable_variables
    )
  for got, want in zip(outputs["custom"], outputs["layer"]):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_eval_cost_times_every_number_of_weights(tmp_path):
  results = eval_cost.main(
    ["--tiny", "--architectures=shapes3d", f"--out_dir={tmp_path}"]
  )
  costs = results["shapes3d"]["cost_over_k1"]
  assert set(costs) == {
    f"{m}_k{k}" for m in ("yoto", "fixed") for k in eval_cost.NUM_WEIGHTS
  }
  assert costs["yoto_k1"] == {"cpu": 1.0, "wall": 1.0}
  _assert_written(tmp_path, "eval_cost")


def test_determinism_cost_times_both_modes_in_fresh_processes(tmp_path):
  results = determinism_cost.main(["--tiny", f"--out_dir={tmp_path}"])
  assert results["workers"] == {"default": 1, "deterministic": 1}
  for mode in determinism_cost.MODES:
    (run,) = results["runs"][mode]
    assert run["seconds_per_step"]["wall"] > 0
    assert len(run["digest_a"]) == 40
  assert results["identical_reruns"]["deterministic"] == 1
  assert results["deterministic_over_default"]["cpu"] > 0
  _assert_written(tmp_path, "determinism_cost")


def test_beta_grid_is_log_spaced_over_the_range():
  betas = [w["kl_loss"] for w in eval_cost.beta_grid(13, 0.5, 2048.0)]
  np.testing.assert_allclose(betas, 0.5 * 2.0 ** np.arange(13), rtol=1e-6)


def test_reproduced_yoto_model_feeds_hub_latency(tmp_path):
  models = tmp_path / "models"
  reproduce_vae.main(
    [
      "--tiny",
      "--setting=photo_patches",
      "--betas=2,32",
      "--seeds=1",
      "--evals=1",
      "--variants=yoto",
      "--only=yoto",
      f"--model_root={models}",
      f"--out_dir={tmp_path / 'out'}",
    ]
  )
  latency = hub_latency.main(
    [
      "--tiny",
      f"--model_dir={models / 'steps4' / 'seed0' / 'yoto'}",
      f"--out_dir={tmp_path / 'hub'}",
    ]
  )
  # The exported module computes what the restored Keras model computes.
  assert max(latency["max_abs_difference_to_keras_function"].values()) < 1e-3
  _assert_written(tmp_path / "hub", "hub_latency")


def test_style_weight_effect_measures_both_ends_of_every_weight(tmp_path):
  report = style_weight_effect.main(["--tiny", f"--model_dir={tmp_path}"])
  diffs = report["mean_abs_diff_0_255"]
  assert set(diffs) == {
    "content_loss",
    "style_loss_1",
    "style_loss_2",
    "style_loss_3",
    "style_loss_4",
  }
  assert all(np.isfinite(v) and v >= 0 for v in diffs.values())
  # The centre and both ends of each of the five weights, six losses each.
  assert len(report["settings"]) == 11
  assert all(len(s["losses"]) == 6 for s in report["settings"].values())
  assert all(-1 <= s["content_ssim"] <= 1 for s in report["settings"].values())
  assert report["num_images"] == 4  # 2 content crops x 2 held-out styles.
  for name in (style_weight_effect.RESULT_FILE, style_weight_effect.GRID_FILE):
    assert os.path.getsize(os.path.join(tmp_path, name)) > 100
  # The same module measured with the training styles: its own files, the
  # held-out measurement kept.
  train = style_weight_effect.main(
    [f"--model_dir={tmp_path}", "--styles=train", "--num_images=2"]
  )
  assert train["styles"] == "train" and report["styles"] == "held_out"
  assert train["num_images"] == 2 * 6  # 2 content crops x 6 training styles.
  assert train["bindings"] == report["bindings"]  # How it was trained, kept.
  for name in (
    "style_weight_effect_train.json",
    "style_weight_effect_train.png",
  ):
    assert os.path.getsize(os.path.join(tmp_path, name)) > 100
  with open(os.path.join(tmp_path, style_weight_effect.RESULT_FILE)) as f:
    assert json.load(f)["styles"] == "held_out"


def test_forward_macs_count_convolutions_transposed_convolutions_matmuls():
  conv = tf.keras.layers.Conv2D(5, 3, padding="same")
  up = tf.keras.layers.Conv2DTranspose(2, 3, strides=2, padding="same")
  dense = tf.keras.layers.Dense(7)
  forward = lambda x: dense(tf.reshape(up(conv(x)), [-1, 16 * 16 * 2]))
  macs = compute_limit.forward_macs_per_image(forward, [8, 8, 3])
  # conv: 8x8 outputs of 3x3x3 -> 5; transposed: each of 8x8 inputs
  # scatters 3x3x5 -> 2; dense: 512 -> 7.
  assert macs == 8 * 8 * 3 * 3 * 3 * 5 + 8 * 8 * 3 * 3 * 5 * 2 + 512 * 7
