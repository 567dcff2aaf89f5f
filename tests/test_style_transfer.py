"""Style transfer: losses by hand, networks' shapes and conditioning, problem.
"""

import os
import tempfile

import numpy as np
import pytest
import random_vgg
import tensorflow as tf

from yoto.architectures import conditioning
from yoto.architectures import style_transfer as networks
from yoto.architectures import vgg
from yoto.problems import style_transfer
from yoto.utils import style_augmentation

# ---------------------------------------------------------------------------
# Losses against hand-computed values.


def test_gram_matrix_by_hand():
  # One example, H=1, W=2, C=2: F = [[1, 2], [3, 4]] (rows are positions).
  features = tf.constant([[[[1.0, 2.0], [3.0, 4.0]]]])
  gram = style_transfer.gram_matrix(features).numpy()
  # FᵀF = [[1+9, 2+12], [2+12, 4+16]] = [[10, 14], [14, 20]], over H·W = 2.
  np.testing.assert_allclose(gram, [[[5.0, 7.0], [7.0, 10.0]]], atol=1e-6)


def test_content_loss_is_the_mean_squared_feature_difference():
  a = tf.constant([[[[1.0, 2.0]], [[3.0, 4.0]]],
                   [[[0.0, 0.0]], [[0.0, 0.0]]]])  # [2, 2, 1, 2]
  b = tf.constant([[[[1.0, 0.0]], [[0.0, 4.0]]],
                   [[[1.0, 1.0]], [[1.0, 1.0]]]])
  # Example 0: (0 + 4 + 9 + 0) / 4; example 1: 4 * 1 / 4.
  np.testing.assert_allclose(style_transfer.content_loss(a, b).numpy(),
                             [3.25, 1.0], atol=1e-6)


def test_style_loss_is_the_mean_squared_gram_difference():
  features = tf.constant([[[[1.0, 2.0], [3.0, 4.0]]]])  # Gram [[5,7],[7,10]].
  style_gram = tf.constant([[[4.0, 7.0], [5.0, 10.0]]])
  # Differences [[1, 0], [2, 0]]: (1 + 0 + 4 + 0) / 4.
  np.testing.assert_allclose(
      style_transfer.style_loss(features, style_gram).numpy(), [1.25],
      atol=1e-6)


def test_total_variation_by_hand():
  image = tf.constant([[[[0.0], [1.0]], [[2.0], [4.0]]]])  # [1, 2, 2, 1]
  # Vertical differences 2, 3: mean 6.5; horizontal 1, 2: mean 2.5.
  np.testing.assert_allclose(
      style_transfer.total_variation_loss(image).numpy(), [4.5], atol=1e-6)
  flat = tf.ones([3, 5, 4, 3])
  np.testing.assert_allclose(
      style_transfer.total_variation_loss(flat).numpy(), [0, 0, 0])


# ---------------------------------------------------------------------------
# The stylization network.


def _network(width=0.125, blocks=2):
  return networks.StylizationNetwork(width_multiplier=width,
                                     num_residual_blocks=blocks,
                                     conditioning_hidden_size=16,
                                     loss_weights_hidden_size=16,
                                     loss_weights_embedding_size=8)


@pytest.mark.parametrize("height, width", [(8, 8), (24, 40), (33, 17)])
def test_stylization_keeps_the_content_size(height, width):
  network = _network()
  content = tf.random.uniform([2, height, width, 3])
  out = network(content, tf.random.normal([2, 10]), tf.zeros([2, 5]))
  assert out.shape == [2, height, width, 3]
  assert float(tf.reduce_min(out)) > 0 and float(tf.reduce_max(out)) < 1


def test_loss_weights_change_the_output_and_fixed_models_need_none():
  network = _network()
  content = tf.random.uniform([1, 16, 16, 3], seed=1)
  style = tf.random.normal([1, 10], seed=2)
  low = network(content, style, tf.math.log([[0.1, 1e-4, 1e-4, 1e-4, 1e-3]]))
  high = network(content, style, tf.math.log([[100., 0.1, 0.1, 0.1, 1.0]]))
  assert float(tf.reduce_max(tf.abs(low - high))) > 1e-6
  fixed = _network()
  assert fixed(content, style).shape == [1, 16, 16, 3]
  assert fixed.loss_weights_mlp is None


