"""End-to-end tests of `experiment`: train, eval, export, resume, configs."""

import glob
import json
import os

from conftest import TINY_BINDINGS
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
import tensorflow_hub as hub

from yoto import results
from yoto import run_config
from yoto.training import experiment

YOTO_CONFIG = "photo_patches_conv_vae_yoto.gin"
FIXED_CONFIG = "photo_patches_conv_vae_fixed.gin"


@pytest.fixture(scope="module")
def yoto_run(tmp_path_factory):
  from conftest import run_experiment  # pylint: disable=g-import-not-at-top

  model_dir = tmp_path_factory.mktemp("yoto_run")
  result = run_experiment(model_dir, YOTO_CONFIG, TINY_BINDINGS)
  return model_dir, result


def test_train_and_eval_leaves_checkpoints_metrics_and_modules(yoto_run):
  model_dir, result = yoto_run
  assert result.final_step == 6
  assert os.path.exists(os.path.join(model_dir, "FINISHED"))
  assert tf.train.latest_checkpoint(str(model_dir)).endswith("ckpt-6")
  modules = sorted(os.listdir(os.path.join(model_dir, "hub_modules")))
  assert modules == ["step-000000003", "step-000000006"]
  assert result.hub_module.endswith("step-000000006")
  assert glob.glob(os.path.join(model_dir, "events.out.tfevents.*"))
  assert glob.glob(os.path.join(model_dir, "eval_test", "events.*"))


def test_metrics_rows_hold_full_loss_for_each_eval_weight(yoto_run):
  model_dir, _ = yoto_run
  rows = results.read_rows(str(model_dir))
  betas = [0.5, 2.0, 8.0, 32.0, 128.0, 512.0]
  for step in (3, 6):
    for split in ("train_full", "test"):
      selected = [r for r in rows if r["step"] == step and r["split"] == split]
      assert [r["weights"]["kl_loss"] for r in selected] == betas
      for row in selected:
        values = row["values"]
        assert set(values) >= {"kl_loss", "reconstruction_loss", "full_loss"}
        expected = (
          row["weights"]["kl_loss"] * values["kl_loss"]
          + values["reconstruction_loss"]
        )
        assert values["full_loss"] == pytest.approx(expected, rel=1e-4)
        assert row["model"] == "yoto" and row["num_examples"] == 64


def test_run_config_records_the_resolved_settings(yoto_run):
  model_dir, _ = yoto_run
  config = run_config.read(str(model_dir))
  assert config.source == os.path.join(model_dir, "run_config.json")
  assert (config.problem, config.optimizer, config.model) == (
    "ConditionalVaeProblem",
    "YotoOptimizer",
    "yoto",
  )
  assert config.loss_names == ("kl_loss", "reconstruction_loss")
  assert config.train_weights is None
  assert config.train_distribution == {
    "type": "LOG_UNIFORM",
    "preprocessing": "log",
    "ranges": {"kl_loss": [0.5, 512.0], "reconstruction_loss": [0.999, 1.001]},
  }
  assert [w["kl_loss"] for w in config.eval_weights] == [
    0.5,
    2.0,
    8.0,
    32.0,
    128.0,
    512.0,
  ]
  assert (
    config.dataset_name,
    config.train_steps,
    config.eval_steps,
    config.seed,
  ) == ("photo_patches", 6, 1, 0)


def test_module_loads_with_hub_load_and_beta_changes_outputs(yoto_run):
  _, result = yoto_run
  module = hub.load(result.hub_module)
  metadata = json.loads(module.metadata()["metadata"].numpy())
  assert metadata["loss_names"] == ["kl_loss", "reconstruction_loss"]
  assert metadata["preprocessing"] == "log"
  assert metadata["ranges"]["kl_loss"] == [0.5, 512.0]
  image = tf.random.uniform([4, 32, 32, 3], -1, 1, seed=1)
  low = module.reconstruct(
    image=image, inputs_extra=tf.math.log([[0.5, 1.0]] * 4)
  )["reconstructions"]
  high = module.reconstruct(
    image=image, inputs_extra=tf.math.log([[512.0, 1.0]] * 4)
  )["reconstructions"]
  assert low.shape == [4, 32, 32, 3]
  assert not np.allclose(low, high)
  # The raw-weights path does the same preprocessing inside the module.
  at_beta = module.reconstruct_at_beta(image=image, beta=tf.constant(0.5))
  np.testing.assert_allclose(at_beta["reconstructions"], low, atol=1e-5)
  per_example = module.reconstruct_at_beta(
    image=image, beta=tf.constant([0.5, 512.0, 0.5, 512.0])
  )
  np.testing.assert_allclose(
    per_example["reconstructions"][1], high[1], atol=1e-5
  )


