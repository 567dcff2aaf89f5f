"""The loss-weight contract: what λ is drawn from and what the network sees.

The bottom of the package graph (it imports only TensorFlow): problems,
optimizers, export modules and the command lines all read the same two
modules, so the raw weights -> `inputs_extra` mapping exists once.

- `distributions`: `DistributionSpec` (uniform / log-uniform per-loss ranges,
  stateless sampling) and the parsing of every accepted weight form.
- `contract`: `LossConditioning` (loss names, preprocessing, training
  ranges; raw weights -> `inputs_extra` with in-graph checks; its JSON form),
  and the in-network centring (`offset_and_scale`) problems may apply.
"""
