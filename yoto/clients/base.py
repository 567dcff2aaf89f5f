"""The base of the module clients: one loaded hub module and its metadata.

Every exported module (`yoto.export`) offers a `metadata()` signature whose
JSON names its problem and holds its loss-weight contract (loss names,
preprocessing, training ranges, fixed weights). `read_module` resolves a
path (a module, or a model_dir's newest), loads the SavedModel and parses
that JSON once, caching both per module; `ModuleClient` is what the
per-problem clients (`vae.VaeClient`, `codec.Codec`, `stylizer.Stylizer`)
share: the metadata, the contract, and `check_weight`, the one Python check
of a raw loss weight against what the module was trained on. Its range test
is the contract's own (`contract.within_range`), so a weight the client
accepts is one the module accepts.
"""

import functools
import json
import math
import os
from typing import Any, Dict, Optional, Sequence, Tuple, Type, TypeVar

import tensorflow as tf

# Compression modules use tensorflow_compression's range-coding ops, which
# must be registered before such a module loads, whichever client loads it.
import tensorflow_compression  # noqa: F401  # pylint: disable=unused-import

from yoto.clients import paths
from yoto.utils import image_files
from yoto.weights import contract

# Modules kept loaded per process: loading parses a SavedModel of a few
# hundred functions (seconds), and a notebook or a test loads the same few
# modules many times; style modules hold their loss networks (~100 MB).
CACHE_SIZE = 4


class ClientError(ValueError):
  """A module, or an input for it, that a client refuses; the message says
  what was wrong (the command lines report it without a traceback)."""


# What the command lines report as a user's mistake: a bad module path, a
# module or weight a client refuses, an unreadable or oversized image file.
USER_ERRORS = (
  ClientError,
  paths.HubModuleNotFoundError,
  image_files.ImageFileError,
)

Client = TypeVar("Client", bound="ModuleClient")


@functools.lru_cache(maxsize=CACHE_SIZE)
def _load(path: str, mtime: float) -> Tuple[Any, Dict[str, Any]]:
  """(the loaded SavedModel, its parsed metadata) of the module at `path`."""
  del mtime  # Only part of the cache key: a re-exported module reloads.
  module = tf.saved_model.load(path)
  if "metadata" not in module.signatures:
    raise ClientError(
      f"{path} is not a yoto hub module (it has no metadata signature)."
    )
  return module, json.loads(module.signatures["metadata"]()["metadata"].numpy())


def read_module(path: str) -> Tuple[str, Any, Dict[str, Any]]:
  """Loads a hub module, or a model_dir's newest, with its metadata.

  Returns:
    (the module's absolute path, the loaded SavedModel, its metadata dict).

  Raises:
    paths.HubModuleNotFoundError: if `path` holds no module.
    ClientError: if the module has no metadata signature.
  """
  path = os.path.abspath(paths.resolve_hub_module(path))
  return (path,) + _load(
    path, os.path.getmtime(os.path.join(path, "saved_model.pb"))
  )


