"""Every config parses and builds, and the original binding names still work."""

import glob
import inspect
import os

from conftest import CONFIG_DIR
import gin
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from yoto import main
from yoto.architectures import conditioning
from yoto.training import experiment
from yoto.utils import data
from yoto.utils import data_sources
from yoto.utils import preprocessing

CONFIGS = sorted(
  os.path.basename(p) for p in glob.glob(os.path.join(CONFIG_DIR, "*.gin"))
)
# Overlays that shrink a config for tests and the benchmarks' --tiny modes.
TINY_OVERLAYS = ("tiny/style_transfer_network.gin", "tiny/two_step_run.gin")
# What this module's tests built and ran, for test_every_config_is_exercised.
_EXERCISED = set()


def _bound(name):
  value = gin.query_parameter(name)
  if isinstance(value, gin.config.ConfigurableReference):
    return value.scoped_configurable_fn
  return value


def _build_and_run(files, bindings=()):
  """Builds the config's problem on one batch of (mock) data; runs it."""
  gin.clear_config()
  main.parse_config(files, list(bindings))
  try:
    problem = _bound("experiment.problem_class")()
    mlo = _bound("experiment.optimizer_class")(problem)
    dataset = data.get_dataset(
      _bound("experiment.dataset_name"),
      data_sources.DatasetSplit.TRAIN,
      batch_size=2,
      preprocess_fn=preprocessing.get_preprocess_fn(
        _bound("experiment.preprocess")
      ),
    )
    features = next(iter(dataset))
    problem.initialize_model(
      dataset.element_spec, mlo.num_conditioning_inputs, mlo.conditioning
    )
    mlo.build_state()  # What the trainer does (e.g. the loss-scale estimate).
    total, losses, _ = mlo.train_losses(features, tf.constant([1, 2]))
    assert total.shape == [2]
    assert all(tf.reduce_all(tf.math.is_finite(v)) for v in losses.values())
    return problem, mlo
  finally:
    gin.clear_config()


def _mock_bindings(config):
  """What a config needs to run on tfds' mock data."""
  if config.startswith("clic_"):
    # Mock CLIC images are ~40 px, smaller than the real 256 px crops.
    return [
      "experiment.preprocess = 'resize(48)|random_crop(32)|value_range(0, 1)'"
    ]
  return []


@pytest.mark.parametrize("config", CONFIGS)
def test_config_parses_builds_and_runs_a_forward_pass(config):
  with tfds.testing.mock_data(num_examples=8):
    problem, mlo = _build_and_run(
      [os.path.join(CONFIG_DIR, config)], _mock_bindings(config)
    )
  assert problem.trainable_variables
  assert mlo.conditioning.is_conditioned == ("_fixed" not in config)
  with open(os.path.join(CONFIG_DIR, config)) as f:
    header = f.readline()
  assert header.startswith("# "), "configs start with a comment"
  _EXERCISED.add(config)


@pytest.mark.parametrize(
  "config",
  [
    "photo_patches_conv_vae_yoto.gin",
    "photo_patches_hyperprior_compression_yoto.gin",
    "photo_patches_magenta_style_transfer_yoto.gin",
  ],
)
def test_declared_conditioning_variables_are_those_named_conditioning(config):
  # Before the networks declared them, the trainer took every variable with
  # "conditioning" in its name; the declared split must be the same.
  files = [os.path.join(CONFIG_DIR, config)]
  if "style_transfer" in config:
    files += [os.path.join(CONFIG_DIR, name) for name in TINY_OVERLAYS]
  with tfds.testing.mock_data(num_examples=8):
    problem, _ = _build_and_run(files)
  normal, declared = conditioning.split_conditioning_variables(problem)
  by_name = [v for v in problem.trainable_variables if "conditioning" in v.name]
  assert declared
  assert [v.ref() for v in declared] == [v.ref() for v in by_name]
  assert len(normal) + len(declared) == len(problem.trainable_variables)


