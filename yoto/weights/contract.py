"""The loss-weight conditioning contract shared by training, eval and export.

A YOTO network never sees raw loss weights: it sees `inputs_extra`, the weights
in sorted loss-name order after a preprocessing transform (identity or log).
`LossConditioning` records that contract (loss names, transform, and the range
each weight was trained on) and implements the one function that maps raw
weights to `inputs_extra`, with checks. The optimizer uses it during training
and evaluation and the exported module uses the same code, so a user feeding
raw weights to a module gets exactly the training-time inputs.

A problem may also centre and scale `inputs_extra` inside its network
(`check_input_offset`, `check_input_scale`, `offset_and_scale`) before its
conditioning MLPs, which leaves this contract unchanged;
`LossConditioning.centring_offset` gives the centre of the training range,
which a config asks for with the offset 'centre' (`resolve_input_offset`).
"""

import dataclasses
import json
import math
from typing import Dict, Optional, Sequence, Tuple, Union

import tensorflow as tf

from yoto.weights import distributions


@dataclasses.dataclass(frozen=True)
class LossConditioning:
  """How raw loss weights become the network's conditioning input.

  Attributes:
    loss_names: the problem's loss names in sorted order: the column order of
      every weight matrix and of `inputs_extra`.
    preprocessing: 'log' or 'identity'; None for an unconditioned
      (fixed-weight) model, which ignores weights.
    ranges: per loss, the (low, high) the weights were sampled from in
      training; None when unknown or unconditioned.
    fixed_weights: the weights a fixed-weight model was trained with.
  """

  loss_names: Tuple[str, ...]
  preprocessing: Optional[str] = None
  ranges: Optional[Dict[str, Tuple[float, float]]] = None
  fixed_weights: Optional[Dict[str, float]] = None

  # Relative slack on the range check: float32 round-trips of the bounds.
  RANGE_TOLERANCE = 1e-5

  @property
  def is_conditioned(self) -> bool:
    return self.preprocessing is not None

  @property
  def num_losses(self) -> int:
    return len(self.loss_names)

  @classmethod
  def from_spec(
    cls,
    loss_names: Sequence[str],
    transform: distributions.TransformType,
    spec: distributions.DistributionSpec,
  ) -> "LossConditioning":
    names = tuple(sorted(loss_names))
    ranges = dict(zip(names, spec.ranges(len(names))))
    return cls(names, transform.name.lower(), ranges)

  def transform(self, weights: tf.Tensor) -> tf.Tensor:
    """Applies the preprocessing to raw weights [..., num_losses]."""
    if self.preprocessing == "log":
      return tf.math.log(weights)
    return tf.identity(weights)

  def weights_to_inputs_extra(
    self,
    weights: tf.Tensor,
    batch_size: Optional[tf.Tensor] = None,
    check_range: bool = True,
  ) -> tf.Tensor:
    """Validates raw weights and turns them into `inputs_extra`.

    Args:
      weights: float tensor [num_losses] (one vector for the whole batch) or
        [batch, num_losses] (one per example), raw (unpreprocessed) weights in
        sorted loss-name order. The rank may be unknown while tracing.
      batch_size: when given, a single weight vector (or a [1, num_losses]
        matrix) is broadcast to [batch_size, num_losses].
      check_range: whether to reject weights outside the training range.

    Returns:
      float32 tensor [batch, num_losses]: the preprocessed conditioning input.

    Raises:
      tf.errors.InvalidArgumentError (at run time) for a wrong shape, a NaN,
      infinite or non-positive weight, a weight outside the training range,
      or (with batch_size) a number of weight vectors other than 1 or
      batch_size.
    """
    weights = tf.convert_to_tensor(weights, tf.float32)
    with tf.control_dependencies(self._weight_checks(weights, check_range)):
      weights = tf.reshape(weights, [-1, self.num_losses])
    if batch_size is not None:
      rows = tf.shape(weights)[0]
      check = tf.debugging.Assert(
        (rows == 1) | (rows == batch_size),
        [
          "got one weight vector per example for a batch of a different "
          "size: give one vector for the whole batch or exactly one per "
          "example; weight vectors, batch size:",
          rows,
          batch_size,
        ],
      )
      with tf.control_dependencies([check]):
        weights = tf.broadcast_to(
          weights, tf.stack([batch_size, self.num_losses])
        )
    return self.transform(weights)

  def _weight_checks(self, weights, check_range):
    n = self.num_losses
    order = ", ".join(self.loss_names)
    shape = tf.shape(weights)
    last_dim = tf.concat([[-1], shape], 0)[-1]  # -1 for a scalar.
    finite = tf.debugging.Assert(
      tf.reduce_all(tf.math.is_finite(weights)),
      ["loss weights must be finite numbers (no NaN or inf); got", weights],
    )
    with tf.control_dependencies([finite]):  # Its message first for NaN.
      positive = tf.debugging.Assert(
        tf.reduce_all(weights > 0),
        [
          "loss weights must be positive (the model is conditioned on "
          "their logarithm); got",
          weights,
        ],
      )
    checks = [
      tf.debugging.Assert(
        (tf.size(shape) >= 1) & (tf.size(shape) <= 2) & (last_dim == n),
        [
          f"loss weights must have shape [{n}] or [batch, {n}], one "
          f"entry per loss in the order [{order}]; got shape",
          shape,
        ],
      ),
      finite,
      positive,
    ]
    if check_range and self.ranges:
      low = tf.constant([self.ranges[k][0] for k in self.loss_names])
      high = tf.constant([self.ranges[k][1] for k in self.loss_names])
      ranges = ", ".join(
        f"{k}: [{lo:g}, {hi:g}]" for k, (lo, hi) in sorted(self.ranges.items())
      )
      with tf.control_dependencies(checks):  # Shape first: it broadcasts.
        in_range = tf.reduce_all(within_range(weights, low, high))
      checks.append(
        tf.debugging.Assert(
          in_range,
          [
            f"loss weights outside the training range ({ranges}); "
            "the model was never trained there. Got",
            weights,
          ],
        )
      )
    return checks

  def centring_offset(self) -> Optional[Tuple[float, ...]]:
    """The centre of each weight's training range, in `inputs_extra` units.

    Per loss in sorted order: log of the geometric centre sqrt(low * high)
    under log preprocessing, the midpoint (low + high) / 2 under identity;
    None without ranges. Subtracting it (`offset_and_scale`) centres the
    conditioning input on 0 over the training distribution.
    """
    if not self.is_conditioned or not self.ranges:
      return None
    if self.preprocessing == "log":
      return tuple(
        0.5 * (math.log(lo) + math.log(hi))
        for lo, hi in (self.ranges[k] for k in self.loss_names)
      )
    return tuple(
      0.5 * (lo + hi) for lo, hi in (self.ranges[k] for k in self.loss_names)
    )

  def to_dict(self) -> Dict[str, object]:
    """The contract as JSON-ready data (tuples become lists)."""
    return json.loads(self.to_json())

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), sort_keys=True)

  @classmethod
  def from_json(cls, text: Union[str, bytes]) -> "LossConditioning":
    """Reads `to_json`'s output, or a hub module's metadata JSON.

    Keys other than the contract's fields (a module's metadata also holds,
    for example, its problem name) are ignored.

    Raises:
      ValueError: if `text` is not a JSON object with `loss_names`.
    """
    try:
      record = json.loads(text)
    except ValueError as e:
      raise ValueError(f"A loss-weight contract must be JSON: {e}") from None
    return cls.from_dict(record)

  @classmethod
  def from_dict(cls, record: Dict[str, object]) -> "LossConditioning":
    """`from_json` of parsed JSON (for example a module's metadata dict).

    Raises:
      ValueError: if `record` is not a dict with `loss_names`.
    """
    if not isinstance(record, dict) or "loss_names" not in record:
      raise ValueError(
        "A loss-weight contract is a JSON object with at "
        f"least 'loss_names'; got {str(record)[:200]!r}."
      )
    ranges = record.get("ranges")
    fixed = record.get("fixed_weights")
    return cls(
      loss_names=tuple(record["loss_names"]),
      preprocessing=record.get("preprocessing"),
      ranges=None
      if ranges is None
      else {k: (float(lo), float(hi)) for k, (lo, hi) in ranges.items()},
      fixed_weights=None
      if fixed is None
      else {k: float(v) for k, v in fixed.items()},
    )


