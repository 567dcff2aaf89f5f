"""Tests for yoto.architectures.convnet.ConditionalConvnet.

The parameter counts are derived by hand from the layer sizes of the paper's
architectures (appendix A.1) and the original configs:
- a 3x3 (transposed) convolution from `c_in` to `c_out` channels has
  `3*3*c_in*c_out + c_out` parameters, a dense layer `d_in*d_out + d_out`;
- each FiLM'd block of `C` channels adds two MLPs (scales and shifts),
  `n -> hidden -> C`: `2 * ((n*hidden + hidden) + (hidden*C + C))`.
"""

import numpy as np
import pytest
import tensorflow as tf

from yoto.architectures import conditioning
from yoto.architectures import convnet

BATCH = 2
N_EXTRA = 2  # Two losses: inputs_extra is [batch, 2].

CIFAR_ENCODER = dict(
  num_blocks=3,
  layers_per_block=2,
  base_num_channels=16,
  fc_layer_sizes=[512, 512],
  alpha=0.3,
  conditioning_layer_sizes=[512],
)
CIFAR_DECODER = dict(
  num_blocks=3,
  layers_per_block=2,
  base_num_channels=16,
  upconv=True,
  fc_layer_sizes=[512, 1024],
  upconv_reshape_size=[4, 4, 64],
  channels_out=6,
  alpha=0.3,
  conditioning_layer_sizes=[512],
)
SHAPES3D_ENCODER = dict(
  num_blocks=4,
  layers_per_block=1,
  base_num_channels=8,
  fc_layer_sizes=[256, 20],
  alpha=0.3,
  conditioning_layer_sizes=[256],
)
SHAPES3D_DECODER = dict(
  num_blocks=4,
  layers_per_block=1,
  base_num_channels=8,
  upconv=True,
  fc_layer_sizes=[256, 1024],
  upconv_reshape_size=[4, 4, 64],
  channels_out=3,
  alpha=0.3,
  conditioning_layer_sizes=[256],
)

CIFAR_IMAGE = [BATCH, 32, 32, 3]
CIFAR_LATENT = [BATCH, 256]
SHAPES3D_IMAGE = [BATCH, 64, 64, 3]
SHAPES3D_LATENT = [BATCH, 10]

# --- Hand-derived parameter counts. -----------------------------------------
# CIFAR-10 encoder convs: (3->16, 16->16), (16->32, 32->32), (32->64, 64->64).
CIFAR_ENCODER_CONVS = (
  (3 * 3 * 3 * 16 + 16)
  + (3 * 3 * 16 * 16 + 16)
  + (3 * 3 * 16 * 32 + 32)
  + (3 * 3 * 32 * 32 + 32)
  + (3 * 3 * 32 * 64 + 64)
  + (3 * 3 * 64 * 64 + 64)
)
# Flattened 4x4x64 = 1024 -> 512 -> 512.
CIFAR_ENCODER_FC = (1024 * 512 + 512) + (512 * 512 + 512)
# FiLM on blocks of 16, 32 and 64 channels, MLPs 2 -> 512 -> C.
CIFAR_FILM = (
  2 * ((2 * 512 + 512) + (512 * 16 + 16))
  + 2 * ((2 * 512 + 512) + (512 * 32 + 32))
  + 2 * ((2 * 512 + 512) + (512 * 64 + 64))
)
# Latent 256 -> 512 -> 1024 (reshaped to 4x4x64).
CIFAR_DECODER_FC = (256 * 512 + 512) + (512 * 1024 + 1024)
# Transposed convs: block 2 (64->64, 64->64), block 1 (64->32, 32->32),
# block 0 (32->16, 16->16); then the final conv 16->6.
CIFAR_DECODER_CONVS = (
  (3 * 3 * 64 * 64 + 64)
  + (3 * 3 * 64 * 64 + 64)
  + (3 * 3 * 64 * 32 + 32)
  + (3 * 3 * 32 * 32 + 32)
  + (3 * 3 * 32 * 16 + 16)
  + (3 * 3 * 16 * 16 + 16)
  + (3 * 3 * 16 * 6 + 6)
)