def test_conditional_instance_norm_starts_near_the_identity():
  norm = networks.ConditionalInstanceNorm(hidden_size=32,
                                          name="norm_conditioning")
  features = tf.random.normal([3, 5, 5, 4], seed=3) * 7 + 2
  conditioning_inputs = tf.random.normal([3, 12], seed=4)
  out = norm(features, conditioning_inputs)
  scales, shifts = norm.scales_and_shifts(conditioning_inputs)
  np.testing.assert_allclose(scales.numpy(), 1.0, atol=0.05)
  np.testing.assert_allclose(shifts.numpy(), 0.0, atol=0.05)
  mean, variance = tf.nn.moments(out, axes=[1, 2])
  np.testing.assert_allclose(mean.numpy(), 0.0, atol=0.05)
  np.testing.assert_allclose(variance.numpy(), 1.0, atol=0.1)
  # Its variables are conditioning ones by declaration, not by name.
  assert len(norm.conditioning_variables) == 6
  assert [v.ref() for v in norm.conditioning_variables] == [
      v.ref() for v in norm.trainable_variables]


def _channels(m):
  return (max(1, round(32 * m)), max(1, round(64 * m)),
          max(1, round(128 * m)))


def _trunk_by_hand(m, blocks):
  """Ghiasi et al.'s trunk: no conv has a bias; the three contraction convs
  are batch-normalised (a learnt offset each, no scale); the rest are
  followed by conditional instance norm (counted in the conditioning)."""
  c1, c2, c3 = _channels(m)
  contraction = 81 * 3 * c1 + 9 * c1 * c2 + 9 * c2 * c3
  batch_norm_offsets = c1 + c2 + c3
  residual = blocks * 2 * 9 * c3 * c3
  expansion = 9 * c3 * c2 + 9 * c2 * c1 + 81 * c1 * 3
  return contraction + batch_norm_offsets + residual + expansion


def _conditioned_channels(m, blocks):
  """The conditionally normalised convs: residual, upsampling, output."""
  c1, c2, c3 = _channels(m)
  return [c3] * (2 * blocks) + [c2, c1, 3]


def _conditioning_by_hand(m, blocks, style=10, n=5, hidden=16,
                          weights_hidden=16, weights_out=8):
  """YOTO: the loss-weight MLP, then per conditioned layer an MLP on
  [loss embedding, style] and two affine maps to scales and shifts."""
  dense = lambda a, b: a * b + b
  d = weights_out + style
  return (dense(n, weights_hidden) + dense(weights_hidden, weights_out) +
          sum(dense(d, hidden) + 2 * dense(hidden, c)
              for c in _conditioned_channels(m, blocks)))


def _count(variables):
  return sum(int(np.prod(v.shape)) for v in variables)


@pytest.mark.parametrize("width", [0.125, 0.25, 0.5])
def test_width_multiplier_scales_the_parameter_count_as_derived(width):
  network = _network(width, blocks=2)
  network(tf.zeros([1, 16, 16, 3]), tf.zeros([1, 10]), tf.zeros([1, 5]))
  normal, cond = conditioning.split_conditioning_variables(network)
  assert _count(normal) == _trunk_by_hand(width, 2)
  assert _count(normal) == networks.trunk_parameter_count(width, 2)
  assert _count(cond) == _conditioning_by_hand(width, 2)
  # Every normalization's and the loss-weight MLP's variables are marked.
  assert all("conditioning" in v.name for v in cond)
  assert all("conditioning" not in v.name for v in normal)
  # 10 kernels (3 + 2 * 2 + 2 + 1), 3 batch-norm offsets, no bias.
  assert len(normal) == 10 + 3
  assert not [v for v in normal if "bias" in v.name]
  # The batch norms' moving mean and variance, not trained.
  c1, c2, c3 = _channels(width)
  assert _count(network.non_trainable_variables) == 2 * (c1 + c2 + c3)