def within_range(weights, low, high):
  """Whether `weights` lie in [`low`, `high`], up to `RANGE_TOLERANCE`.

  The one range test of the package: the exported modules run it in-graph
  and the module clients (`yoto.clients`) in Python. It works elementwise
  on Python floats, NumPy arrays and tensors alike; a fixed weight w is the
  range [w, w].

  Args:
    weights: raw loss weights, any shape.
    low, high: the bounds, broadcastable against `weights`.

  Returns:
    A bool (or bool array or tensor) of `weights`' shape.
  """
  slack = LossConditioning.RANGE_TOLERANCE
  return (weights >= low * (1 - slack)) & (weights <= high * (1 + slack))


# `conditioning_input_offset = 'centre'`: the centre of the training range.
CENTRE = "centre"

InputOffset = Union[None, str, Sequence[float]]


def check_input_offset(
  offset: InputOffset,
  num_inputs: Optional[int],
  owner: str,
  loss_names: Sequence[str],
) -> Union[None, str, Tuple[float, ...]]:
  """Validates a problem's `conditioning_input_offset`; returns it as floats.

  The offset is a constant [num_losses], in sorted loss-name order, that a
  problem subtracts from `inputs_extra` before its conditioning MLPs
  (`offset_and_scale`). With log preprocessing, the log of each training
  range's geometric centre centres those inputs: the same function class (a
  first layer's bias can absorb any offset), but inputs far from 0 (log
  weights of -8, say) couple that layer's slope to its intercept, which made
  the compression model learn its λ-dependence much more slowly. The string
  'centre' (`CENTRE`) stands for that centre; `resolve_input_offset` turns
  it into numbers once the training distribution is known.

  Args:
    offset: the configured offset: numbers, 'centre', or None for none.
    num_inputs: the width of `inputs_extra`, or None for an unconditioned
      model (which ignores the offset) or when not yet known.
    owner: the configurable's name, for the error message.
    loss_names: the sorted loss names, for the error message.

  Returns:
    The offset as a tuple of floats, 'centre', or None.

  Raises:
    ValueError: for a string other than 'centre', or an offset without one
      entry per loss.
  """
  if offset is None:
    return None
  if isinstance(offset, str):
    if offset != CENTRE:
      raise ValueError(
        f"{owner}.conditioning_input_offset = {offset!r} is not understood: "
        f"write '{CENTRE}' (the centre of the training range), one number "
        f"per loss in the order {list(loss_names)}, or None."
      )
    return offset
  offset = tuple(float(v) for v in offset)
  if num_inputs is not None and len(offset) != num_inputs:
    raise ValueError(
      f"{owner}.conditioning_input_offset has {len(offset)} entries but "
      f"inputs_extra has {num_inputs} (one per loss, in the order "
      f"{list(loss_names)})."
    )
  return offset