# Shapes3D encoder convs: 3->8, 8->16, 16->32, 32->64, one per block.
SHAPES3D_ENCODER_CONVS = (
  (3 * 3 * 3 * 8 + 8)
  + (3 * 3 * 8 * 16 + 16)
  + (3 * 3 * 16 * 32 + 32)
  + (3 * 3 * 32 * 64 + 64)
)
# Flattened 4x4x64 = 1024 -> 256 -> 20.
SHAPES3D_ENCODER_FC = (1024 * 256 + 256) + (256 * 20 + 20)
# FiLM on blocks of 8, 16, 32 and 64 channels, MLPs 2 -> 256 -> C.
SHAPES3D_FILM = (
  2 * ((2 * 256 + 256) + (256 * 8 + 8))
  + 2 * ((2 * 256 + 256) + (256 * 16 + 16))
  + 2 * ((2 * 256 + 256) + (256 * 32 + 32))
  + 2 * ((2 * 256 + 256) + (256 * 64 + 64))
)
# Latent 10 -> 256 -> 1024 (reshaped to 4x4x64).
SHAPES3D_DECODER_FC = (10 * 256 + 256) + (256 * 1024 + 1024)
# Transposed convs 64->64, 64->32, 32->16, 16->8; final conv 8->3.
SHAPES3D_DECODER_CONVS = (
  (3 * 3 * 64 * 64 + 64)
  + (3 * 3 * 64 * 32 + 32)
  + (3 * 3 * 32 * 16 + 16)
  + (3 * 3 * 16 * 8 + 8)
  + (3 * 3 * 8 * 3 + 3)
)

NETWORKS = {
  # name: (config, input shape, output shape, unconditioned count, FiLM count)
  "cifar_encoder": (
    CIFAR_ENCODER,
    CIFAR_IMAGE,
    (BATCH, 512),
    CIFAR_ENCODER_CONVS + CIFAR_ENCODER_FC,
    CIFAR_FILM,
  ),
  "cifar_decoder": (
    CIFAR_DECODER,
    CIFAR_LATENT,
    (BATCH, 32, 32, 6),
    CIFAR_DECODER_FC + CIFAR_DECODER_CONVS,
    CIFAR_FILM,
  ),
  "shapes3d_encoder": (
    SHAPES3D_ENCODER,
    SHAPES3D_IMAGE,
    (BATCH, 20),
    SHAPES3D_ENCODER_CONVS + SHAPES3D_ENCODER_FC,
    SHAPES3D_FILM,
  ),
  "shapes3d_decoder": (
    SHAPES3D_DECODER,
    SHAPES3D_LATENT,
    (BATCH, 64, 64, 3),
    SHAPES3D_DECODER_FC + SHAPES3D_DECODER_CONVS,
    SHAPES3D_FILM,
  ),
}


def test_hand_derived_counts_evaluate_to_reported_totals():
  """Pins the totals quoted in the docs."""
  assert CIFAR_ENCODER_CONVS + CIFAR_ENCODER_FC == 859_536
  assert CIFAR_DECODER_FC + CIFAR_DECODER_CONVS == 766_278
  assert CIFAR_FILM == 124_128
  assert SHAPES3D_ENCODER_CONVS + SHAPES3D_ENCODER_FC == 292_068
  assert SHAPES3D_DECODER_FC + SHAPES3D_DECODER_CONVS == 327_379
  assert SHAPES3D_FILM == 67_824


def _num_params(variables):
  return sum(int(np.prod(v.shape)) for v in variables)


def _inputs_extra(seed=0, batch=BATCH):
  return tf.random.stateless_uniform([batch, N_EXTRA], [seed, 1], -1.0, 6.0)


def _inputs(shape, seed=0):
  return tf.random.stateless_normal(shape, [seed, 2])


