"""Keras networks for YOTO: MLPs, loss-weight conditioning, and each task's.

- `mlp`: dense stacks (fully connected heads, FiLM MLPs).
- `conditioning`: FiLM and concatenation of `inputs_extra`, the
  post-processing of FiLM's scales and shifts, and the split of variables into
  normal and conditioning ones.
- `convnet`: `ConditionalConvnet`, the encoder / decoder of the beta-VAEs.
- `hyperprior`: the four transforms of Ballé et al.'s scale hyperprior;
  `hyperprior_codec`: the codec over them (entropy models, passes, range
  coding).
- `style_transfer`: the stylization network, built from
  `stylization_layers`; `style_encoders`: the style networks; `vgg`: the
  frozen VGG-16 loss network.
"""