def test_the_contraction_is_batch_normalised_and_not_conditioned():
  network = _network(0.25, blocks=2)
  network(tf.zeros([1, 16, 16, 3]), tf.zeros([1, 10]), tf.zeros([1, 5]))
  names = [v.name for v in network.trainable_variables]
  for conv in ("conv1", "conv2", "conv3"):
    assert any(f"{conv}_batch_norm/beta" in n for n in names), conv
    assert not any(f"/{conv}_norm_conditioning" in n for n in names), conv
  conditioned = {n.split("/")[1] for n in names if "norm_conditioning" in n}
  assert conditioned == {
      "residual1_conv1_norm_conditioning", "residual1_conv2_norm_conditioning",
      "residual2_conv1_norm_conditioning", "residual2_conv2_norm_conditioning",
      "upsample1_norm_conditioning", "upsample2_norm_conditioning",
      "output_norm_conditioning"}
  assert not any("gamma" in n for n in names)  # No batch-norm scale.


@pytest.mark.parametrize("style_only_hidden", [0, 16])
def test_fixed_weight_model_maps_the_style_linearly_by_default(
    style_only_hidden):
  network = networks.StylizationNetwork(
      width_multiplier=0.125, num_residual_blocks=2,
      conditioning_hidden_size=32, style_only_hidden_size=style_only_hidden)
  network(tf.zeros([1, 16, 16, 3]), tf.zeros([1, 10]))
  normal, cond = conditioning.split_conditioning_variables(network)
  dense = lambda a, b: a * b + b
  channels = _conditioned_channels(0.125, 2)
  if style_only_hidden:  # An MLP of 16 hidden units per layer.
    expected = sum(dense(10, 16) + 2 * dense(16, c) for c in channels)
  else:  # Ghiasi et al.: scales and shifts linear in the embedding.
    expected = sum(2 * dense(10, c) for c in channels)
  assert _count(cond) == expected
  assert _count(normal) == _trunk_by_hand(0.125, 2)
  assert network.loss_weights_mlp is None
  with pytest.raises(ValueError, match="without loss weights"):
    network(tf.zeros([1, 16, 16, 3]), tf.zeros([1, 10]), tf.zeros([1, 5]))


def test_full_width_trunk_matches_ghiasi_et_al():
  # 9x9x3x32 + 3x3x32x64 + 3x3x64x128 + 10 x 3x3x128x128 + 3x3x128x64 +
  # 3x3x64x32 + 9x9x32x3 = 1,674,432 kernel weights, + 32 + 64 + 128
  # batch-norm offsets.
  assert networks.trunk_parameter_count(1.0) == 1_674_432 + 224


def test_batch_norm_uses_batch_statistics_only_in_training():
  network = _network()
  content = tf.random.stateless_uniform([4, 16, 16, 3], seed=[1, 2])
  style = tf.random.stateless_normal([4, 10], seed=[3, 4])
  weights = tf.zeros([4, 5])
  network(content, style, weights)  # Builds the variables.
  moving = lambda: [v.numpy().copy() for v in network.non_trainable_variables]
  before = moving()
  alone = network(content[:1], style[:1], weights[:1], training=False)
  in_batch = network(content, style, weights, training=False)
  # Inference: each example independent of the batch; statistics unchanged.
  np.testing.assert_allclose(alone.numpy(), in_batch[:1].numpy(), atol=1e-5)
  for a, b in zip(before, moving()):
    np.testing.assert_array_equal(a, b)
  trained_alone = network(content[:2], style[:2], weights[:2], training=True)
  trained = network(content, style, weights, training=True)
  # Training: batch statistics (the example depends on its batch), and the
  # moving averages move.
  assert float(tf.reduce_max(tf.abs(trained_alone[:1] - trained[:1]))) > 1e-4
  assert any(np.abs(a - b).max() > 0 for a, b in zip(before, moving()))


