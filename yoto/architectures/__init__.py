"""Keras networks for YOTO: MLPs, loss-weight conditioning, ConditionalConvnet.

- `mlp`: dense stacks (fully connected heads, FiLM MLPs).
- `conditioning`: FiLM and concatenation of `inputs_extra`, and the split of
  variables into normal and conditioning ones.
- `convnet`: `ConditionalConvnet`, the encoder / decoder of the beta-VAEs.
"""
