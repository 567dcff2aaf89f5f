"""Tests of the module clients' shared layer (yoto.clients and its base).

Loading is tested on tiny SavedModels that have only what a client reads: a
`metadata` signature and functions of the right names. The clients' work on
real exported modules is tested by test_compress_cli, test_stylize_cli,
test_plot_cli and the notebooks.
"""

import json
import os
import time

import numpy as np
import pytest
import tensorflow as tf

from yoto import clients
from yoto.clients import base
from yoto.clients import codec as codec_lib
from yoto.clients import paths
from yoto.clients import stylizer as stylizer_lib
from yoto.clients import vae
from yoto.utils import image_files
from yoto.weights import contract

VAE_CONTRACT = contract.LossConditioning(
  ("kl_loss", "reconstruction_loss"),
  "log",
  {"kl_loss": (0.5, 512.0), "reconstruction_loss": (1.0, 1.0)},
)
CODEC_CONTRACT = contract.LossConditioning(
  ("distortion", "rate"),
  "log",
  {"distortion": (0.0012, 0.26), "rate": (1.0, 1.0)},
)
STYLE_LOSSES = (
  "content_loss",
  "style_loss_1",
  "style_loss_2",
  "total_variation_loss",
)
STYLE_CONTRACT = contract.LossConditioning(
  STYLE_LOSSES,
  "log",
  {
    "content_loss": (1.0, 100.0),
    "style_loss_1": (1e-4, 1e-2),
    "style_loss_2": (1e-4, 1e-2),
    "total_variation_loss": (1e-6, 1e-6),
  },
)


def _metadata(problem, conditioning, **extra):
  return {"problem": problem, **conditioning.to_dict(), **extra}


VAE_METADATA = _metadata(
  "ConditionalVaeProblem", VAE_CONTRACT, latent_dimensions=2
)
CODEC_METADATA = _metadata(
  "HyperpriorCompressionProblem",
  CODEC_CONTRACT,
  fingerprint="0123456789abcdef0011",
  num_filters=8,
)
STYLE_METADATA = _metadata(
  "StyleTransferProblem",
  STYLE_CONTRACT,
  conditioned_losses=["content_loss", "style_loss_2"],
  style_layers=["a", "b"],
  min_image_size=8,
  default_weights={
    "content_loss": 10.0,
    "style_loss_1": 1e-3,
    "style_loss_2": 1e-3,
    "total_variation_loss": 1e-6,
  },
)


def _save(path, metadata=None, functions=()):
  """Saves a tf.Module with a `metadata` signature (unless None) and
  functions of the given names; returns `path`."""
  module = tf.Module()
  signatures = {}
  named = {name: lambda: {"output": tf.constant(0.0)} for name in functions}
  if metadata is not None:
    text = json.dumps(metadata)
    named["metadata"] = lambda: {"metadata": tf.constant(text)}
  for name, fn in named.items():
    function = tf.function(fn, input_signature=[])
    setattr(module, name, function)
    signatures[name] = function.get_concrete_function()
  tf.saved_model.save(module, str(path), signatures=signatures)
  return str(path)


@pytest.fixture(name="modules", scope="module")
def modules_fixture(tmp_path_factory):
  """{kind: path} of one tiny module per client, and of misfits."""
  root = tmp_path_factory.mktemp("modules")
  return {
    "vae": _save(
      root / "run" / paths.HUB_DIR / "step-000000007",
      VAE_METADATA,
      vae.VaeClient.SIGNATURES,
    ),
    "codec": _save(root / "codec", CODEC_METADATA, codec_lib.Codec.SIGNATURES),
    "stylizer": _save(
      root / "stylizer", STYLE_METADATA, stylizer_lib.Stylizer.SIGNATURES
    ),
    "unknown": _save(
      root / "unknown", _metadata("SomeOtherProblem", VAE_CONTRACT)
    ),
    "no_metadata": _save(root / "no_metadata", None, ("reconstruct",)),
    "old_vae": _save(root / "old_vae", VAE_METADATA, ("reconstruct",)),
  }