def test_gradients_reach_the_conditioning_variables():
  network = _network()
  content = tf.random.uniform([2, 16, 16, 3])
  with tf.GradientTape() as tape:
    out = network(content, tf.random.normal([2, 10]),
                  tf.random.normal([2, 5]))
    loss = tf.reduce_sum(tf.square(out - 0.3))
  grads = tape.gradient(loss, network.trainable_variables)
  by_name = {v.name: g for v, g in zip(network.trainable_variables, grads)}
  _, cond = conditioning.split_conditioning_variables(network)
  # The loss-weight MLP (2 dense layers) and 2 * 2 + 2 + 1 = 7 norms (3).
  assert len(cond) == 2 * 2 + 7 * 3 * 2
  for variable in cond:
    grad = by_name[variable.name]
    assert grad is not None, variable.name
    assert float(tf.reduce_sum(tf.abs(grad))) > 0, variable.name


# ---------------------------------------------------------------------------
# Style networks.


@pytest.fixture(name="random_vgg", scope="module")
def random_vgg_fixture():
  return vgg.Vgg16Features(random_vgg.random_vgg16_weights(), "block4_conv3")


@pytest.mark.parametrize("size", [16, 40])
def test_loss_network_style_encoder_shapes(random_vgg, size):
  encoder = networks.LossNetworkStyleEncoder(random_vgg, embedding_size=100)
  frozen = encoder.frozen_features(tf.random.uniform([3, size, size, 3]))
  assert frozen.shape == [3, encoder.num_frozen_features] == [3, 1920]
  assert encoder(frozen).shape == [3, 100]
  # Only the bottleneck is trainable; the loss network is not tracked.
  assert [v.name.split("/")[-1] for v in encoder.trainable_variables] == [
      "kernel:0", "bias:0"]


def test_inception_style_encoder_shapes_without_weights_file():
  encoder = networks.InceptionV3StyleEncoder(weights=None, image_size=75,
                                             embedding_size=100)
  frozen = encoder.frozen_features(tf.random.uniform([2, 40, 56, 3]))
  assert frozen.shape == [2, 768]
  assert encoder(frozen).shape == [2, 100]
  with pytest.raises(ValueError, match="does not exist"):
    networks.InceptionV3StyleEncoder(weights="/no/such/inception.h5")


def test_fine_tuned_inception_is_trained_and_saved_frozen_one_is_not():
  frozen = networks.InceptionV3StyleEncoder(weights=None, image_size=75)
  frozen(frozen.frozen_features(tf.random.uniform([1, 40, 40, 3])))
  assert [v.name.split("/")[-2] for v in frozen.trainable_variables] == [
      "style_bottleneck"] * 2
  assert "inception_v3" in frozen.frozen_networks
  tuned = networks.InceptionV3StyleEncoder(weights=None, image_size=75,
                                           fine_tune=True)
  images = tuned.frozen_features(tf.random.uniform([2, 40, 56, 3]))
  assert images.shape == [2, 75, 75, 3]  # Inception's inputs, in [-1, 1].
  assert float(tf.reduce_min(images)) >= -1 and tuned.frozen_networks == {}
  with tf.GradientTape() as tape:
    embedding = tuned(images, training=True)
    loss = tf.reduce_sum(tf.square(embedding))
  assert embedding.shape == [2, 100]
  inception = [v for v in tuned.trainable_variables
               if "style_bottleneck" not in v.name]
  # Inception-v3 up to mixed7 has millions of trainable parameters.
  assert sum(int(np.prod(v.shape)) for v in inception) > 1_000_000
  gradients = tape.gradient(loss, inception)
  assert all(g is not None for g in gradients)
  # Part of whatever checkpoints the encoder.
  saved = tf.train.Checkpoint(encoder=tuned)
  assert len(tf.train.list_variables(saved.write(
      os.path.join(tempfile.mkdtemp(), "ckpt")))) > len(inception)


