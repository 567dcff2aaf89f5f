"""Module clients: what the command lines, notebooks and analysis use to run
exported hub modules, without the training package.

- `paths`: where modules live and which one a path means (no TensorFlow).
- `base`: `ModuleClient` (metadata, loss-weight contract, weight checks) and
  `read_module` (one cached load and metadata parse per module).
- `vae`: `VaeClient`, reconstructions and samples at any β.
- `codec`: `Codec`, compression at any λ with real range coding;
  `codec_file`: its `.yoto` file format.
- `stylizer`: `Stylizer`, stylization at any content and style weights.

`load(path)` returns the right client for whatever module `path` holds;
`Codec.load(path)` (and the others) insist on their own problem.
"""


def load(path: str):
  """The client of the hub module at `path` (or a model_dir's newest).

  Returns:
    A `vae.VaeClient`, `codec.Codec` or `stylizer.Stylizer`, chosen by the
    problem the module's metadata names.

  Raises:
    paths.HubModuleNotFoundError: if `path` holds no module.
    base.ClientError: if it is not a module yoto has a client for.
  """
  # Imported here so that `yoto.clients.paths` loads no TensorFlow.
  from yoto.clients import base  # pylint: disable=g-import-not-at-top
  from yoto.clients import codec  # pylint: disable=g-import-not-at-top
  from yoto.clients import stylizer  # pylint: disable=g-import-not-at-top
  from yoto.clients import vae  # pylint: disable=g-import-not-at-top

  return base.load(path, (vae.VaeClient, codec.Codec, stylizer.Stylizer))