@pytest.mark.parametrize(
  "kind, client",
  [
    ("vae", vae.VaeClient),
    ("codec", codec_lib.Codec),
    ("stylizer", stylizer_lib.Stylizer),
  ],
)
def test_load_picks_the_client_the_metadata_names(modules, kind, client):
  loaded = clients.load(modules[kind])
  assert type(loaded) is client  # pylint: disable=unidiomatic-typecheck
  assert loaded.path == os.path.abspath(modules[kind])
  assert loaded.metadata["problem"] == client.PROBLEM
  assert loaded.conditioning.loss_names == tuple(loaded.metadata["loss_names"])
  assert isinstance(client.load(modules[kind]), client)


def test_a_model_dir_loads_its_newest_module(modules):
  model_dir = paths.model_dir_of_module(modules["vae"])
  loaded = clients.load(model_dir)
  assert loaded.path == os.path.abspath(modules["vae"])
  assert loaded.model_dir == model_dir and loaded.step == 7


def test_a_module_loads_once_until_it_is_exported_again(modules, tmp_path):
  first = base.read_module(modules["codec"])[1]
  assert base.read_module(modules["codec"])[1] is first
  path = _save(tmp_path / "again", CODEC_METADATA, codec_lib.Codec.SIGNATURES)
  before = base.read_module(path)[1]
  later = time.time() + 10
  os.utime(os.path.join(path, "saved_model.pb"), (later, later))
  assert base.read_module(path)[1] is not before


@pytest.mark.parametrize(
  "kind, error, message",
  [
    (
      "unknown",
      base.ClientError,
      "a SomeOtherProblem module; yoto has clients for ConditionalVaeProblem",
    ),
    ("no_metadata", base.ClientError, "no metadata signature"),
  ],
)
def test_what_no_client_reads_is_a_clear_error(modules, kind, error, message):
  with pytest.raises(error, match=message):
    clients.load(modules[kind])


def test_a_missing_module_says_what_to_do(tmp_path):
  with pytest.raises(paths.HubModuleNotFoundError, match="No such hub"):
    clients.load(str(tmp_path / "missing"))
  with pytest.raises(paths.HubModuleNotFoundError, match="--schedule=eval"):
    codec_lib.Codec.load(str(tmp_path))


@pytest.mark.parametrize(
  "client, kind, message",
  [
    (
      codec_lib.Codec,
      "vae",
      "ConditionalVaeProblem module, not a compression module",
    ),
    (stylizer_lib.Stylizer, "codec", "not a style-transfer module"),
    (
      vae.VaeClient,
      "old_vae",
      "without the reconstruct_at_beta, sample_at_beta signature",
    ),
  ],
)
def test_a_client_refuses_a_module_it_cannot_run(
  modules, client, kind, message
):
  with pytest.raises(client.Error, match=message):
    client.load(modules[kind])


def test_metadata_without_a_contract_is_refused():
  with pytest.raises(base.ClientError, match="no loss-weight contract"):
    vae.VaeClient("/m", None, {"problem": "ConditionalVaeProblem"})


def _unloaded(client, metadata, fixed_weights=None):
  """A client of no module; with `fixed_weights`, of a fixed-weight model."""
  if fixed_weights:
    metadata = dict(
      metadata, preprocessing=None, ranges=None, fixed_weights=fixed_weights
    )
  return client("/runs/a/hub_modules/step-000000003", None, metadata)


def _vae(conditioned=True):
  return _unloaded(
    vae.VaeClient,
    VAE_METADATA,
    None if conditioned else {"kl_loss": 4.0, "reconstruction_loss": 1.0},
  )


def test_range_checks_take_the_contracts_one_tolerance(monkeypatch):
  client = _vae()
  tolerance = contract.LossConditioning.RANGE_TOLERANCE
  for inside in (512.0 * (1 + tolerance / 2), 0.5 * (1 - tolerance / 2)):
    assert client.check_beta(inside) == inside
  with pytest.raises(base.ClientError, match=r"outside \[0.5, 512\]"):
    client.check_beta(512.0 * (1 + 2 * tolerance))
  monkeypatch.setattr(contract.LossConditioning, "RANGE_TOLERANCE", 0.1)
  assert client.check_beta(540.0) == 540.0  # 5 % over: now within.