# ---------------------------------------------------------------------------
# The problem.


@pytest.fixture(name="problem", scope="module")
def problem_fixture():
  problem = style_transfer.StyleTransferProblem(
      stylization_network=lambda: _network(0.125, 1), style_image_size=32)
  spec = {"image": tf.TensorSpec([None, 32, 32, 3], tf.float32)}
  problem.initialize_model(spec, 6)
  return problem


def test_losses_keys_and_the_conditioned_five(problem):
  assert problem.losses_keys == (
      "content_loss", "style_loss_1", "style_loss_2", "style_loss_3",
      "style_loss_4", "total_variation_loss")
  assert problem.conditioned_losses == (
      "content_loss", "style_loss_1", "style_loss_2", "style_loss_3",
      "style_loss_4")
  inputs_extra = tf.constant([[0., 1., 2., 3., 4., 5.]])
  np.testing.assert_array_equal(
      problem.conditioned_inputs(inputs_extra).numpy(), [[0, 1, 2, 3, 4]])
  with pytest.raises(ValueError, match="conditioned_losses"):
    style_transfer.StyleTransferProblem(conditioned_losses=["kl_loss"])


def test_losses_are_per_example_and_finite(problem):
  content = tf.random.stateless_uniform([3, 32, 32, 3], seed=[0, 1])
  losses, metrics = problem.losses_and_metrics(
      {"image": content}, tf.zeros([3, 6]), training=True,
      seed=tf.constant([3, 4]))
  assert set(losses) == set(problem.losses_keys)
  for value in list(losses.values()) + list(metrics.values()):
    assert value.shape == [3] and np.isfinite(value.numpy()).all()
  # A stylized image equal to the content has no content loss.
  indices = problem.style_indices(content, training=False)
  same = problem.losses(content, content, indices)
  np.testing.assert_allclose(same["content_loss"].numpy(), 0.0, atol=1e-3)


def test_training_draws_training_styles_and_eval_fixed_held_out_ones(problem):
  style_set = problem.style_set
  content = tf.random.stateless_uniform([64, 32, 32, 3], seed=[5, 6])
  train = problem.style_indices(content, True, tf.constant([1, 2])).numpy()
  assert set(train) <= set(style_set.train_indices)
  assert len(set(train)) > 1
  again = problem.style_indices(content, True, tf.constant([1, 2])).numpy()
  np.testing.assert_array_equal(train, again)
  held = problem.style_indices(content, False).numpy()
  assert set(held) == set(style_set.held_out_indices)
  # The same content gets the same style in any batch, e.g. YOTO's tiled
  # evaluation batch (K copies, one per weight vector).
  tiled = problem.style_indices(tf.tile(content[:5], [3, 1, 1, 1]), False)
  np.testing.assert_array_equal(tiled.numpy(), np.tile(held[:5], 3))


def test_only_the_training_step_updates_batch_norm_statistics(problem):
  content = tf.random.stateless_uniform([4, 32, 32, 3], seed=[7, 8])
  moving = lambda: [v.numpy().copy() for v in
                    problem.stylization_network.non_trainable_variables]
  before = moving()
  problem.losses_and_metrics({"image": content}, tf.zeros([4, 6]),
                             training=False)
  problem.image_summaries({"image": content}, tf.zeros([4, 6]))
  problem.stylize(content, tf.zeros([4, 100]), tf.zeros([4, 6]))
  for a, b in zip(before, moving()):
    np.testing.assert_array_equal(a, b)
  problem.losses_and_metrics({"image": content}, tf.zeros([4, 6]),
                             training=True, seed=tf.constant([1, 2]))
  assert any(np.abs(a - b).max() > 0 for a, b in zip(before, moving()))


