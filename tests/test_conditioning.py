"""Tests for yoto.architectures.conditioning and yoto.architectures.mlp."""

import numpy as np
import pytest
import tensorflow as tf

from yoto.architectures import conditioning
from yoto.architectures import mlp


def _num_params(variables):
  return sum(int(np.prod(v.shape)) for v in variables)


# ---------------------------------------------------------------------------
# MLP.


def test_mlp_shapes_and_parameter_count():
  net = mlp.build_mlp([8, 5], name="fc")
  outputs = net(tf.zeros([3, 4]))
  assert outputs.shape == (3, 5)
  assert _num_params(net.trainable_variables) == (4 * 8 + 8) + (8 * 5 + 5)


def test_mlp_leaky_relu_between_layers_not_after_last():
  net = mlp.build_mlp([6, 3])
  x = np.random.RandomState(0).randn(4, 5).astype(np.float32)
  outputs = net(x).numpy()
  (w0, b0), (w1, b1) = [
    (layer.kernel.numpy(), layer.bias.numpy()) for layer in net.dense_layers
  ]
  hidden = x @ w0 + b0
  hidden = np.where(hidden > 0, hidden, 0.2 * hidden)
  np.testing.assert_allclose(outputs, hidden @ w1 + b1, rtol=1e-5, atol=1e-5)


def test_mlp_initialization():
  net = mlp.build_mlp([1000, 1000])
  net(tf.zeros([1, 500]))
  first, second = net.dense_layers
  for layer, fan_in in ((first, 500), (second, 1000)):
    np.testing.assert_allclose(
      np.std(layer.kernel.numpy()), np.sqrt(2.0 / fan_in), rtol=0.02
    )
    np.testing.assert_array_equal(layer.bias.numpy(), 0.0)
  # Same shapes, distinct draws: each layer has its own initializer.
  net = mlp.build_mlp([7, 7, 7])
  net(tf.zeros([1, 7]))
  kernels = [layer.kernel.numpy() for layer in net.dense_layers]
  assert not np.allclose(kernels[1], kernels[2])


def test_mlp_rejects_empty_layer_sizes():
  with pytest.raises(ValueError, match="at least one layer"):
    mlp.build_mlp([])


# ---------------------------------------------------------------------------
# Post-processing and concatenation.


def test_conditioning_postprocessing():
  post = conditioning.ConditioningPostprocessing(
    scales_mult=0.1, scales_add=1.0, shifts_mult=2.0, shifts_add=-3.0
  )
  scales, shifts = post(tf.constant([1.0, -2.0]), tf.constant([0.5, 4.0]))
  np.testing.assert_allclose(scales.numpy(), [1.1, 0.8], rtol=1e-6)
  np.testing.assert_allclose(shifts.numpy(), [-2.0, 5.0], rtol=1e-6)
  identity = conditioning.ConditioningPostprocessing()
  scales, shifts = identity(tf.constant([1.5]), tf.constant([-2.5]))
  np.testing.assert_array_equal(scales.numpy(), [1.5])
  np.testing.assert_array_equal(shifts.numpy(), [-2.5])


def test_resolve_postprocessing_calls_factories_and_keeps_instances():
  instance = conditioning.ConditioningPostprocessing(scales_mult=0.5)
  assert conditioning.resolve_postprocessing(instance) is instance
  # A class (as gin passes @ConditioningPostprocessing) or a zero-argument
  # factory is called; None is the identity.
  made = conditioning.resolve_postprocessing(
    lambda: conditioning.ConditioningPostprocessing(scales_add=1.0)
  )
  assert made.scales_add == 1.0
  for default in (conditioning.ConditioningPostprocessing, None):
    resolved = conditioning.resolve_postprocessing(default)
    assert isinstance(resolved, conditioning.ConditioningPostprocessing)
    assert (resolved.scales_mult, resolved.scales_add) == (1.0, 0.0)
  # Any other callable of (scales, shifts) is used as it is.
  swap = lambda scales, shifts: (shifts, scales)
  assert conditioning.resolve_postprocessing(swap) is swap


def test_conditioning_types():
  assert conditioning.CONDITIONING_TYPES == ("mult_and_add", "concat", "input")