class ModuleClient:
  """A loaded hub module of one problem and what its metadata says.

  Subclasses name their problem (`PROBLEM`, as in the metadata), what a
  message calls such a module (`KIND`), the signatures they call
  (`SIGNATURES`) and their error type (`Error`).

  Attributes:
    path: the module's directory.
    module: the loaded SavedModel; its functions are attributes.
    metadata: the module's metadata, parsed from its JSON.
    conditioning: the loss-weight contract the metadata records.
  """

  PROBLEM = ""
  KIND = "yoto"
  SIGNATURES: Tuple[str, ...] = ()
  Error: Type[ClientError] = ClientError

  def __init__(self, path: str, module: Any, metadata: Dict[str, Any]):
    """Wraps a loaded module; `load` also checks that it fits the client.

    Raises:
      Error: if the metadata holds no loss-weight contract.
    """
    self.path = path
    self.module = module
    self.metadata = metadata
    try:
      self.conditioning = contract.LossConditioning.from_dict(metadata)
    except ValueError as e:
      raise self.Error(
        f"{path} has no loss-weight contract in its metadata: {e}"
      ) from None

  @classmethod
  def load(cls: Type[Client], path: str) -> Client:
    """The client of the module at `path` (a module or a model_dir).

    Raises:
      paths.HubModuleNotFoundError: if `path` holds no module.
      Error: if the module is another problem's, or lacks a signature this
        client calls.
    """
    return cls.of_module(*read_module(path))

  @classmethod
  def of_module(
    cls: Type[Client], path: str, module: Any, metadata: Dict[str, Any]
  ) -> Client:
    """`cls(path, module, metadata)` after checking the module fits."""
    problem = metadata.get("problem")
    if problem != cls.PROBLEM:
      raise cls.Error(
        f"{path} is {_describe(problem)}, not a {cls.KIND} module."
      )
    missing = [name for name in cls.SIGNATURES if not hasattr(module, name)]
    if missing:
      raise cls.Error(
        f"{path} is a {cls.KIND} module without the "
        f"{', '.join(missing)} signature(s) this yoto calls; "
        "export it again with this version."
      )
    return cls(path, module, metadata)

  @property
  def is_conditioned(self) -> bool:
    """Whether the model takes loss weights (YOTO) or ignores them."""
    return self.conditioning.is_conditioned

  @property
  def model_dir(self) -> Optional[str]:
    """The run the module was exported from, if it sits in a model_dir."""
    return paths.model_dir_of_module(self.path)

  @property
  def step(self) -> int:
    """The checkpoint step of the module (0 if its name does not say)."""
    return paths.module_step(self.path)

  def range_of(self, loss: str) -> Optional[Tuple[float, float]]:
    """(low, high) of `loss`'s weight in training; None if not conditioned
    on it."""
    ranges = self.conditioning.ranges
    if not self.is_conditioned or not ranges or loss not in ranges:
      return None
    low, high = ranges[loss]
    return float(low), float(high)

  def check_weight(
    self,
    loss: str,
    value: float,
    name: str,
    fixed: Optional[float] = None,
    hint: str = "",
  ) -> float:
    """`value` as a float if the module can take it as `loss`'s weight.

    Args:
      loss: the loss the weight multiplies.
      value: the raw weight.
      name: what messages call the weight ('λ', 'β', 'content_weight').
      fixed: for a loss the model was not conditioned on, the weight it was
        trained with, when the caller must match it (None: any positive
        weight, which the model ignores).
      hint: a sentence appended to a fixed-weight mismatch's message.

    Raises:
      Error: for a non-finite or non-positive weight, one outside `loss`'s
        training range, or one other than `fixed`.
    """
    value = float(value)
    if not math.isfinite(value) or value <= 0:
      raise self.Error(f"{name} must be a positive number, got {value:g}.")
    bounds = self.range_of(loss)
    if bounds is not None:
      low, high = bounds
      if not contract.within_range(value, low, high):
        raise self.Error(
          f"{name}={value:g} is outside [{low:g}, {high:g}], the range "
          "this model was trained on; it was never trained there."
        )
    elif fixed is not None and not contract.within_range(value, fixed, fixed):
      raise self.Error(
        f"This model was trained at the single {name}="
        f"{fixed:g}; got {name}={value:g}.{hint}"
      )
    return value


def load(path: str, clients: Sequence[Type[ModuleClient]]) -> ModuleClient:
  """The client among `clients` whose problem the module at `path` is.

  Raises:
    paths.HubModuleNotFoundError: if `path` holds no module.
    ClientError: if no client reads the module's problem.
  """
  path, module, metadata = read_module(path)
  problem = metadata.get("problem")
  for client in clients:
    if client.PROBLEM == problem:
      return client.of_module(path, module, metadata)
  known = ", ".join(f"{c.PROBLEM} ({c.KIND})" for c in clients)
  raise ClientError(
    f"{path} is {_describe(problem)}; yoto has clients for {known} only."
  )


def _describe(problem: Optional[str]) -> str:
  return (
    f"a {problem} module"
    if problem
    else "a module whose metadata names no problem"
  )
