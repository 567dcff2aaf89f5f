r"""Latency of batch-64 `reconstruct`: exported hub module vs the Keras model.

  python -m benchmarks.hub_latency           # about a minute
  python -m benchmarks.hub_latency --tiny    # seconds; for tests

Exports a (randomly initialised) YOTO VAE of the embedded config with the
project's exporter (`yoto.training.export.export_hub_module`), or with
--model_dir takes a trained run's latest hub module and restores its latest
checkpoint; loads the module with `tensorflow_hub.load`, and times,
interleaved, one call each of:

  hub_signature    module.signatures['reconstruct'](image=, inputs_extra=)
  hub_function     module.reconstruct(image=, inputs_extra=)
  hub_at_beta      module.reconstruct_at_beta(image=, beta=) (checks weights
                   and computes inputs_extra inside)
  keras_function   the problem's `reconstruct` in a `tf.function`
  keras_eager      the problem's `reconstruct` called eagerly

Reports the median latency in milliseconds and the ratio to keras_function,
and how long exporting and loading the module took.
"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf
import tensorflow_hub as hub

from benchmarks import common
from benchmarks import timing
from yoto.clients import paths as module_paths
from yoto.training import export as export_lib
# pylint: enable=g-import-not-at-top,wrong-import-position

REFERENCE = "keras_function"


def _parser():
  parser = common.base_parser(__doc__)
  parser.add_argument(
    "--architecture",
    default="photo_patches",
    choices=sorted(common.ARCHITECTURES),
  )
  parser.add_argument("--batch_size", type=int, default=64)
  parser.add_argument(
    "--model_dir",
    default=None,
    help="A trained run of --architecture's YOTO config: "
    "time its latest hub module and checkpoint instead of "
    "exporting a fresh model.",
  )
  return parser


def _variants(state, module, images, beta):
  """name -> zero-argument call of `reconstruct` one way."""
  conditioning = state.multi_loss_optimizer.conditioning
  inputs_extra = conditioning.weights_to_inputs_extra(
    tf.constant([beta, 1.0]), batch_size=tf.shape(images)[0]
  )
  problem = state.problem
  compiled = tf.function(lambda x, e: problem.reconstruct(x, e)[0])
  signature = module.signatures["reconstruct"]
  beta = tf.constant(beta)
  return {
    "hub_signature": lambda: signature(image=images, inputs_extra=inputs_extra)[
      "reconstructions"
    ],
    "hub_function": lambda: module.reconstruct(
      image=images, inputs_extra=inputs_extra
    )["reconstructions"],
    "hub_at_beta": lambda: module.reconstruct_at_beta(image=images, beta=beta)[
      "reconstructions"
    ],
    REFERENCE: lambda: compiled(images, inputs_extra),
    "keras_eager": lambda: problem.reconstruct(images, inputs_extra)[0],
  }


def _fresh_module(arch, batch_size, tmp):
  """(state, module path, export seconds) of a new model exported to tmp."""
  state = common.build_state(arch.yoto_config, (), arch.image_shape, batch_size)
  start = time.perf_counter()
  path = export_lib.export_hub_module(
    state.problem,
    state.multi_loss_optimizer.conditioning,
    os.path.join(tmp, "hub_modules", "step-000000000"),
  )
  return state, path, time.perf_counter() - start


def _trained_module(arch, batch_size, model_dir):
  """(state restored from model_dir, its latest hub module, None)."""
  state = common.build_state(
    os.path.join(model_dir, "config.gin"), (), arch.image_shape, batch_size
  )
  state.restore(tf.train.latest_checkpoint(model_dir))
  path = module_paths.latest_hub_module(model_dir)
  if path is None:
    raise ValueError(f"{model_dir} has no exported hub module.")
  return state, path, None


def run(arch: common.Architecture, batch_size, repeats, tmp, model_dir=None):
  """Exports (or finds), loads and times; returns the results dict."""
  if model_dir:
    state, path, export_seconds = _trained_module(arch, batch_size, model_dir)
  else:
    state, path, export_seconds = _fresh_module(arch, batch_size, tmp)
  start = time.perf_counter()
  module = hub.load(path)
  load_seconds = time.perf_counter() - start
  images = common.synthetic_images(
    batch_size, arch.image_shape, arch.value_range
  )
  variants = _variants(state, module, images, beta=8.0)
  # The same numbers whichever way it is called.
  reference = variants[REFERENCE]().numpy()
  max_difference = {
    name: float(abs(fn().numpy() - reference).max())
    for name, fn in variants.items()
  }
  times = timing.interleaved(variants, repeats, warmup=3)
  return {
    "config": arch.yoto_config,
    "batch_size": batch_size,
    "module": path if model_dir else "freshly exported",
    "export_seconds": export_seconds,
    "load_seconds": load_seconds,
    "times": times.to_json(),
    "median_ms": {
      clock: {k: 1000 * v for k, v in m.items()}
      for clock, m in timing.medians(times).items()
    },
    "over_keras_function": timing.ratios(
      times, {k: (k, REFERENCE) for k in times}
    ),
    "max_abs_difference_to_keras_function": max_difference,
  }


def markdown(r) -> str:
  rows = [
    [
      name,
      f"{r['median_ms']['wall'][name]:.2f}",
      f"{r['median_ms']['cpu'][name]:.2f}",
      timing.format_ratio(r["over_keras_function"][name]),
    ]
    for name in r["median_ms"]["wall"]
  ]
  return (
    f"`reconstruct` of a batch of {r['batch_size']} ({r['config']}): "
    "median wall-clock and process-CPU milliseconds per call, and the "
    "ratio to the Keras model in a `tf.function` (median of "
    "per-repetition CPU-time ratios; wall-clock in brackets):\n\n"
    + common.markdown_table(
      ["call", "wall ms", "CPU ms", f"/ {REFERENCE}"], rows
    )
    + (
      f"\nExporting the module took {r['export_seconds']:.1f} s, "
      if r["export_seconds"] is not None
      else "\n"
    )
    + f"loading it with `hub.load` {r['load_seconds']:.1f} s (wall).\n"
  )


def main(argv=None):
  args = _parser().parse_args(argv)
  repeats = args.repeats or (2 if args.tiny else 50)
  batch_size = 4 if args.tiny else args.batch_size
  with tempfile.TemporaryDirectory() as tmp:
    results = run(
      common.ARCHITECTURES[args.architecture],
      batch_size,
      repeats,
      tmp,
      args.model_dir,
    )
  text = markdown(results)
  common.write_results("hub_latency", args.out_dir, results, text, argv)
  return results


if __name__ == "__main__":
  main()