@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf")])
def test_weights_must_be_positive_numbers(value):
  with pytest.raises(base.ClientError, match="β must be a positive number"):
    _vae().check_beta(value)
  _vae(conditioned=False).check_beta(1e6)  # A fixed model ignores β.


def test_ranges_and_fixed_weights_come_from_the_contract():
  assert _vae().beta_range == (0.5, 512.0)
  assert _vae().is_conditioned
  fixed = _vae(conditioned=False)
  assert fixed.beta_range is None and not fixed.is_conditioned
  assert fixed.range_of("kl_loss") is None


def _codec(conditioned=True):
  return _unloaded(
    codec_lib.Codec,
    CODEC_METADATA,
    None if conditioned else {"distortion": 0.01, "rate": 1.0},
  )


def test_a_fixed_lambda_codec_takes_only_its_own_lambda():
  codec = _codec(conditioned=False)
  assert codec.fixed_lmbda == 0.01 and codec.lmbda_range is None
  assert codec.check_lmbda(None) == 0.01
  assert codec.check_lmbda(0.01 * (1 + 1e-6)) == pytest.approx(0.01)
  with pytest.raises(
    codec_lib.CodecError, match="single λ=0.01; got λ=0.02. Leave out --lmbda"
  ):
    codec.check_lmbda(0.02)


def test_a_yoto_codec_needs_lambda_in_its_range():
  codec = _codec()
  assert codec.fixed_lmbda is None
  assert codec.lmbda_range == (0.0012, 0.26)
  assert codec.fingerprint == bytes.fromhex("0123456789abcdef")
  with pytest.raises(codec_lib.CodecError, match=r"Give --lmbda.*0.0012"):
    codec.check_lmbda(None)
  with pytest.raises(codec_lib.CodecError, match=r"outside \[0.0012, 0.26\]"):
    codec.check_lmbda(0.5)


def _stylizer():
  return _unloaded(stylizer_lib.Stylizer, STYLE_METADATA)


def test_a_stylizer_varies_only_its_conditioned_weights():
  stylizer = _stylizer()
  assert stylizer.range_of("content_loss") == (1.0, 100.0)
  assert stylizer.range_of("style_loss_1") is None  # Ranged, not conditioned.
  assert stylizer.resolve_weights() == {
    "content_loss": 10.0,
    "style_loss_1": 1e-3,
    "style_loss_2": 1e-3,
  }
  assert stylizer.resolve_weights(50.0, [1e-3, 1e-2])["style_loss_2"] == 1e-2
  with pytest.raises(
    stylizer_lib.StylizeError,
    match="single style_weight_1=0.001; got "
    "style_weight_1=0.002. Weights it can vary: "
    "content_weight, style_weight_2",
  ):
    stylizer.resolve_weights(style_weights=[2e-3, 1e-3])
  with pytest.raises(
    stylizer_lib.StylizeError,
    match=r"content_weight=1000 is outside \[1, 100\]",
  ):
    stylizer.resolve_weights(1000.0)
  np.testing.assert_array_equal(
    stylizer.weight_vector(stylizer.resolve_weights()),
    np.array([10.0, 1e-3], np.float32),
  )


def test_a_stylizer_refuses_images_smaller_than_its_network_takes():
  _stylizer().check_image_size((8, 30, 3))
  with pytest.raises(stylizer_lib.StylizeError, match="at least 8x8"):
    _stylizer().check_image_size((4, 30, 3))


def test_user_errors_cover_modules_paths_and_images():
  for error in (
    codec_lib.CodecError,
    stylizer_lib.StylizeError,
    paths.HubModuleNotFoundError,
    image_files.ImageTooLargeError,
  ):
    assert issubclass(error, base.USER_ERRORS)