# The offsets these configs typed in by hand before they said 'centre'.
TYPED_IN_OFFSETS = {
  "clic_hyperprior_compression_yoto.gin": [-4.04, 0.0],
  "photo_patches_hyperprior_compression_yoto.gin": [-4.04, 0.0],
  "photo_patches_magenta_style_transfer_yoto.gin": [
    1.151,
    -10.362,
    -8.059,
    -3.454,
    -1.151,
    9.210,
  ],
}


def test_embedded_vae_config_uses_the_recipe_the_ablations_found():
  """log β in [log 0.5, log 512] reaches the FiLM MLPs as [-1, 1] (the
  offset is the log of the geometric centre 16, the reconstruction weight
  about 1 giving log 0; the scale 2 / ln(1024)), and the loss weights are
  normalised."""
  files = [os.path.join(CONFIG_DIR, "photo_patches_conv_vae_yoto.gin")]
  with tfds.testing.mock_data(num_examples=8):
    problem, mlo = _build_and_run(files)
  assert mlo.normalize_loss_weights
  np.testing.assert_allclose(
    problem.conditioning_input_offset, [np.log(16.0), 0.0], atol=1e-3
  )
  ends = (np.log([0.5, 512.0]) - np.log(16.0)) * (
    problem.conditioning_input_scale
  )
  np.testing.assert_allclose(ends, [-1.0, 1.0], atol=1e-5)


@pytest.mark.parametrize("config", sorted(TYPED_IN_OFFSETS))
def test_centre_resolves_to_the_offset_the_config_used_to_type_in(config):
  files = [os.path.join(CONFIG_DIR, config)]
  if "style_transfer" in config:
    files += [os.path.join(CONFIG_DIR, name) for name in TINY_OVERLAYS]
  with open(files[0]) as f:
    assert "conditioning_input_offset = 'centre'" in f.read()
  with tfds.testing.mock_data(num_examples=8):
    problem, _ = _build_and_run(files, _mock_bindings(config))
  np.testing.assert_allclose(
    problem.conditioning_input_offset, TYPED_IN_OFFSETS[config], atol=0.01
  )


def test_embedded_compression_config_balances_the_loss_scale():
  """The recipe BENCHMARKS.md §6 measured (balanced loss scale on top of
  normalised weights and centred log λ); the paper's CLIC config keeps the
  paper's plain loss."""
  files = [
    os.path.join(CONFIG_DIR, "photo_patches_hyperprior_compression_yoto.gin")
  ]
  with tfds.testing.mock_data(num_examples=8):
    _, mlo = _build_and_run(files)
  assert mlo.normalize_loss_weights
  assert mlo.balance_loss_scale
  with tfds.testing.mock_data(num_examples=8):
    _, paper = _build_and_run(
      [os.path.join(CONFIG_DIR, "clic_hyperprior_compression_yoto.gin")],
      _mock_bindings("clic_hyperprior_compression_yoto.gin"),
    )
  assert not paper.balance_loss_scale


def test_embedded_style_config_balances_the_loss_scale():
  """The recipe BENCHMARKS.md §7 measured: normalised weights and the
  balanced loss scale, as the compression config."""
  files = [
    os.path.join(CONFIG_DIR, "photo_patches_magenta_style_transfer_yoto.gin")
  ] + [os.path.join(CONFIG_DIR, name) for name in TINY_OVERLAYS]
  with tfds.testing.mock_data(num_examples=8):
    _, mlo = _build_and_run(files)
  assert mlo.normalize_loss_weights
  assert mlo.balance_loss_scale


@pytest.mark.parametrize(
  "config",
  [
    "photo_patches_magenta_style_transfer_yoto.gin",
    "photo_patches_magenta_style_transfer_fixed.gin",
  ],
)
def test_embedded_style_configs_use_the_content_skip_and_centred_styles(config):
  """Both embedded style configs (the fixed one includes the YOTO one) train
  the skip gain and centre the style statistics: the two deviations from
  Ghiasi et al. their header documents."""
  files = [os.path.join(CONFIG_DIR, config)] + [
    os.path.join(CONFIG_DIR, name) for name in TINY_OVERLAYS
  ]
  with tfds.testing.mock_data(num_examples=8):
    problem, _ = _build_and_run(files)
  network = problem.stylization_network
  assert network.content_skip
  trained = [v.ref() for v in problem.trainable_variables]
  assert network.content_skip_gain.ref() in trained
  assert problem.style_network.centre_features