def test_broadcast_and_concat():
  features = tf.random.normal([2, 3, 4, 5])
  inputs_extra = tf.constant([[1.0, 2.0], [3.0, 4.0]])
  outputs = conditioning.broadcast_and_concat(features, inputs_extra)
  assert outputs.shape == (2, 3, 4, 7)
  np.testing.assert_array_equal(outputs[..., :5].numpy(), features.numpy())
  np.testing.assert_array_equal(
    outputs[0, :, :, 5:].numpy(), np.broadcast_to([1.0, 2.0], [3, 4, 2])
  )
  np.testing.assert_array_equal(
    outputs[1, :, :, 5:].numpy(), np.broadcast_to([3.0, 4.0], [3, 4, 2])
  )
  # Flat features, and a float64 conditioning input cast to the features'.
  flat = conditioning.broadcast_and_concat(
    tf.zeros([2, 5]), tf.constant([[1.0], [2.0]], tf.float64)
  )
  assert flat.shape == (2, 6) and flat.dtype == tf.float32


def test_broadcast_and_concat_rejects_bad_rank():
  with pytest.raises(ValueError, match="rank 3"):
    conditioning.broadcast_and_concat(
      tf.zeros([2, 3, 3, 4]), tf.zeros([2, 1, 2])
    )


# ---------------------------------------------------------------------------
# FiLM.


def test_film_applies_scales_and_shifts():
  film = conditioning.FilmConditioning([8], name="conditioning_test")
  features = tf.random.normal([2, 3, 3, 4])
  inputs_extra = tf.random.normal([2, 2])
  outputs = film(features, inputs_extra)
  assert outputs.shape == features.shape
  scales, shifts = film.scales_and_shifts(inputs_extra)
  assert scales.shape == (2, 4) and shifts.shape == (2, 4)
  expected = scales[:, None, None, :] * features + shifts[:, None, None, :]
  np.testing.assert_allclose(outputs.numpy(), expected.numpy(), atol=1e-6)
  # Flat features work the same way.
  flat = tf.random.normal([2, 4])
  np.testing.assert_allclose(
    film(flat, inputs_extra).numpy(),
    (scales * flat + shifts).numpy(),
    atol=1e-6,
  )


def test_film_parameter_count():
  film = conditioning.FilmConditioning([16], name="conditioning")
  film(tf.zeros([1, 2, 2, 5]), tf.zeros([1, 3]))
  # Two MLPs (scales, shifts): 3 -> 16 -> 5 each.
  assert _num_params(film.trainable_variables) == 2 * (
    (3 * 16 + 16) + (16 * 5 + 5)
  )
  direct = conditioning.FilmConditioning(None, name="conditioning")
  direct(tf.zeros([1, 2, 2, 5]), tf.zeros([1, 3]))
  # No hidden layers: a direct affine map 3 -> 5 for each.
  assert _num_params(direct.trainable_variables) == 2 * (3 * 5 + 5)


def test_film_starts_near_identity():
  tf.random.set_seed(0)
  post = conditioning.ConditioningPostprocessing(
    scales_mult=0.01, scales_add=1.0, shifts_mult=0.01
  )
  film = conditioning.FilmConditioning(
    [64], postprocessing=post, name="conditioning"
  )
  features = tf.random.normal([8, 4, 4, 16])
  # Typical log-weights, e.g. log(beta) for beta up to 512.
  inputs_extra = tf.random.uniform([8, 2], -1.0, 6.0)
  outputs = film(features, inputs_extra)
  scales, shifts = film.scales_and_shifts(inputs_extra)
  # The raw MLP outputs are O(|inputs_extra|), so 0.01 of them stays small.
  assert np.max(np.abs(scales.numpy() - 1.0)) < 0.5
  assert np.max(np.abs(shifts.numpy())) < 0.5
  assert np.mean(np.abs(scales.numpy() - 1.0)) < 0.1
  assert np.mean(np.abs(shifts.numpy())) < 0.1
  # Hence the modulated features stay close to the input features.
  features = features.numpy()
  assert np.all(
    np.abs(outputs.numpy() - features) <= 0.5 * np.abs(features) + 0.5
  )


