"""Registers yoto's classes with gin under the original config names.

This is the only module that knows about gin besides `main.py`: library code
takes plain arguments. The names match the authors' configs
(`cifar_conv_vae_yoto.gin`, `shapes3d_conv_vae_yoto.gin`), so those files and
any config written with the same names parse unchanged.
"""

import gin

from yoto.architectures import conditioning
from yoto.architectures import convnet
from yoto.architectures import style_encoders
from yoto.architectures import style_transfer as stylization
from yoto.optimizers import scalarization
from yoto.optimizers import yoto as yoto_optimizer
from yoto.problems import compression
from yoto.problems import style_transfer
from yoto.problems import vae
from yoto.training import experiment as experiment_lib
from yoto.training import params
from yoto.utils import style_augmentation
from yoto.weights import distributions

_EXPERIMENT = None


def register():
  """Makes every configurable known to gin (idempotent).

  Returns:
    The gin-configurable `experiment`: call it to run with the bindings.
  """
  global _EXPERIMENT
  if _EXPERIMENT is not None:
    return _EXPERIMENT
  gin.constants_from_enum(distributions.DistributionType)
  gin.constants_from_enum(distributions.TransformType)
  for cls, name in [
    (distributions.DistributionSpec, "DistributionSpec"),
    (conditioning.ConditioningPostprocessing, "ConditioningPostprocessing"),
    (convnet.ConditionalConvnet, "ConditionalConvnet"),
    (vae.ConditionalVaeProblem, "ConditionalVaeProblem"),
    (compression.HyperpriorCompressionProblem, "HyperpriorCompressionProblem"),
    (yoto_optimizer.YotoOptimizer, "YotoOptimizer"),
    (scalarization.LinearlyScalarizedOptimizer, "LinearlyScalarizedOptimizer"),
    (params.TrainingParams, "TrainingParams"),
    (params.adam_optimizer, "AdamOptimizer"),
    (style_transfer.StyleTransferProblem, "StyleTransferProblem"),
    (stylization.StylizationNetwork, "StylizationNetwork"),
    (style_encoders.LossNetworkStyleEncoder, "LossNetworkStyleEncoder"),
    (style_encoders.InceptionV3StyleEncoder, "InceptionV3StyleEncoder"),
    (style_augmentation.StyleAugmentation, "StyleAugmentation"),
  ]:
    gin.external_configurable(cls, name=name)
  _EXPERIMENT = gin.external_configurable(
    experiment_lib.experiment,
    name="experiment",
    denylist=["model_dir", "schedule", "runtime"],
  )
  return _EXPERIMENT