def test_tiny_overlays_shrink_the_style_transfer_config():
  files = [
    os.path.join(CONFIG_DIR, name)
    for name in ("photo_patches_magenta_style_transfer_yoto.gin",)
    + TINY_OVERLAYS
  ]
  with tfds.testing.mock_data(num_examples=8):
    problem, _ = _build_and_run(files)
  assert problem.trainable_variables
  gin.clear_config()
  main.parse_config(files, [])
  try:
    assert _bound("experiment.train_steps") == 2
    assert _bound("StylizationNetwork.width_multiplier") == 0.125
  finally:
    gin.clear_config()
  for name in TINY_OVERLAYS:
    with open(os.path.join(CONFIG_DIR, name)) as f:
      assert f.readline().startswith("# "), name
  _EXERCISED.update(TINY_OVERLAYS)


def test_experiment_bindings_cover_the_original_names():
  names = set(inspect.signature(experiment.experiment).parameters)
  for original in [
    "problem_class",
    "optimizer_class",
    "dataset_name",
    "batch_size",
    "eval_batch_size",
    "train_steps",
    "eval_steps",
    "base_optimizer_class",
    "base_optimizer_conditioning_class",
    "iterations_per_loop",
    "eval_weights",
    "training_params_class",
    "training_params_conditioning_class",
    "preprocess",
    "preprocess_eval",
    "save_checkpoints_steps",
    "keep_checkpoint_max",
    "eval_on_test",
  ]:
    assert original in names