def test_a_model_holding_film_declares_the_film_mlps_whatever_its_name():

  class Wrapper(tf.keras.Model):
    def __init__(self):
      super().__init__(name="wrapper")
      self.conv = tf.keras.layers.Conv2D(4, 3, padding="same", name="conv")
      self.film = conditioning.FilmConditioning([8], name="film")

    def call(self, x, inputs_extra):
      return self.film(self.conv(x), inputs_extra)

  model = Wrapper()
  tf.function(model)(tf.zeros([1, 4, 4, 3]), tf.zeros([1, 2]))
  normal, cond = conditioning.split_conditioning_variables(model)
  assert len(cond) == 8  # 2 MLPs x 2 dense layers x (kernel, bias).
  assert {v.ref() for v in cond} == {
    v.ref() for v in model.film.trainable_variables
  }
  assert [v.name for v in normal] == [
    "wrapper/conv/kernel:0",
    "wrapper/conv/bias:0",
  ]
  assert [v.ref() for v in conditioning.conditioning_variables(model)] == [
    v.ref() for v in cond
  ]


def test_film_rejects_inputs_extra_of_another_width():
  film = conditioning.FilmConditioning([8], name="conditioning")
  film(tf.zeros([1, 2, 2, 4]), tf.zeros([1, 2]))
  with pytest.raises(ValueError, match="expected 2, got 3"):
    film(tf.zeros([1, 2, 2, 4]), tf.zeros([1, 3]))
  with pytest.raises(ValueError, match="rank 1"):
    film(tf.zeros([1, 2, 2, 4]), tf.zeros([2]))


# ---------------------------------------------------------------------------
# Variable selection.


def test_split_follows_declarations_and_keeps_the_variable_order():

  class Declares(tf.Module):
    def __init__(self, declared):
      super().__init__()
      self.a = tf.Variable(1.0, name="a")
      self.b = tf.Variable(2.0, name="b")
      self._declared = declared

    @property
    def conditioning_variables(self):
      return [self.b] if self._declared else []

  class Holder(tf.Module):
    def __init__(self):
      super().__init__()
      self.first = Declares(True)
      self.other = tf.Variable(3.0, name="other")
      self.second = Declares(False)

  holder = Holder()
  normal, cond = conditioning.split_conditioning_variables(holder)
  assert [v.ref() for v in cond] == [holder.first.b.ref()]
  assert {v.ref() for v in normal} == {
    holder.first.a.ref(),
    holder.other.ref(),
    holder.second.a.ref(),
    holder.second.b.ref(),
  }
  order = [v.ref() for v in holder.trainable_variables]
  assert [v.ref() for v in normal] == [
    r for r in order if r != holder.first.b.ref()
  ]
  # A declaring module answers for itself.
  assert conditioning.split_conditioning_variables(holder.first)[1] == [
    holder.first.b
  ]
  assert not conditioning.split_conditioning_variables(holder.second)[1]


def test_log_linear_gain_starts_at_one_and_scales_by_exp_of_the_slopes():
  gain = conditioning.LogLinearGain(name="gain_test")
  features = tf.random.normal([2, 3, 3, 4], seed=1)
  inputs_extra = tf.constant([[1.0, 0.0], [-2.0, 0.5]])
  np.testing.assert_allclose(gain(features, inputs_extra), features)
  assert gain.slopes.shape == (2, 4)  # [n, C], declared as conditioning.
  assert [v.ref() for v in gain.conditioning_variables] == [gain.slopes.ref()]
  slopes = np.array([[0.5, -1.0, 0.0, 2.0], [1.0, 0.0, 3.0, 0.0]], np.float32)
  gain.slopes.assign(slopes)
  expected = np.exp(inputs_extra.numpy() @ slopes)  # [B, C]
  np.testing.assert_allclose(
    gain(features, inputs_extra),
    features.numpy() * expected[:, None, None, :],
    rtol=1e-5,
  )
  with pytest.raises(ValueError, match="inputs_extra"):
    gain(features, tf.zeros([2, 3]))  # Built for n = 2.