def resolve_input_offset(
  offset: InputOffset,
  num_inputs: Optional[int],
  conditioning: Optional[LossConditioning],
  owner: str,
  loss_names: Sequence[str],
) -> Optional[Tuple[float, ...]]:
  """The numbers a problem subtracts from `inputs_extra` [B, num_inputs].

  The one place 'centre' is resolved: to `conditioning.centring_offset()`,
  the log of each training range's geometric centre under log
  preprocessing, so a config need not repeat its training range as a
  hand-computed offset. Numbers and None are checked as
  `check_input_offset` does. An unconditioned model (`num_inputs` None)
  ignores the offset: 'centre' becomes None there, and numbers are kept as
  configured.

  Args:
    offset: the configured offset: numbers, 'centre', or None.
    num_inputs: the width of `inputs_extra`, or None for an unconditioned
      model.
    conditioning: the optimizer's contract, whose ranges 'centre' takes the
      centre of; None when unknown.
    owner: the configurable's name, for the error messages.
    loss_names: the sorted loss names, for the error messages.

  Returns:
    The offset as a tuple of floats [num_inputs], or None.

  Raises:
    ValueError: for an unknown string, 'centre' without training ranges to
      take the centre of, or an offset without one entry per loss.
  """
  offset = check_input_offset(offset, num_inputs, owner, loss_names)
  if not isinstance(offset, str):
    return offset
  if num_inputs is None:
    return None
  centre = None if conditioning is None else conditioning.centring_offset()
  if centre is None:
    raise ValueError(
      f"{owner}.conditioning_input_offset = '{CENTRE}' takes the centre of "
      "the training distribution's ranges, but none are known here (the "
      "model must be built with the YOTO optimizer's conditioning); write "
      f"one number per loss in the order {list(loss_names)}, or None."
    )
  if len(centre) != num_inputs:
    raise ValueError(
      f"{owner}.conditioning_input_offset = '{CENTRE}' gives one entry per "
      f"loss of the training distribution, {list(conditioning.loss_names)}, "
      f"but inputs_extra has {num_inputs} (the losses {list(loss_names)}); "
      "write one number per input instead."
    )
  return tuple(float(v) for v in centre)


def check_input_scale(scale: float, owner: str) -> float:
  """Validates a problem's `conditioning_input_scale` (a positive number).

  The scale multiplies the (centred) `inputs_extra` before the conditioning
  MLPs. Under Adam, whose steps do not depend on the size of the gradient,
  the size of an MLP's inputs sets how fast its outputs move: when the loss
  weights share a layer's inputs with a larger signal (a style embedding,
  say), scaling them up lets the weight-dependence be learnt as fast.
  """
  if (
    isinstance(scale, bool)
    or not isinstance(scale, (int, float))
    or not scale > 0
  ):
    raise ValueError(
      f"{owner}.conditioning_input_scale must be a positive "
      f"number, got {scale!r}."
    )
  return float(scale)


def offset_and_scale(
  inputs_extra: tf.Tensor, offset: Optional[Sequence[float]], scale: float = 1.0
) -> tf.Tensor:
  """(`inputs_extra` [B, n] - `offset` [n]) * `scale`; no offset when None."""
  if offset is None and scale == 1.0:
    return inputs_extra
  inputs_extra = tf.cast(inputs_extra, tf.float32)
  if offset is not None:
    inputs_extra -= tf.constant([float(v) for v in offset], tf.float32)
  return inputs_extra * scale if scale != 1.0 else inputs_extra