# The authors' released configs use exactly these names and values.
ORIGINAL_CIFAR = """
AdamOptimizer.beta1 = 0.9
AdamOptimizer.beta2 = 0.999
AdamOptimizer.epsilon = 1e-08
AdamOptimizer.name = 'Adam'
AdamOptimizer.use_locking = False
decoder/ConditionalConvnet.alpha = 0.3
decoder/ConditionalConvnet.base_num_channels = 16
decoder/ConditionalConvnet.channels_out = 6
decoder/ConditionalConvnet.conditioning_layer_sizes = [512]
decoder/ConditionalConvnet.conditioning_postprocessing = \\
    @ConditioningPostprocessing
decoder/ConditionalConvnet.conditioning_type = 'mult_and_add'
decoder/ConditionalConvnet.fc_layer_sizes = [512, 1024]
decoder/ConditionalConvnet.final_sigmoid = False
decoder/ConditionalConvnet.kernel_initializer_mode = 'fan_avg'
decoder/ConditionalConvnet.layers_per_block = 2
decoder/ConditionalConvnet.num_blocks = 3
decoder/ConditionalConvnet.upconv = True
decoder/ConditionalConvnet.upconv_reshape_size = [4, 4, 64]
encoder/ConditionalConvnet.alpha = 0.3
encoder/ConditionalConvnet.base_num_channels = 16
encoder/ConditionalConvnet.channels_out = 3
encoder/ConditionalConvnet.conditioning_layer_sizes = [512]
encoder/ConditionalConvnet.conditioning_postprocessing = \\
    @ConditioningPostprocessing
encoder/ConditionalConvnet.conditioning_type = 'mult_and_add'
encoder/ConditionalConvnet.fc_layer_sizes = [512, 512]
encoder/ConditionalConvnet.final_sigmoid = False
encoder/ConditionalConvnet.kernel_initializer_mode = 'fan_avg'
encoder/ConditionalConvnet.layers_per_block = 2
encoder/ConditionalConvnet.num_blocks = 3
encoder/ConditionalConvnet.upconv = False
encoder/ConditionalConvnet.upconv_reshape_size = None
ConditionalVaeProblem.decoder = @decoder/ConditionalConvnet
ConditionalVaeProblem.encoder = @encoder/ConditionalConvnet
ConditionalVaeProblem.epsilon = 1e-06
ConditionalVaeProblem.features_key = 'image'
ConditionalVaeProblem.latent_dimensions = 256
ConditionalVaeProblem.output_distribution = 'gaussian'
decoder/ConditioningPostprocessing.scales_add = 1.0
decoder/ConditioningPostprocessing.scales_mult = 0.1
decoder/ConditioningPostprocessing.shifts_add = 0.0
decoder/ConditioningPostprocessing.shifts_mult = 0.1
encoder/ConditioningPostprocessing.scales_add = 1.0
encoder/ConditioningPostprocessing.scales_mult = 0.1
encoder/ConditioningPostprocessing.shifts_add = 0.0
encoder/ConditioningPostprocessing.shifts_mult = 0.1
train/DistributionSpec.distribution_type = %DistributionType.LOG_UNIFORM
train/DistributionSpec.params = \\
    [{'high': 512.0, 'low': 0.125}, {'high': 1.001, 'low': 0.999}]
train/DistributionSpec.transform = %TransformType.IDENTITY
experiment.base_optimizer_class = @AdamOptimizer
experiment.base_optimizer_conditioning_class = None
experiment.batch_size = 128
experiment.dataset_name = 'cifar10'
experiment.eval_batch_size = 64
experiment.eval_on_test = True
experiment.eval_steps = 1000
experiment.eval_weights = \\
    [{'kl_loss': 0.125, 'reconstruction_loss': 1.0},
     {'kl_loss': 512.0, 'reconstruction_loss': 1.0}]
experiment.iterations_per_loop = 2000
experiment.keep_checkpoint_max = 0
experiment.optimizer_class = @YotoOptimizer
experiment.preprocess = 'resize(40)|random_crop(32)|flip_lr()|value_range(-1,1)'
experiment.preprocess_eval = 'value_range(-1,1)'
experiment.problem_class = @ConditionalVaeProblem
experiment.save_checkpoints_steps = 10000
experiment.train_steps = 1200000
experiment.training_params_class = @TrainingParams
experiment.training_params_conditioning_class = None
TrainingParams.initial_lr = 0.0001
TrainingParams.lr_decay_factor = 0.5
TrainingParams.lr_decay_steps_str = '600000,780000,960000,1140000'
TrainingParams.weight_decay = 1e-05
YotoOptimizer.extra_inputs_preprocessing = %TransformType.LOG
YotoOptimizer.normalize_loss_weights = False
YotoOptimizer.train_distribution_spec_class = @train/DistributionSpec
YotoOptimizer.weights_per_sample = True
"""

# The Shapes3D release differs in these bindings (and omits final_sigmoid,
# kernel_initializer_mode, epsilon and normalize_loss_weights: defaults).
ORIGINAL_SHAPES3D_CHANGES = {
  "base_num_channels = 16": "base_num_channels = 8",
  "decoder/ConditionalConvnet.channels_out = 6": "decoder/ConditionalConvnet.channels_out = 3",
  "conditioning_layer_sizes = [512]": "conditioning_layer_sizes = [256]",
  "fc_layer_sizes = [512, 1024]": "fc_layer_sizes = [256, 1024]",
  "fc_layer_sizes = [512, 512]": "fc_layer_sizes = [256, 20]",
  "layers_per_block = 2": "layers_per_block = 1",
  "num_blocks = 3": "num_blocks = 4",
  "latent_dimensions = 256": "latent_dimensions = 10",
  "'gaussian'": "'bernoulli'",
  "'cifar10'": "'shapes3d'",
  "mult = 0.1": "mult = 0.01",
  "'resize(40)|random_crop(32)|flip_lr()|value_range(-1,1)'": "'value_range(0,1)'",
}


def _conv(c_in, c_out):
  return 3 * 3 * c_in * c_out + c_out


def _dense(d_in, d_out):
  return d_in * d_out + d_out


