"""The style-transfer problem: losses, conditioning, styles, batch norm."""

import numpy as np
import pytest
import tensorflow as tf

from yoto.architectures import style_encoders
from yoto.architectures import style_transfer as networks
from yoto.problems import style_transfer
from yoto.utils import style_augmentation
from yoto.weights import contract


# A stylization network small enough for a CPU test.
TINY_NETWORK = dict(
  width_multiplier=0.125,
  num_residual_blocks=1,
  conditioning_hidden_size=16,
  loss_weights_hidden_size=16,
  loss_weights_embedding_size=8,
)


def _network():
  return networks.StylizationNetwork(**TINY_NETWORK)


@pytest.fixture(name="problem", scope="module")
def problem_fixture():
  problem = style_transfer.StyleTransferProblem(
    stylization_network=_network, style_image_size=32
  )
  spec = {"image": tf.TensorSpec([None, 32, 32, 3], tf.float32)}
  problem.initialize_model(spec, 6)
  return problem


def test_losses_keys_and_the_conditioned_five(problem):
  assert problem.losses_keys == (
    "content_loss",
    "style_loss_1",
    "style_loss_2",
    "style_loss_3",
    "style_loss_4",
    "total_variation_loss",
  )
  assert problem.conditioned_losses == (
    "content_loss",
    "style_loss_1",
    "style_loss_2",
    "style_loss_3",
    "style_loss_4",
  )
  inputs_extra = tf.constant([[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]])
  np.testing.assert_array_equal(
    problem.conditioned_inputs(inputs_extra).numpy(), [[0, 1, 2, 3, 4]]
  )
  with pytest.raises(ValueError, match="conditioned_losses"):
    style_transfer.StyleTransferProblem(conditioned_losses=["kl_loss"])


def test_losses_are_per_example_and_finite(problem):
  content = tf.random.stateless_uniform([3, 32, 32, 3], seed=[0, 1])
  losses, metrics = problem.losses_and_metrics(
    {"image": content},
    tf.zeros([3, 6]),
    training=True,
    seed=tf.constant([3, 4]),
  )
  assert set(losses) == set(problem.losses_keys)
  for value in list(losses.values()) + list(metrics.values()):
    assert value.shape == [3] and np.isfinite(value.numpy()).all()
  # A stylized image equal to the content has no content loss.
  indices = problem.style_indices(content, training=False)
  same = problem.losses(content, content, indices)
  np.testing.assert_allclose(same["content_loss"].numpy(), 0.0, atol=1e-3)


def test_only_the_training_step_updates_batch_norm_statistics(problem):
  content = tf.random.stateless_uniform([4, 32, 32, 3], seed=[7, 8])
  moving = lambda: [
    v.numpy().copy()
    for v in problem.stylization_network.non_trainable_variables
  ]
  before = moving()
  problem.losses_and_metrics(
    {"image": content}, tf.zeros([4, 6]), training=False
  )
  problem.image_summaries({"image": content}, tf.zeros([4, 6]))
  problem.stylize(content, tf.zeros([4, 100]), tf.zeros([4, 6]))
  for a, b in zip(before, moving()):
    np.testing.assert_array_equal(a, b)
  problem.losses_and_metrics(
    {"image": content},
    tf.zeros([4, 6]),
    training=True,
    seed=tf.constant([1, 2]),
  )
  assert any(np.abs(a - b).max() > 0 for a, b in zip(before, moving()))


def test_augmented_styles_change_training_targets_only():
  problem = style_transfer.StyleTransferProblem(
    stylization_network=_network,
    style_image_size=32,
    style_augmentation=style_augmentation.StyleAugmentation(),
  )
  problem.initialize_model({"image": tf.TensorSpec([None, 32, 32, 3])}, 6)
  content = tf.random.stateless_uniform([4, 32, 32, 3], seed=[0, 1])
  indices = problem.style_indices(content, True, tf.constant([3, 4]))
  images = tf.gather(problem.style_set.images, indices)
  augment = lambda: problem.style_bank.augmented_images(
    indices, tf.constant([3, 4]), problem.style_augmentation
  )
  augmented = augment()
  assert augmented.shape == images.shape
  assert float(tf.reduce_mean(tf.abs(augmented - images))) > 0.01
  np.testing.assert_array_equal(augmented.numpy(), augment().numpy())
  run = lambda training: problem.losses_and_metrics(
    {"image": content},
    tf.zeros([4, 6]),
    training=training,
    seed=tf.constant([3, 4]),
  )[0]
  trained, again = run(True), run(True)
  for name, value in trained.items():
    assert np.isfinite(value.numpy()).all(), name
    np.testing.assert_allclose(value.numpy(), again[name].numpy(), rtol=1e-5)
  # The style losses are against the augmented images' Gram matrices.
  stylized = problem.stylize_with_styles(content, indices, tf.zeros([4, 6]))
  plain = problem.losses(stylized, content, indices)
  grams, _ = problem.style_targets(augmented)
  changed = problem.losses(stylized, content, indices, grams)
  assert not np.allclose(plain["style_loss_1"], changed["style_loss_1"])
  # Evaluation uses the unchanged style images: as without augmentation.
  plain_problem = style_transfer.StyleTransferProblem(
    stylization_network=_network, style_image_size=32
  )
  plain_problem.initialize_model({"image": tf.TensorSpec([None, 32, 32, 3])}, 6)
  for a, b in zip(plain_problem.variables, problem.variables):
    assert a.name == b.name
    a.assign(b)
  evaluated = run(False)
  reference = plain_problem.losses_and_metrics(
    {"image": content}, tf.zeros([4, 6]), training=False
  )[0]
  for name, value in evaluated.items():
    np.testing.assert_allclose(
      value.numpy(), reference[name].numpy(), rtol=1e-5
    )


