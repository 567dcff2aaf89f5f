"""The machine's compute limit for a model: MACs per image and peak FLOP/s.

A training step costs about three forward passes (forward, and the two
gradient convolutions / matmuls of the backward pass), so the best a step
can do on this machine is

  images/s limit = peak FLOP/s / (2 * 3 * forward MACs per image).

`forward_macs_per_image` counts the multiply-accumulates of a forward pass
from the ops of its traced graph (convolutions, transposed convolutions and
matrix products, which hold almost all of the work), so FiLM's MLPs are
counted and nothing is guessed from layer configurations.
`matmul_peak_flops` measures the float32 peak with a large matrix product.
"""

import time
from typing import Callable

import numpy as np
import tensorflow as tf

TRAINING_STEP_FORWARD_PASSES = 3


def _static(shape) -> list:
  return [int(d) if d is not None else 1 for d in shape]


def _op_macs(op: tf.Operation) -> int:
  """Multiply-accumulates of one convolution or matrix product (0 else)."""
  if op.type == "Conv2D":
    kh, kw, c_in, c_out = _static(op.inputs[1].shape)
    return (
      int(np.prod(_static(op.outputs[0].shape)[:3])) * kh * kw * c_in * c_out
    )
  if op.type == "Conv2DBackpropInput":  # A transposed convolution.
    kh, kw, c_out, c_in = _static(op.inputs[1].shape)
    return (
      int(np.prod(_static(op.inputs[2].shape)[:3])) * kh * kw * c_in * c_out
    )
  if op.type in ("MatMul", "BatchMatMulV2"):
    a, b = (_static(t.shape) for t in op.inputs[:2])
    if op.type == "MatMul":
      m = a[1] if op.get_attr("transpose_a") else a[0]
      k = a[0] if op.get_attr("transpose_a") else a[1]
      n = b[0] if op.get_attr("transpose_b") else b[1]
      return m * k * n
    return int(np.prod(_static(op.outputs[0].shape))) * a[-1]
  return 0


def graph_macs(graph: tf.Graph) -> int:
  """Multiply-accumulates of all convolutions and matrix products."""
  return sum(_op_macs(op) for op in graph.get_operations())


def forward_macs_per_image(
  forward: Callable[[tf.Tensor], object], image_shape
) -> int:
  """MACs of `forward(images)` for one image [1, *image_shape]."""
  traced = tf.function(forward).get_concrete_function(
    tf.TensorSpec([1, *image_shape], tf.float32)
  )
  return graph_macs(traced.graph)


def matmul_peak_flops(size: int = 2048, repeats: int = 5) -> float:
  """float32 FLOP/s of a [size, size] x [size, size] product (best of
  `repeats`, after one warm-up): the machine's practical peak."""
  a = tf.random.normal([size, size])
  b = tf.random.normal([size, size])
  product = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
  product().numpy()
  best = np.inf
  for _ in range(repeats):
    start = time.perf_counter()
    product().numpy()
    best = min(best, time.perf_counter() - start)
  return 2.0 * size**3 / best


def images_per_second_limit(peak_flops: float, macs_per_image: int) -> float:
  return peak_flops / (2.0 * TRAINING_STEP_FORWARD_PASSES * macs_per_image)