def _build(config, input_shape, conditioned, **overrides):
  net = convnet.ConditionalConvnet(**{**config, **overrides})
  outputs, endpoints = net(
    _inputs(input_shape), _inputs_extra() if conditioned else None
  )
  return net, outputs, endpoints


# --- Shapes. -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(NETWORKS))
@pytest.mark.parametrize("conditioned", [False, True])
def test_output_shape_and_parameter_count(name, conditioned):
  config, input_shape, output_shape, base_count, film_count = NETWORKS[name]
  net, outputs, _ = _build(config, input_shape, conditioned)
  assert outputs.shape == output_shape
  expected = base_count + (film_count if conditioned else 0)
  assert _num_params(net.trainable_variables) == expected
  _, cond_vars = conditioning.split_conditioning_variables(net)
  assert _num_params(cond_vars) == (film_count if conditioned else 0)


def test_encoder_endpoints():
  _, _, endpoints = _build(CIFAR_ENCODER, CIFAR_IMAGE, conditioned=True)
  expected = {}
  for block, (size, channels) in enumerate([(16, 16), (8, 32), (4, 64)]):
    for kind in (
      "conv_block",
      "conv_block_before_nonlin",
      "conv_block_before_cond",
    ):
      expected[f"{kind}_{block}"] = (BATCH, size, size, channels)
  assert {k: tuple(v.shape) for k, v in endpoints.items()} == expected
  # A leaky ReLU follows every block but the last.
  for block in (0, 1):
    before = endpoints[f"conv_block_before_nonlin_{block}"].numpy()
    np.testing.assert_allclose(
      endpoints[f"conv_block_{block}"].numpy(),
      np.where(before > 0, before, 0.3 * before),
      rtol=1e-6,
    )
  np.testing.assert_array_equal(
    endpoints["conv_block_2"].numpy(),
    endpoints["conv_block_before_nonlin_2"].numpy(),
  )


def test_decoder_endpoints():
  _, _, endpoints = _build(SHAPES3D_DECODER, SHAPES3D_LATENT, conditioned=False)
  expected = {}
  for block, (size, channels) in enumerate(
    [(64, 8), (32, 16), (16, 32), (8, 64)]
  ):
    for kind in ("upconv_block", "upconv_block_before_nonlin"):
      expected[f"{kind}_{block}"] = (BATCH, size, size, channels)
  assert {k: tuple(v.shape) for k, v in endpoints.items()} == expected
  # A leaky ReLU follows every decoder block, the last one included.
  before = endpoints["upconv_block_before_nonlin_0"].numpy()
  np.testing.assert_allclose(
    endpoints["upconv_block_0"].numpy(),
    np.where(before > 0, before, 0.3 * before),
    rtol=1e-6,
  )


def test_film_is_applied_to_each_block_before_the_nonlinearity():
  net, _, endpoints = _build(SHAPES3D_ENCODER, SHAPES3D_IMAGE, conditioned=True)
  for block in range(4):
    scales, shifts = net.film_layers[block].scales_and_shifts(_inputs_extra())
    expected = (
      scales[:, None, None, :] * endpoints[f"conv_block_before_cond_{block}"]
      + shifts[:, None, None, :]
    )
    np.testing.assert_allclose(
      endpoints[f"conv_block_before_nonlin_{block}"].numpy(),
      expected.numpy(),
      rtol=1e-5,
      atol=1e-5,
    )


# --- Conditioning. -----------------------------------------------------------


@pytest.mark.parametrize(
  "conditioning_type", ["mult_and_add", "concat", "input"]
)
@pytest.mark.parametrize("upconv", [False, True])
def test_inputs_extra_changes_outputs(conditioning_type, upconv):
  config = SHAPES3D_DECODER if upconv else SHAPES3D_ENCODER
  input_shape = SHAPES3D_LATENT if upconv else SHAPES3D_IMAGE
  net = convnet.ConditionalConvnet(
    **config, conditioning_type=conditioning_type
  )
  inputs = _inputs(input_shape)
  outputs_a, _ = net(inputs, _inputs_extra(seed=1))
  outputs_b, _ = net(inputs, _inputs_extra(seed=2))
  assert outputs_a.shape == outputs_b.shape
  assert np.max(np.abs(outputs_a.numpy() - outputs_b.numpy())) > 1e-4