def test_module_loads_as_keras_layer_with_dict_inputs(yoto_run):
  _, result = yoto_run
  layer = hub.KerasLayer(
    result.hub_module, signature="sample", signature_outputs_as_dict=True
  )
  noise = tf.random.normal([3, 32], seed=2)
  outputs = layer(
    {"noise": noise, "inputs_extra": tf.math.log([[4.0, 1.0]] * 3)}
  )
  assert outputs["samples"].shape == [3, 32, 32, 3]
  extras = hub.KerasLayer(
    result.hub_module,
    signature="sample_with_extras",
    signature_outputs_as_dict=True,
  )({"noise": noise, "inputs_extra": tf.math.log([[4.0, 1.0]] * 3)})
  np.testing.assert_allclose(
    extras["image_samples"], outputs["samples"], atol=1e-6
  )
  assert "image_samples_log_sigmas" in extras


@pytest.mark.parametrize(
  "beta, message",
  [
    (0.0, "must be positive"),
    (-1.0, "must be positive"),
    (4096.0, "outside the training range"),
    (float("nan"), "must be finite"),
    (float("inf"), "must be finite"),
    (
      [4.0, 4.0, 4.0],
      "one weight vector per example for a batch of a different size",
    ),
  ],
)
def test_module_rejects_bad_beta(yoto_run, beta, message):
  _, result = yoto_run
  module = hub.load(result.hub_module)
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    module.reconstruct_at_beta(
      image=tf.zeros([2, 32, 32, 3]), beta=tf.constant(beta)
    )


@pytest.mark.parametrize(
  "shape", [[2, 64, 64, 3], [2, 32, 32, 1], [2, 32, 16, 3]]
)
def test_module_rejects_images_of_the_wrong_size(yoto_run, shape):
  """Checked in the graph: an InvalidArgumentError that says what the
  module expects, from every signature that takes images."""
  _, result = yoto_run
  module = hub.load(result.hub_module)
  expected = "images of shape \\[batch, 32, 32, 3\\]"
  with pytest.raises(tf.errors.InvalidArgumentError, match=expected):
    module.reconstruct(
      image=tf.zeros(shape), inputs_extra=tf.math.log([[4.0, 1.0]] * 2)
    )
  with pytest.raises(tf.errors.InvalidArgumentError, match=expected):
    module.reconstruct_at_beta(image=tf.zeros(shape), beta=tf.constant(4.0))


def test_module_rejects_wrong_inputs_extra_width(yoto_run):
  _, result = yoto_run
  module = hub.load(result.hub_module)
  with pytest.raises((ValueError, TypeError)):
    module.reconstruct(
      image=tf.zeros([2, 32, 32, 3]), inputs_extra=tf.zeros([2, 3])
    )
  with pytest.raises(tf.errors.InvalidArgumentError, match="shape \\[2\\]"):
    module.reconstruct_at_weights(
      image=tf.zeros([2, 32, 32, 3]), loss_weights=tf.ones([2, 3])
    )


def test_finished_run_is_not_retrained_and_eval_skips_done_work(yoto_run):
  from conftest import run_experiment  # pylint: disable=g-import-not-at-top

  model_dir, _ = yoto_run
  rows_before = len(results.read_rows(str(model_dir)))
  result = run_experiment(
    model_dir, YOTO_CONFIG, TINY_BINDINGS, schedule="train"
  )
  assert result.final_step == 6 and result.train_history == []
  result = run_experiment(
    model_dir,
    YOTO_CONFIG,
    TINY_BINDINGS,
    schedule="eval",
    eval_timeout_secs=5,
    eval_poll_secs=0.2,
  )
  assert result.evaluated_steps == [3, 6]
  assert len(results.read_rows(str(model_dir))) == rows_before


def test_eval_schedule_evaluates_every_checkpoint_of_a_train_run(
  tmp_path, run_experiment
):
  run_experiment(tmp_path, YOTO_CONFIG, TINY_BINDINGS, schedule="train")
  assert not os.path.exists(tmp_path / "hub_modules")
  result = run_experiment(
    tmp_path,
    YOTO_CONFIG,
    TINY_BINDINGS,
    schedule="eval",
    eval_timeout_secs=5,
    eval_poll_secs=0.2,
  )
  assert result.evaluated_steps == [3, 6]
  steps = {r["step"] for r in results.read_rows(str(tmp_path))}
  assert steps == {3, 6}