def test_augmented_styles_change_training_targets_only():
  problem = style_transfer.StyleTransferProblem(
      stylization_network=lambda: _network(0.125, 1), style_image_size=32,
      style_augmentation=style_augmentation.StyleAugmentation())
  problem.initialize_model({"image": tf.TensorSpec([None, 32, 32, 3])}, 6)
  content = tf.random.stateless_uniform([4, 32, 32, 3], seed=[0, 1])
  indices = problem.style_indices(content, True, tf.constant([3, 4]))
  images = tf.gather(problem.style_set.images, indices)
  augmented = problem.augmented_styles(indices, tf.constant([3, 4]))
  assert augmented.shape == images.shape
  assert float(tf.reduce_mean(tf.abs(augmented - images))) > 0.01
  np.testing.assert_array_equal(
      augmented.numpy(),
      problem.augmented_styles(indices, tf.constant([3, 4])).numpy())
  run = lambda training: problem.losses_and_metrics(
      {"image": content}, tf.zeros([4, 6]), training=training,
      seed=tf.constant([3, 4]))[0]
  trained, again = run(True), run(True)
  for name, value in trained.items():
    assert np.isfinite(value.numpy()).all(), name
    np.testing.assert_allclose(value.numpy(), again[name].numpy(), rtol=1e-5)
  # The style losses are against the augmented images' Gram matrices.
  stylized = problem.stylize_with_styles(content, indices, tf.zeros([4, 6]))
  plain = problem.losses(stylized, content, indices)
  grams, _ = problem._style_grams_and_features(augmented)  # pylint: disable=protected-access
  changed = problem.losses(stylized, content, indices, grams)
  assert not np.allclose(plain["style_loss_1"], changed["style_loss_1"])
  # Evaluation uses the unchanged style images: as without augmentation.
  plain_problem = style_transfer.StyleTransferProblem(
      stylization_network=lambda: _network(0.125, 1), style_image_size=32)
  plain_problem.initialize_model(
      {"image": tf.TensorSpec([None, 32, 32, 3])}, 6)
  for a, b in zip(plain_problem.variables, problem.variables):
    assert a.name == b.name
    a.assign(b)
  evaluated = run(False)
  reference = plain_problem.losses_and_metrics(
      {"image": content}, tf.zeros([4, 6]), training=False)[0]
  for name, value in evaluated.items():
    np.testing.assert_allclose(value.numpy(), reference[name].numpy(),
                               rtol=1e-5)


def test_problem_variables_exclude_the_frozen_loss_network(problem):
  names = [v.name for v in problem.trainable_variables]
  assert not any("vgg16" in n for n in names)
  assert any("style_bottleneck" in n for n in names)
  checkpoint_vars = tf.train.Checkpoint(problem=problem)
  # The 13 frozen convolutions are rebuilt from their file, never saved.
  saved = [v for v in problem.variables if "vgg16" in v.name]
  assert not saved
  del checkpoint_vars


def test_wrong_conditioning_width_is_rejected():
  problem = style_transfer.StyleTransferProblem(
      stylization_network=lambda: _network(0.125, 1), style_image_size=16)
  spec = {"image": tf.TensorSpec([None, 16, 16, 3], tf.float32)}
  with pytest.raises(ValueError, match="all 6 loss weights"):
    problem.initialize_model(spec, 5)
  with pytest.raises(ValueError, match="features_key"):
    problem.initialize_model({"x": spec["image"]}, 6)


def test_input_offset_and_scale_centre_the_conditioned_inputs():
  offset = [1., 2., 3., 4., 5., 6.]
  problem = style_transfer.StyleTransferProblem(
      conditioning_input_offset=offset, conditioning_input_scale=10.0)
  inputs_extra = tf.constant([[0., 1., 2., 3., 4., 6.]])
  # Subtracted in sorted loss order, then scaled; total variation's column
  # is dropped.
  np.testing.assert_array_equal(
      problem.conditioned_inputs(inputs_extra).numpy(), [[-10] * 5])
  with pytest.raises(ValueError, match="one per loss"):
    style_transfer.StyleTransferProblem(conditioning_input_offset=[1., 2.])
  with pytest.raises(ValueError, match="positive number"):
    style_transfer.StyleTransferProblem(conditioning_input_scale=0.0)