def _film(hidden, channels, width=2):
  """Two MLPs (scales, shifts): width -> hidden -> channels."""
  return 2 * (_dense(width, hidden) + _dense(hidden, channels))


def _count(model):
  return sum(int(tf.size(v)) for v in model.trainable_variables)


def test_original_cifar_config_builds_the_architecture_it_describes(tmp_path):
  path = tmp_path / "cifar_conv_vae_yoto.gin"
  path.write_text(ORIGINAL_CIFAR)
  with tfds.testing.mock_data(num_examples=8):
    problem, _ = _build_and_run([str(path)])
  encoder = (
    _conv(3, 16)
    + _conv(16, 16)
    + _conv(16, 32)
    + _conv(32, 32)
    + _conv(32, 64)
    + _conv(64, 64)  # 3 blocks x 2
    + _dense(4 * 4 * 64, 512)
    + _dense(512, 512)  # FC to 2 x 256
    + _film(512, 16)
    + _film(512, 32)
    + _film(512, 64)
  )
  decoder = (
    _dense(256, 512)
    + _dense(512, 1024)  # to 4x4x64
    + _conv(64, 64)
    + _conv(64, 64)  # block 2
    + _conv(64, 32)
    + _conv(32, 32)  # block 1
    + _conv(32, 16)
    + _conv(16, 16)  # block 0
    + _conv(16, 6)  # means and stds
    + _film(512, 64)
    + _film(512, 32)
    + _film(512, 16)
  )
  assert _count(problem.encoder) == encoder
  assert _count(problem.decoder) == decoder


def test_original_shapes3d_config_builds_the_architecture_it_describes(
  tmp_path,
):
  text = ORIGINAL_CIFAR
  for old, new in ORIGINAL_SHAPES3D_CHANGES.items():
    assert old in text
    text = text.replace(old, new)
  path = tmp_path / "shapes3d_conv_vae_yoto.gin"
  path.write_text(text)
  with tfds.testing.mock_data(num_examples=8):
    problem, _ = _build_and_run([str(path)])
  encoder = (
    _conv(3, 8)
    + _conv(8, 16)
    + _conv(16, 32)
    + _conv(32, 64)
    + _dense(4 * 4 * 64, 256)
    + _dense(256, 20)  # 2 x 10 latents
    + _film(256, 8)
    + _film(256, 16)
    + _film(256, 32)
    + _film(256, 64)
  )
  decoder = (
    _dense(10, 256)
    + _dense(256, 1024)
    + _conv(64, 64)
    + _conv(64, 32)
    + _conv(32, 16)
    + _conv(16, 8)
    + _conv(8, 3)  # logits
    + _film(256, 64)
    + _film(256, 32)
    + _film(256, 16)
    + _film(256, 8)
  )
  assert _count(problem.encoder) == encoder
  assert _count(problem.decoder) == decoder


def test_every_config_is_exercised(request):
  """Every file under config/ is built and run by this module's tests.

  Kept last: it checks what the tests above recorded, so it runs (rather
  than skips) only when all of them were selected.
  """
  on_disk = {
    os.path.relpath(os.path.join(directory, name), CONFIG_DIR)
    for directory, _, names in os.walk(CONFIG_DIR)
    for name in names
  }
  assert on_disk == set(CONFIGS) | set(TINY_OVERLAYS), (
    "a file in config/ that test_configs does not build"
  )
  assert {
    "cifar_conv_vae_yoto.gin",
    "shapes3d_conv_vae_yoto.gin",
    "photo_patches_conv_vae_yoto.gin",
  } <= set(CONFIGS)
  selected = {
    item.name for item in request.session.items if item.module is request.module
  }
  expected = {
    f"test_config_parses_builds_and_runs_a_forward_pass[{c}]" for c in CONFIGS
  } | {"test_tiny_overlays_shrink_the_style_transfer_config"}
  if not expected <= selected:
    pytest.skip("run every test of test_configs.py to check them all")
  assert _EXERCISED == on_disk
