"""Tests of the mixed-precision option (`experiment.mixed_precision_policy`)."""

import math

from conftest import run_experiment
import numpy as np
import pytest
import tensorflow as tf

from yoto.training import precision

CONFIG = "photo_patches_conv_vae_yoto.gin"
# Six single-step loops: history[0] is the loss of the first step, before
# any update, so runs that differ only in precision start from equal losses.
BINDINGS = (
  "experiment.train_steps = 6",
  "experiment.iterations_per_loop = 1",
  "experiment.save_checkpoints_steps = 6",
  "experiment.batch_size = 16",
  "experiment.eval_steps = 1",
)


def _train(tmp_path, policy):
  bindings = BINDINGS
  if policy is not None:
    bindings += (f"experiment.mixed_precision_policy = '{policy}'",)
  result = run_experiment(
    tmp_path / str(policy), CONFIG, bindings, schedule="train"
  )
  return [means for _, means in result.train_history]


@pytest.fixture(scope="module")
def float32_history(tmp_path_factory):
  return _train(tmp_path_factory.mktemp("float32"), None)


# Measured: 1.1e-3 (bfloat16) and 5e-4 (float16) on the first step's loss.
@pytest.mark.parametrize(
  "policy, rel", [("mixed_bfloat16", 5e-3), ("mixed_float16", 2e-3)]
)
def test_mixed_precision_trains_with_finite_losses_equal_to_float32(
  tmp_path, float32_history, policy, rel
):
  history = _train(tmp_path, policy)
  assert len(history) == len(float32_history) == 6
  for means in history:
    for name, value in means.items():
      assert math.isfinite(value), (policy, name, history)
  first, reference = history[0], float32_history[0]
  for name in ("loss", "kl_loss", "reconstruction_loss"):
    assert first[name] == pytest.approx(reference[name], rel=rel), name
  if policy == "mixed_bfloat16":  # Five updates later, still float32's loss.
    assert history[-1]["loss"] == pytest.approx(
      float32_history[-1]["loss"], rel=1e-2
    )
  # (float16 skips its first steps while the dynamic loss scale, starting at
  # 2**15, comes down to what these pixel-summed losses allow.)
  assert tf.keras.mixed_precision.global_policy().name == "float32"


def test_networks_compute_in_16_bits_and_losses_stay_float32():
  from yoto.problems import vae  # pylint: disable=g-import-not-at-top
  from yoto.architectures import convnet  # pylint: disable=g-import-not-at-top

  with precision.policy_scope("mixed_bfloat16"):
    problem = vae.ConditionalVaeProblem(
      encoder=lambda: convnet.ConditionalConvnet(
        num_blocks=1,
        base_num_channels=4,
        fc_layer_sizes=[8],
        conditioning_type="mult_and_add",
      ),
      decoder=lambda: convnet.ConditionalConvnet(
        num_blocks=1,
        base_num_channels=4,
        fc_layer_sizes=[64],
        channels_out=6,
        upconv=True,
        upconv_reshape_size=[4, 4, 4],
        conditioning_type="mult_and_add",
      ),
      latent_dimensions=4,
    )
    problem.initialize_model(
      {"image": tf.TensorSpec([2, 8, 8, 3], tf.float32)}, 2
    )
    images = tf.random.stateless_uniform([2, 8, 8, 3], [1, 2], -1, 1)
    losses, _ = problem.losses_and_metrics(
      {"image": images}, tf.zeros([2, 2]), seed=tf.constant([3, 4])
    )
  assert problem.encoder.compute_dtype == "bfloat16"
  assert problem.decoder.variables[0].dtype == tf.float32
  for loss in losses.values():
    assert loss.dtype == tf.float32 and np.isfinite(loss.numpy()).all()
  assert tf.keras.mixed_precision.global_policy().name == "float32"


def test_float16_wraps_the_optimizer_in_a_loss_scale():
  adam = tf.keras.optimizers.Adam()
  with precision.policy_scope("mixed_float16"):
    (wrapped,) = precision.maybe_loss_scale([adam])
    assert isinstance(wrapped, tf.keras.mixed_precision.LossScaleOptimizer)
    loss = tf.constant(2.0)
    scaled = precision.scale_loss(wrapped, loss)
    assert float(scaled) == 2.0 * float(wrapped.loss_scale)
    (unscaled,) = precision.unscale_gradients(wrapped, [scaled])
    assert float(unscaled) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="one optimizer"):
      precision.maybe_loss_scale([adam, tf.keras.optimizers.Adam()])
  with precision.policy_scope("mixed_bfloat16"):  # No scaling needed.
    assert precision.maybe_loss_scale([adam]) == [adam]
  assert precision.scale_loss(adam, loss) is loss


def test_bad_policy_names_the_choices_and_restores_the_policy():
  with pytest.raises(ValueError, match="mixed_float16, mixed_bfloat16"):
    with precision.policy_scope("float16"):
      pass
  with pytest.raises(RuntimeError):
    with precision.policy_scope("mixed_bfloat16"):
      raise RuntimeError("inside")
  assert tf.keras.mixed_precision.global_policy().name == "float32"
  assert precision.check_policy(None) == "float32"


def test_experiment_rejects_a_bad_policy_before_building_anything(tmp_path):
  with pytest.raises(ValueError, match="experiment.mixed_precision_policy"):
    _train(tmp_path, "bfloat16")


def test_problems_without_mixed_precision_support_are_rejected():
  from yoto.problems import compression  # pylint: disable=g-import-not-at-top
  from yoto.problems import style_transfer  # pylint: disable=g-import-not-at-top
  from yoto.problems import vae  # pylint: disable=g-import-not-at-top

  assert vae.ConditionalVaeProblem.supports_mixed_precision
  for problem_class in (
    compression.HyperpriorCompressionProblem,
    style_transfer.StyleTransferProblem,
  ):
    problem = problem_class.__new__(problem_class)  # No networks needed.
    precision.check_problem(problem)  # float32: fine.
    with precision.policy_scope("mixed_bfloat16"):
      with pytest.raises(ValueError, match=problem_class.__name__):
        precision.check_problem(problem)
