"""A tiny `Problem` with closed-form losses, for optimizer and loop tests."""

import tensorflow as tf

from yoto.problems import base


class LinearProblem(base.Problem):
  """losses: a = mean(x) * s(inputs_extra), b = 2 * mean(x).

  `s` is 1 + sum(inputs_extra) when conditioned, so tests can see exactly
  which conditioning input each example got. One trainable scalar `w`
  multiplies both losses; with `conditioning_variable`, a second scalar `c`
  (declared as a conditioning variable) adds `c * mean(x)` to loss a.
  """

  def __init__(self, conditioning_variable=False):
    super().__init__(name="linear_problem")
    self._conditioning_variable = conditioning_variable
    self.w = None

  @property
  def losses_keys(self):
    return ("b_loss", "a_loss")

  @property
  def conditioning_variables(self):
    return [self.c] if self._conditioning_variable else []

  def initialize_model(
    self, element_spec, num_conditioning_inputs, conditioning=None
  ):
    self.num_conditioning_inputs = num_conditioning_inputs
    self.conditioning = conditioning
    self.w = tf.Variable(1.0, name="w")
    if self._conditioning_variable:
      self.c = tf.Variable(0.5, name="conditioning_c")

  def losses_and_metrics(
    self, features, inputs_extra=None, training=False, seed=None
  ):
    x = tf.reduce_mean(
      tf.reshape(features["x"], [tf.shape(features["x"])[0], -1]), axis=1
    )
    scale = 1.0
    if inputs_extra is not None:
      scale = 1.0 + tf.reduce_sum(inputs_extra, axis=1)
    a = self.w * x * scale
    if self._conditioning_variable:
      a = a + self.c * x
    return {"a_loss": a, "b_loss": 2.0 * self.w * x}, {"x_metric": x}

  def export_module(self, conditioning):
    raise NotImplementedError
