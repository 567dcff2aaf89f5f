"""Evaluation at many loss weights, written as summaries and JSON lines.

For each split and each of the K eval weight vectors the evaluator averages
every loss, every metric and `full_loss = Σ_i w_i L_i` over `eval_steps`
batches. All K weight vectors of a batch go through the network in one pass
(see `MultiLossOptimizer.eval_losses_and_metrics`).

Results are appended to `model_dir/metrics.jsonl` (see `yoto.results`), one
row per (step, split, weights), and written as TensorBoard summaries.
"""

import os
from typing import Callable, Dict, List, Mapping, Optional, Sequence

from absl import logging
import numpy as np
import tensorflow as tf

from yoto import results
from yoto.weights import distributions

DatasetFn = Callable[[tf.distribute.InputContext], tf.data.Dataset]


class Evaluator:
  """Evaluates a trained `MultiLossOptimizer` at fixed weight vectors."""

  def __init__(
    self,
    strategy: tf.distribute.Strategy,
    multi_loss_optimizer,
    eval_weights: Sequence[Dict[str, float]],
    split_dataset_fns: Mapping[str, DatasetFn],
    eval_steps: int,
    model_dir: Optional[str],
    model_kind: str = "yoto",
    num_image_weights: int = 3,
  ):
    """Creates the evaluator.

    Args:
      strategy: the distribution strategy the model was built under.
      multi_loss_optimizer: its `eval_losses_and_metrics` is evaluated.
      eval_weights: K weight dicts.
      split_dataset_fns: split name -> per-replica-batched eval dataset
        function (finite, unshuffled).
      eval_steps: batches per split (fewer if the split is smaller).
      model_dir: where summaries and the metrics file go (None: nowhere).
      model_kind: tag written to each row ('yoto' or 'fixed').
      num_image_weights: how many eval weights get TensorBoard images.
    """
    if eval_steps <= 0:
      raise ValueError(
        f"experiment.eval_steps must be positive, got {eval_steps}."
      )
    self.strategy = strategy
    self.mlo = multi_loss_optimizer
    self.names = multi_loss_optimizer.losses_names
    self.eval_weights = [dict(w) for w in eval_weights]
    self.weights = tf.constant(
      distributions.weights_matrix(self.eval_weights, self.names)
    )
    self.split_dataset_fns = dict(split_dataset_fns)
    self.eval_steps = eval_steps
    self.model_dir = model_dir
    self.model_kind = model_kind
    self.num_image_weights = num_image_weights
    self._compiled_step = tf.function(self._step)

  def _step(self, features, batch_index):
    def replica_fn(features):
      seed = tf.stack([tf.constant(17, tf.int64), batch_index])
      values = self.mlo.eval_losses_and_metrics(features, self.weights, seed)
      count = tf.shape(next(iter(features.values())))[0]
      return ({k: tf.reduce_sum(v, axis=1) for k, v in values.items()}, count)

    sums, count = self.strategy.run(replica_fn, args=(features,))
    reduce = lambda x: self.strategy.reduce(
      tf.distribute.ReduceOp.SUM, x, axis=None
    )
    return {k: reduce(v) for k, v in sums.items()}, reduce(count)

  def evaluate_split(self, split: str) -> Dict[str, np.ndarray]:
    """Mean of every value over the split: name -> [K] array."""
    dataset = self.strategy.distribute_datasets_from_function(
      lambda ctx: self.split_dataset_fns[split](ctx).take(self.eval_steps)
    )
    totals, count = None, 0
    for index, features in enumerate(dataset):
      sums, n = self._compiled_step(features, tf.constant(index, tf.int64))
      sums = {k: v.numpy() for k, v in sums.items()}
      totals = (
        sums if totals is None else {k: totals[k] + sums[k] for k in totals}
      )
      count += int(n)
    if not count:
      raise ValueError(
        f"The {split!r} split produced no batches; is it "
        "smaller than one eval batch?"
      )
    means = {k: v / count for k, v in totals.items()}
    means["num_examples"] = count
    return means

  def evaluate(self, step: int) -> List[dict]:
    """Evaluates every split; writes summaries and metrics rows; returns rows."""
    rows = []
    for split in self.split_dataset_fns:
      means = self.evaluate_split(split)
      count = means.pop("num_examples")
      for k, weights in enumerate(self.eval_weights):
        rows.append(
          {
            "step": int(step),
            "split": split,
            "weights": weights,
            "values": {name: float(v[k]) for name, v in means.items()},
            "num_examples": count,
            "model": self.model_kind,
            **self._train_weights_field(),
          }
        )
      logging.info(
        "eval step %d %s (%d examples): %s",
        step,
        split,
        count,
        _summarise(rows[-len(self.eval_weights) :]),
      )
    if self.model_dir:
      self._write_summaries(step, rows)
      results.append_rows(results.metrics_path(self.model_dir), rows)
    return rows

  def _train_weights_field(self):
    """A fixed-weight model's own weights, so plots need no config file."""
    fixed = self.mlo.conditioning.fixed_weights
    return {"train_weights": dict(fixed)} if fixed else {}

  def _write_summaries(self, step, rows):
    for split in self.split_dataset_fns:
      writer = tf.summary.create_file_writer(
        os.path.join(self.model_dir, f"eval_{split}")
      )
      with writer.as_default(step=step):
        for row in (r for r in rows if r["split"] == split):
          label = _weights_label(row["weights"])
          for name, value in row["values"].items():
            tf.summary.scalar(f"{name}/{label}", value)
        self._write_images(split)
      writer.flush()

  def _image_weight_indices(self):
    k = len(self.eval_weights)
    count = min(self.num_image_weights, k)
    return sorted(set(np.linspace(0, k - 1, count).round().astype(int)))

  def _write_images(self, split):
    """Image grids (inputs, reconstructions, samples) at a few eval weights."""
    if not self.num_image_weights:
      return
    features = next(
      iter(self.split_dataset_fns[split](tf.distribute.InputContext()))
    )
    for k in self._image_weight_indices():
      weights = self.weights[k : k + 1]
      batch = tf.shape(next(iter(features.values())))[0]
      inputs_extra = None
      if self.mlo.conditioning.is_conditioned:
        inputs_extra = self.mlo.conditioning.weights_to_inputs_extra(
          weights[0], batch_size=batch, check_range=False
        )
      images = self.mlo.problem.image_summaries(features, inputs_extra)
      label = _weights_label(self.eval_weights[k])
      for name, value in images.items():
        tf.summary.image(
          f"{name}/{label}", _to_unit_range(value), max_outputs=8
        )


def _to_unit_range(images):
  """Maps images to [0, 1] for display whatever range they were trained in."""
  low = tf.reduce_min(images)
  high = tf.reduce_max(images)
  if low >= 0 and high <= 1:
    return images
  return (images - low) / tf.maximum(high - low, 1e-6)


def _weights_label(weights: Mapping[str, float]) -> str:
  return ",".join(f"{k}={v:g}" for k, v in sorted(weights.items()))


def _summarise(rows):
  parts = []
  for row in rows:
    values = row["values"]
    parts.append(
      f"[{_weights_label(row['weights'])}] full_loss={values['full_loss']:.4g}"
    )
  return "; ".join(parts)