def test_concat_and_input_parameter_counts():
  """Concatenation widens the convolutions' inputs by n; no FiLM variables."""
  net, _, _ = _build(
    SHAPES3D_ENCODER,
    SHAPES3D_IMAGE,
    conditioned=True,
    conditioning_type="concat",
  )
  assert _num_params(net.trainable_variables) == (
    (3 * 3 * (3 + 2) * 8 + 8)
    + (3 * 3 * (8 + 2) * 16 + 16)
    + (3 * 3 * (16 + 2) * 32 + 32)
    + (3 * 3 * (32 + 2) * 64 + 64)
    + SHAPES3D_ENCODER_FC
  )
  net, _, _ = _build(
    SHAPES3D_ENCODER,
    SHAPES3D_IMAGE,
    conditioned=True,
    conditioning_type="input",
  )
  assert _num_params(net.trainable_variables) == (
    SHAPES3D_ENCODER_CONVS + SHAPES3D_ENCODER_FC + 3 * 3 * 2 * 8
  )
  # In the decoder, 'input' concatenates at block 0, the last one processed,
  # whose transposed conv maps 16 + 2 channels to 8.
  net, _, _ = _build(
    SHAPES3D_DECODER,
    SHAPES3D_LATENT,
    conditioned=True,
    conditioning_type="input",
  )
  assert _num_params(net.trainable_variables) == (
    SHAPES3D_DECODER_FC + SHAPES3D_DECODER_CONVS + 3 * 3 * 2 * 8
  )
  assert not conditioning.split_conditioning_variables(net)[1]


def test_unconditioned_network_has_no_conditioning_variables():
  net, outputs, endpoints = _build(
    CIFAR_ENCODER, CIFAR_IMAGE, conditioned=False
  )
  assert outputs.shape == (BATCH, 512)
  assert net.film_layers is None
  assert not any("before_cond" in key for key in endpoints)
  normal, cond = conditioning.split_conditioning_variables(net)
  assert not cond
  assert len(normal) == len(net.trainable_variables)


def test_conditioning_variables_are_exactly_the_film_mlps():
  net, _, _ = _build(CIFAR_DECODER, CIFAR_LATENT, conditioned=True)
  normal, cond = conditioning.split_conditioning_variables(net)
  film_variables = [
    v for layer in net.film_layers for v in layer.trainable_variables
  ]
  # 3 blocks x 2 MLPs x 2 dense layers x (kernel, bias).
  assert len(cond) == 3 * 2 * 2 * 2
  assert {v.ref() for v in cond} == {v.ref() for v in film_variables}
  for v in cond:
    assert "conditioning" in v.name
    assert any(f"conditioning_{block}" in v.name for block in range(3))
  # The rest is exactly the unconditioned network.
  assert _num_params(normal) == CIFAR_DECODER_FC + CIFAR_DECODER_CONVS
  assert not any("conditioning" in v.name for v in normal)


def test_variable_names_are_scoped_inside_an_outer_model():
  """Names keep 'conditioning' when built inside another model's tf.function."""

  class Vae(tf.keras.Model):
    def __init__(self):
      super().__init__(name="vae")
      self.encoder = convnet.ConditionalConvnet(
        **SHAPES3D_ENCODER, name="encoder"
      )

    def call(self, images, inputs_extra):
      return self.encoder(images, inputs_extra)[0]

  vae = Vae()
  tf.function(vae)(_inputs(SHAPES3D_IMAGE), _inputs_extra())
  _, cond = conditioning.split_conditioning_variables(vae)
  assert _num_params(cond) == SHAPES3D_FILM
  assert all(v.name.startswith("vae/encoder/conditioning_") for v in cond)


