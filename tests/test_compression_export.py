"""The compression hub module: the weights' fingerprint, coding, λ checks."""

import json

import numpy as np
import pytest
import tensorflow as tf
import tiny_codecs
import tiny_compression_runs

from yoto.export import compression as compression_export


@pytest.fixture(name="runs", scope="module")
def runs_fixture(tmp_path_factory):
  return tiny_compression_runs.get(tmp_path_factory)


def test_fingerprint_identifies_the_weights():
  tf.random.set_seed(0)
  problem = tiny_codecs.problem()
  fingerprint = compression_export.weights_fingerprint(problem.variables)
  assert fingerprint == compression_export.weights_fingerprint(
    problem.variables
  )
  tf.random.set_seed(1)
  other = tiny_codecs.problem()
  assert compression_export.weights_fingerprint(other.variables) != fingerprint


def test_exported_module_round_trips_and_checks_lambda(runs):
  module = tf.saved_model.load(runs.yoto_module)
  metadata = json.loads(module.metadata()["metadata"].numpy())
  assert metadata["lmbda_range"] == list(tiny_codecs.LAMBDA_RANGE)
  assert metadata["loss_names"] == ["distortion", "rate"]
  # The config's 'centre', resolved from the λ range.
  np.testing.assert_allclose(
    metadata["conditioning_input_offset"], tiny_codecs.OFFSET, atol=1e-6
  )
  assert len(metadata["fingerprint"]) == 64
  images = tiny_codecs.photo_crops(48, 2, name="chelsea", seed=3)[:, :, :35]
  lmbda = tf.constant([0.002, 0.2])  # One λ per example.
  coded = module.compress(image=images, lmbda=lmbda)
  decoded = module.decompress(
    latent_strings=coded["latent_strings"],
    hyper_latent_strings=coded["hyper_latent_strings"],
    image_shape=coded["image_shape"],
    lmbda=lmbda,
  )["image"]
  reconstruction = module.reconstruct(image=images, lmbda=lmbda)
  np.testing.assert_array_equal(
    decoded.numpy(), reconstruction["reconstruction"].numpy()
  )
  assert decoded.shape == [2, 48, 35, 3]
  assert reconstruction["estimated_bpp"].shape == [2]
  with pytest.raises(tf.errors.InvalidArgumentError, match="training range"):
    module.compress(image=images, lmbda=tf.constant(1.0))
  with pytest.raises(tf.errors.InvalidArgumentError, match="positive"):
    module.reconstruct(image=images, lmbda=tf.constant(-0.01))


def test_fixed_lambda_module_records_its_lambda(runs):
  module = tf.saved_model.load(runs.fixed_module)
  metadata = json.loads(module.metadata()["metadata"].numpy())
  assert metadata["lmbda"] == tiny_compression_runs.FIXED_LAMBDA
  assert metadata["conditioning_input_offset"] is None  # Unconditioned.
  assert "lmbda_range" not in metadata
  images = tiny_codecs.photo_crops(32, 1, name="chelsea", seed=4)
  coded = module.compress(image=images, lmbda=tf.constant(0.01))
  assert coded["latent_strings"].shape == [1]