def test_problem_variables_exclude_the_frozen_loss_network(problem):
  names = [v.name for v in problem.trainable_variables]
  assert not any("vgg16" in n for n in names)
  assert any("style_bottleneck" in n for n in names)
  checkpoint_vars = tf.train.Checkpoint(problem=problem)
  # The 13 frozen convolutions are rebuilt from their file, never saved.
  saved = [v for v in problem.variables if "vgg16" in v.name]
  assert not saved
  del checkpoint_vars


def test_a_centring_style_network_is_adapted_to_the_training_styles_only():
  problem = style_transfer.StyleTransferProblem(
    stylization_network=_network,
    style_network=lambda loss_network: style_encoders.LossNetworkStyleEncoder(
      loss_network, embedding_size=8, centre_features=True
    ),
    style_image_size=32,
  )
  problem.initialize_model({"image": tf.TensorSpec([None, 32, 32, 3])}, 6)
  bank = problem.style_bank
  train = tf.gather(bank.features, bank.train_styles).numpy()
  held_out = tf.gather(bank.features, bank.eval_styles).numpy()
  assert len(train) == 6 and len(held_out) == 2
  np.testing.assert_allclose(
    problem.style_network.feature_mean, train.mean(0), rtol=1e-5
  )
  assert not np.allclose(
    train.mean(0), np.concatenate([train, held_out]).mean(0)
  )


def test_wrong_conditioning_width_is_rejected():
  problem = style_transfer.StyleTransferProblem(
    stylization_network=_network, style_image_size=16
  )
  spec = {"image": tf.TensorSpec([None, 16, 16, 3], tf.float32)}
  with pytest.raises(ValueError, match="all 6 loss weights"):
    problem.initialize_model(spec, 5)
  with pytest.raises(ValueError, match="features_key"):
    problem.initialize_model({"x": spec["image"]}, 6)


def test_centre_is_resolved_from_the_training_ranges_when_built():
  names = tuple(sorted(style_transfer.StyleTransferProblem().losses_keys))
  # Loss i trained on [10^i, 10^(i+2)]: its log centre is (i + 1) log 10.
  ranges = {name: (10.0**i, 10.0 ** (i + 2)) for i, name in enumerate(names)}
  problem = style_transfer.StyleTransferProblem(
    stylization_network=_network,
    style_image_size=16,
    conditioning_input_offset="centre",
    conditioning_input_scale=10.0,
  )
  problem.initialize_model(
    {"image": tf.TensorSpec([None, 16, 16, 3], tf.float32)},
    6,
    contract.LossConditioning(names, "log", ranges),
  )
  centre = [(i + 1) * np.log(10.0) for i in range(6)]
  np.testing.assert_allclose(
    problem.conditioning_input_offset, centre, atol=1e-6
  )
  inputs_extra = tf.constant([centre], tf.float32) + 0.1
  np.testing.assert_allclose(
    problem.conditioned_inputs(inputs_extra).numpy(), [[1.0] * 5], atol=1e-4
  )


def test_input_offset_and_scale_centre_the_conditioned_inputs():
  offset = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
  problem = style_transfer.StyleTransferProblem(
    conditioning_input_offset=offset, conditioning_input_scale=10.0
  )
  inputs_extra = tf.constant([[0.0, 1.0, 2.0, 3.0, 4.0, 6.0]])
  # Subtracted in sorted loss order, then scaled; total variation's column
  # is dropped.
  np.testing.assert_array_equal(
    problem.conditioned_inputs(inputs_extra).numpy(), [[-10] * 5]
  )
  with pytest.raises(ValueError, match="one per loss"):
    style_transfer.StyleTransferProblem(conditioning_input_offset=[1.0, 2.0])
  with pytest.raises(ValueError, match="positive number"):
    style_transfer.StyleTransferProblem(conditioning_input_scale=0.0)
