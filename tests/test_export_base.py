"""The export base: typed signatures, metadata with the contract, in-graph
weight checks, and TF Hub's Reusable SavedModel attributes."""

import json

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

from yoto.export import base
from yoto.weights import contract

CONTRACT = contract.LossConditioning(
  ("a_loss", "b_loss"), "log", {"a_loss": (0.5, 8.0), "b_loss": (0.999, 1.001)}
)


class _Problem(tf.Module):
  """y = w * x + inputs_extra[:, :1]: one trainable and one frozen scalar."""

  def __init__(self):
    super().__init__()
    self.w = tf.Variable(2.0, name="w")
    self.frozen = tf.Variable(1.0, trainable=False, name="frozen")

  def apply(self, x, inputs_extra):
    return self.w * self.frozen * x + inputs_extra[:, :1]


class _Module(base.ExportModule):
  def __init__(self, problem):
    super().__init__(
      "toy", problem, problem.variables, CONTRACT, {"problem": "Toy"}
    )
    x = tf.TensorSpec([None, 1], tf.float32, "x")
    self.add_signature(
      "apply",
      lambda x, inputs_extra: {"y": self._problem.value.apply(x, inputs_extra)},
      x,
      tf.TensorSpec([None, 2], tf.float32, "inputs_extra"),
      default=True,
    )
    self.add_signature(
      "apply_at_a", self._at_a, x, tf.TensorSpec(None, tf.float32, "a")
    )
    self.add_metadata_signature()

  def _at_a(self, x, a):
    x, inputs_extra = self.inputs_extra_at(base.weight_and_one(a), x)
    return {"y": self._problem.value.apply(x, inputs_extra)}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
  module = _Module(_Problem())
  path = str(tmp_path_factory.mktemp("toy"))
  tf.saved_model.save(module, path, signatures=module.signatures)
  return path


def test_signatures_are_typed_and_the_weights_are_preprocessed_inside(saved):
  loaded = hub.load(saved)
  apply_at_a = loaded.signatures["apply_at_a"]
  assert apply_at_a.structured_input_signature[1]["x"].shape.as_list() == [
    None,
    1,
  ]
  y = apply_at_a(x=tf.constant([[1.0], [2.0]]), a=tf.constant(4.0))["y"]
  np.testing.assert_allclose(
    y, [[2.0 + np.log(4.0)], [4.0 + np.log(4.0)]], rtol=1e-6
  )


@pytest.mark.parametrize(
  "a, message",
  [(16.0, "outside the training range"), (-1.0, "must be positive")],
)
def test_bad_weights_are_refused_in_the_graph(saved, a, message):
  loaded = hub.load(saved)
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    loaded.apply_at_a(tf.constant([[1.0]]), tf.constant(a))


def test_metadata_holds_the_problem_facts_and_the_contract(saved):
  text = hub.load(saved).metadata()["metadata"].numpy()
  assert json.loads(text)["problem"] == "Toy"
  assert contract.LossConditioning.from_json(text) == CONTRACT


def test_a_reusable_saved_model_fine_tunes_as_a_trainable_keras_layer(saved):
  loaded = hub.load(saved)
  assert len(loaded.variables) == 2
  assert [v.name for v in loaded.trainable_variables] == ["w:0"]
  layer = hub.KerasLayer(saved, trainable=True)
  x, extra = tf.constant([[1.0]]), tf.constant([[0.5, 0.0]])
  with tf.GradientTape() as tape:
    y = layer([x, extra])["y"]
  np.testing.assert_allclose(y, [[2.5]])
  assert [v.name for v in layer.trainable_weights] == ["w:0"]
  grads = tape.gradient(y, layer.trainable_weights)
  np.testing.assert_allclose(grads[0], 1.0)