def test_film_starts_near_identity():
  post = conditioning.ConditioningPostprocessing(
    scales_mult=0.01, scales_add=1.0, shifts_mult=0.01
  )
  net, _, endpoints = _build(
    CIFAR_ENCODER,
    CIFAR_IMAGE,
    conditioned=True,
    conditioning_postprocessing=post,
  )
  for block in range(3):
    scales, shifts = net.film_layers[block].scales_and_shifts(_inputs_extra())
    assert np.mean(np.abs(scales.numpy() - 1.0)) < 0.1
    assert np.mean(np.abs(shifts.numpy())) < 0.1
    before = endpoints[f"conv_block_before_cond_{block}"].numpy()
    after = endpoints[f"conv_block_before_nonlin_{block}"].numpy()
    assert np.linalg.norm(after - before) < 0.2 * np.linalg.norm(
      before
    ) + 0.2 * np.sqrt(before.size)


def test_gradients_reach_conditioning_variables():
  net = convnet.ConditionalConvnet(**SHAPES3D_DECODER)
  latents = _inputs(SHAPES3D_LATENT)
  with tf.GradientTape() as tape:
    outputs, _ = net(latents, _inputs_extra())
    loss = tf.reduce_mean(tf.square(outputs - 0.5))
  _, cond = conditioning.split_conditioning_variables(net)
  grads = tape.gradient(loss, cond)
  assert len(grads) == 4 * 8
  for variable, grad in zip(cond, grads):
    assert grad is not None, variable.name
    assert np.any(grad.numpy() != 0.0), variable.name


@pytest.mark.parametrize(
  "postprocessing",
  [
    conditioning.ConditioningPostprocessing,  # A class, as gin passes it.
    conditioning.ConditioningPostprocessing(scales_mult=0.5),
    lambda: conditioning.ConditioningPostprocessing(scales_add=1.0),
    None,
  ],
)
def test_conditioning_postprocessing_argument(postprocessing):
  net = convnet.ConditionalConvnet(
    num_blocks=1,
    layers_per_block=1,
    base_num_channels=4,
    conditioning_postprocessing=postprocessing,
  )
  assert isinstance(
    net.conditioning_postprocessing, conditioning.ConditioningPostprocessing
  )
  outputs, _ = net(_inputs([BATCH, 8, 8, 3]), _inputs_extra())
  assert outputs.shape == (BATCH, 4, 4, 4)


# --- Other behaviour. -------------------------------------------------------


def test_final_sigmoid():
  net, outputs, _ = _build(
    SHAPES3D_DECODER, SHAPES3D_LATENT, conditioned=True, final_sigmoid=True
  )
  net.final_sigmoid = False
  logits, _ = net(_inputs(SHAPES3D_LATENT), _inputs_extra())
  np.testing.assert_allclose(
    outputs.numpy(), tf.sigmoid(logits).numpy(), rtol=1e-6
  )


def test_conv_kernel_initializer_scale():
  """VarianceScaling(2 / (1 + alpha^2)), fan-in: std^2 = scale / fan_in."""
  net, _, _ = _build(CIFAR_ENCODER, CIFAR_IMAGE, conditioned=False)
  kernel = net.conv_blocks[2][1].kernel.numpy()  # 3x3x64x64, fan_in 576.
  np.testing.assert_allclose(
    np.std(kernel), np.sqrt(2.0 / (1.0 + 0.3**2) / (3 * 3 * 64)), rtol=0.05
  )
  np.testing.assert_array_equal(net.conv_blocks[2][1].bias.numpy(), 0.0)


def test_tf_function_matches_eager():
  net = convnet.ConditionalConvnet(**CIFAR_DECODER)
  latents, inputs_extra = _inputs(CIFAR_LATENT), _inputs_extra()
  eager, _ = net(latents, inputs_extra)
  graph, _ = tf.function(net)(latents, inputs_extra)
  np.testing.assert_allclose(graph.numpy(), eager.numpy(), rtol=1e-5, atol=1e-5)