def test_eval_schedule_skips_a_damaged_checkpoint(tmp_path, run_experiment):
  run_experiment(tmp_path, YOTO_CONFIG, TINY_BINDINGS, schedule="train")
  (data_file,) = glob.glob(str(tmp_path / "ckpt-3.data-*"))
  with open(data_file, "r+b") as f:
    f.truncate(10)
  result = run_experiment(
    tmp_path,
    YOTO_CONFIG,
    TINY_BINDINGS,
    schedule="eval",
    eval_timeout_secs=5,
    eval_poll_secs=0.2,
    export_hub_modules=False,
  )
  assert result.evaluated_steps == [6]
  assert {r["step"] for r in results.read_rows(str(tmp_path))} == {6}
  assert os.path.getsize(data_file) == 10  # Left as it was.


def test_noexport_evaluates_only_and_a_later_eval_run_exports(
  tmp_path, run_experiment
):
  result = run_experiment(
    tmp_path, YOTO_CONFIG, TINY_BINDINGS, export_hub_modules=False
  )
  assert result.evaluated_steps == [3, 6] and result.hub_module is None
  assert not os.path.exists(tmp_path / "hub_modules")
  rows = len(results.read_rows(str(tmp_path)))
  assert rows > 0
  result = run_experiment(
    tmp_path,
    YOTO_CONFIG,
    TINY_BINDINGS,
    schedule="eval",
    eval_timeout_secs=5,
    eval_poll_secs=0.2,
  )
  assert result.hub_module.endswith("step-000000006")
  assert len(results.read_rows(str(tmp_path))) == rows  # Not re-run.


def test_same_seed_gives_the_same_loss_curve(tmp_path, run_experiment):
  bindings = TINY_BINDINGS + ("experiment.eval_steps = 1",)
  curves = []
  for name in ("a", "b"):
    result = run_experiment(
      tmp_path / name, YOTO_CONFIG, bindings, schedule="train", seed=3
    )
    curves.append([means["loss"] for _, means in result.train_history])
  assert len(curves[0]) == 2
  np.testing.assert_allclose(curves[0], curves[1], rtol=1e-5)
  other = run_experiment(
    tmp_path / "c", YOTO_CONFIG, bindings, schedule="train", seed=4
  )
  assert not np.allclose(curves[0], [m["loss"] for _, m in other.train_history])


def test_fixed_weight_run_is_evaluated_at_every_eval_weight(
  tmp_path, run_experiment
):
  result = run_experiment(tmp_path, FIXED_CONFIG, TINY_BINDINGS)
  rows = [
    r
    for r in results.read_rows(str(tmp_path))
    if r["step"] == 6 and r["split"] == "test"
  ]
  assert len(rows) == 6 and all(r["model"] == "fixed" for r in rows)
  # One model: the same losses at every weight, a different full loss.
  kls = {round(r["values"]["kl_loss"], 4) for r in rows}
  assert len(kls) == 1
  assert len({r["values"]["full_loss"] for r in rows}) == 6
  module = hub.load(result.hub_module)
  out = module.reconstruct(image=tf.zeros([2, 32, 32, 3]))
  assert out["reconstructions"].shape == [2, 32, 32, 3]
  metadata = json.loads(module.metadata()["metadata"].numpy())
  assert metadata["preprocessing"] is None
  assert metadata["fixed_weights"] == {
    "kl_loss": 8.0,
    "reconstruction_loss": 1.0,
  }
  config = run_config.read(str(tmp_path))
  assert (config.optimizer, config.model) == (
    "LinearlyScalarizedOptimizer",
    "fixed",
  )
  assert config.train_weights == metadata["fixed_weights"]
  assert config.train_distribution is None


@pytest.mark.parametrize(
  "config, dataset, eval_batch",
  [
    ("cifar_conv_vae_yoto.gin", "cifar10", 64),
    ("shapes3d_conv_vae_yoto.gin", "shapes3d", 64),
  ],
)
def test_original_style_configs_train_and_eval_on_mock_data(
  tmp_path, run_experiment, config, dataset, eval_batch
):
  del dataset, eval_batch
  with tfds.testing.mock_data(num_examples=400):
    result = run_experiment(
      tmp_path,
      config,
      [
        "experiment.train_steps = 2",
        "experiment.iterations_per_loop = 1",
        "experiment.save_checkpoints_steps = 2",
        "experiment.eval_steps = 1",
      ],
    )
  assert result.final_step == 2
  rows = results.read_rows(str(tmp_path))
  assert rows and all(np.isfinite(r["values"]["full_loss"]) for r in rows)
  assert result.hub_module is not None


def test_follow_checkpoints_stops_when_finished(tmp_path):
  (tmp_path / "FINISHED").write_text("0\n")
  assert list(experiment.follow_checkpoints(str(tmp_path), 30, 0.1)) == []


def test_follow_checkpoints_times_out_without_checkpoints(tmp_path):
  assert list(experiment.follow_checkpoints(str(tmp_path), 0.5, 0.1)) == []