def test_checkpoint_restores_into_an_unbuilt_network(tmp_path):
  """The lazily created FiLM layers take part in deferred restoration."""
  config = dict(SHAPES3D_DECODER, name="decoder")
  net = convnet.ConditionalConvnet(**config)
  latents, inputs_extra = _inputs(SHAPES3D_LATENT), _inputs_extra()
  expected, _ = net(latents, inputs_extra)
  path = tf.train.Checkpoint(model=net).save(str(tmp_path / "ckpt"))
  restored = convnet.ConditionalConvnet(**config)
  status = tf.train.Checkpoint(model=restored).restore(path)
  outputs, _ = restored(latents, inputs_extra)
  status.assert_consumed()
  np.testing.assert_array_equal(outputs.numpy(), expected.numpy())


def test_works_after_saved_model_serialization(tmp_path):
  net = convnet.ConditionalConvnet(
    num_blocks=2,
    layers_per_block=1,
    base_num_channels=4,
    upconv=True,
    fc_layer_sizes=[16, 64],
    upconv_reshape_size=[4, 4, 4],
    conditioning_layer_sizes=[8],
  )
  latents, inputs_extra = _inputs([BATCH, 5]), _inputs_extra()
  expected, _ = net(latents, inputs_extra)
  module = tf.Module()
  module.net = net
  module.decode = tf.function(
    lambda z, extra: net(z, extra)[0],
    input_signature=[tf.TensorSpec([None, 5]), tf.TensorSpec([None, N_EXTRA])],
  )
  tf.saved_model.save(module, str(tmp_path / "saved"))
  loaded = tf.saved_model.load(str(tmp_path / "saved"))
  np.testing.assert_allclose(
    loaded.decode(latents, inputs_extra).numpy(),
    expected.numpy(),
    rtol=1e-6,
    atol=1e-6,
  )


# --- Errors. ----------------------------------------------------------------


@pytest.mark.parametrize(
  "kwargs, match",
  [
    (
      dict(conditioning_type="film"),
      "Unknown conditioning_type 'film'; valid types are 'mult_and_add', "
      "'concat', 'input'",
    ),
    (
      dict(upconv_reshape_size=[4, 4, 64], fc_layer_sizes=[1024]),
      "upconv_reshape_size is only used by a decoder",
    ),
    (
      dict(upconv=True, upconv_reshape_size=[4, 4, 64]),
      "upconv_reshape_size is only used by a decoder",
    ),
    (
      dict(
        upconv=True, fc_layer_sizes=[512, 1000], upconv_reshape_size=[4, 4, 64]
      ),
      r"last FC layer size \(1000\) must equal .* \(1024\)",
    ),
    (dict(upconv=True, fc_layer_sizes=[1024]), "needs upconv_reshape_size"),
  ],
)
def test_invalid_configuration_raises(kwargs, match):
  with pytest.raises(ValueError, match=match):
    convnet.ConditionalConvnet(**kwargs)


@pytest.mark.parametrize("shape", [[BATCH], [BATCH, 1, 2]])
def test_inputs_extra_of_wrong_rank_raises(shape):
  net = convnet.ConditionalConvnet(num_blocks=1, base_num_channels=4)
  with pytest.raises(ValueError, match="inputs_extra must have shape"):
    net(_inputs([BATCH, 8, 8, 3]), tf.zeros(shape))


def test_inputs_extra_of_another_width_raises():
  net = convnet.ConditionalConvnet(
    num_blocks=1, base_num_channels=4, conditioning_type="concat"
  )
  net(_inputs([BATCH, 8, 8, 3]), tf.zeros([BATCH, 2]))
  with pytest.raises(ValueError, match="expected 2, got 3"):
    net(_inputs([BATCH, 8, 8, 3]), tf.zeros([BATCH, 3]))


def test_switching_between_conditioned_and_unconditioned_raises():
  conditioned = convnet.ConditionalConvnet(num_blocks=1, base_num_channels=4)
  conditioned(_inputs([BATCH, 8, 8, 3]), _inputs_extra())
  with pytest.raises(ValueError, match="built conditioned"):
    conditioned(_inputs([BATCH, 8, 8, 3]))
  unconditioned = convnet.ConditionalConvnet(num_blocks=1, base_num_channels=4)
  unconditioned(_inputs([BATCH, 8, 8, 3]))
  with pytest.raises(ValueError, match="built unconditioned"):
    unconditioned(_inputs([BATCH, 8, 8, 3]), _inputs_extra())


@pytest.mark.parametrize("shape", [[BATCH, 8, 3], [BATCH, 8, 8, 8, 3]])
def test_encoder_input_of_wrong_rank_raises(shape):
  net = convnet.ConditionalConvnet(num_blocks=1, base_num_channels=4)
  with pytest.raises(ValueError, match=r"\[batch, height, width, channels\]"):
    net(tf.zeros(shape))


def _outputs_and_gradients(net, images, inputs_extra):
  """The network's outputs and the gradients of a non-linear function of
  them with respect to the images, inputs_extra and every variable."""
  with tf.GradientTape() as tape:
    tape.watch([images, inputs_extra])
    outputs, _ = net(images, inputs_extra)
    weights = tf.random.stateless_normal(tf.shape(outputs), seed=[7, 8])
    loss = tf.reduce_sum(weights * outputs + 0.5 * tf.square(outputs))
  return [outputs] + tape.gradient(
    loss, [images, inputs_extra] + net.trainable_variables
  )


@pytest.mark.parametrize(
  "config,image,strategy_name",
  [
    (CIFAR_ENCODER, CIFAR_IMAGE, "mirrored"),
    (CIFAR_DECODER, CIFAR_LATENT, "one_device"),
    (SHAPES3D_DECODER, SHAPES3D_LATENT, "mirrored"),
  ],
)
def test_folded_bias_film_equals_the_literal_formulation(
  config, image, strategy_name
):
  """`fold_conv_bias` (conv without bias, bias folded into FiLM's shifts)
  computes the same outputs and gradients as `scales * (conv(x) + bias) +
  shifts`, with the same variables, under one device and mirrored."""
  strategy = (
    tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    if strategy_name == "mirrored"
    else tf.distribute.OneDeviceStrategy("/cpu:0")
  )
  images = tf.random.stateless_normal(image, seed=[1, 2])
  inputs_extra = tf.random.stateless_normal([BATCH, N_EXTRA], seed=[3, 4])
  post = conditioning.ConditioningPostprocessing(0.5, 1.0, 0.5, 0.0)
  with strategy.scope():
    folded = convnet.ConditionalConvnet(
      **config, fold_conv_bias=True, conditioning_postprocessing=post
    )
    literal = convnet.ConditionalConvnet(
      **config, fold_conv_bias=False, conditioning_postprocessing=post
    )
    folded(images, inputs_extra)
    literal(images, inputs_extra)
  # Non-zero biases, so that folding them matters.
  for i, variable in enumerate(folded.trainable_variables):
    if variable.shape.rank == 1:
      variable.assign(
        0.1 * tf.random.stateless_normal(variable.shape, seed=[5, i])
      )
  inner_names = lambda net: [v.name.split("/", 1)[1] for v in net.variables]
  assert inner_names(folded) == inner_names(literal)
  literal.set_weights(folded.get_weights())

  @tf.function
  def run(net):
    return strategy.run(_outputs_and_gradients, (net, images, inputs_extra))

  for got, want in zip(run(folded), run(literal)):
    got = strategy.experimental_local_results(got)[0]
    want = strategy.experimental_local_results(want)[0]
    scale = float(tf.reduce_max(tf.abs(want))) + 1e-6
    # float32 reassociation: the bias-free and the biased convolution are
    # different oneDNN kernels, whose rounding differs by up to ~2e-4 of the
    # largest value after several layers and their gradients (seen when the
    # test shares a process with other files under pytest-xdist); a bias
    # that is not folded, or folded wrongly, is off by far more.
    np.testing.assert_allclose(
      got.numpy() / scale, want.numpy() / scale, atol=5e-4
    )
