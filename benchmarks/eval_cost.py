r"""Evaluation cost against the number K of eval weights (K = 1, 4, 13).

  python -m benchmarks.eval_cost             # about 3 minutes
  python -m benchmarks.eval_cost --tiny      # seconds; for tests

The project's `Evaluator` evaluates all K weight vectors of a batch in one
pass: a YOTO model sees the batch tiled K times (row k conditioned on weight
vector k), so its cost should grow about linearly in K; a fixed-weight model
is run once and its losses re-weighted K times, so its cost should stay flat.
This script times `Evaluator.evaluate_split` over the same in-memory batches
for K = 1, 4 and 13 log-spaced β (Shapes3D's eval grid has 13), both models
interleaved, and reports seconds per eval batch and cost(K) / cost(1).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np
import tensorflow as tf

from benchmarks import common
from benchmarks import timing
from yoto.training import evaluator as evaluator_lib
# pylint: enable=g-import-not-at-top,wrong-import-position

NUM_WEIGHTS = (1, 4, 13)


def _parser():
  parser = common.base_parser(__doc__)
  parser.add_argument(
    "--architectures",
    default="cifar10,shapes3d",
    help=f"Comma-separated, from {', '.join(common.ARCHITECTURES)}.",
  )
  parser.add_argument(
    "--eval_steps",
    type=int,
    default=None,
    help="Eval batches per timed evaluation (default 10).",
  )
  parser.add_argument(
    "--batch_size",
    type=int,
    default=None,
    help="Eval batch size (default: the config's).",
  )
  return parser


def beta_grid(num_weights: int, low: float, high: float):
  """`num_weights` β log-spaced over [low, high] as VAE weight dicts."""
  betas = np.geomspace(low, high, num_weights) if num_weights > 1 else [low]
  return [{"kl_loss": float(b), "reconstruction_loss": 1.0} for b in betas]


def _eval_batch_size(arch, override):
  if override:
    return override
  common.parse_config(arch.yoto_config)
  try:
    return common.experiment_value("eval_batch_size", 64)
  finally:
    common.gin.clear_config()


def bench_architecture(
  arch: common.Architecture, batch_size, eval_steps, repeats
):
  """Times every (model, K) variant interleaved; returns the results dict."""
  states = {
    "yoto": common.build_state(
      arch.yoto_config, (), arch.image_shape, batch_size
    ),
    "fixed": common.build_state(
      arch.fixed_config, (), arch.image_shape, batch_size
    ),
  }
  low, high = states["yoto"].multi_loss_optimizer.conditioning.ranges["kl_loss"]
  images = common.synthetic_images(
    batch_size, arch.image_shape, arch.value_range
  )
  split = {"test": common.in_memory_dataset_fn(images, repeat=eval_steps)}
  variants = {}
  for name, state in states.items():
    for k in NUM_WEIGHTS:
      evaluator = evaluator_lib.Evaluator(
        tf.distribute.get_strategy(),
        state.multi_loss_optimizer,
        beta_grid(k, low, high),
        split,
        eval_steps,
        model_dir=None,
      )
      variants[f"{name}_k{k}"] = lambda e=evaluator: e.evaluate_split("test")[
        "full_loss"
      ]
  times = timing.interleaved(variants, repeats)
  per_batch = {
    clock: {name: value / eval_steps for name, value in m.items()}
    for clock, m in timing.medians(times).items()
  }
  return {
    "batch_size": batch_size,
    "eval_steps": eval_steps,
    "beta_range": [low, high],
    "times": times.to_json(),
    "seconds_per_batch": per_batch,
    "cost_over_k1": timing.ratios(
      times, {name: (name, name.split("_k")[0] + "_k1") for name in times}
    ),
  }


def markdown(results) -> str:
  rows = []
  for arch, r in results.items():
    for k in NUM_WEIGHTS:
      row = [arch, r["batch_size"], k]
      for name in ("yoto", "fixed"):
        key = f"{name}_k{k}"
        row += [
          f"{1000 * r['seconds_per_batch']['wall'][key]:.1f}",
          timing.format_ratio(r["cost_over_k1"][key]),
        ]
      rows.append(row)
  return (
    "Evaluator.evaluate_split on in-memory batches: wall-clock "
    "milliseconds per eval batch (median), and cost relative to K = 1 "
    "(median of per-repetition process-CPU-time ratios; wall-clock in "
    "brackets):\n\n"
    + common.markdown_table(
      [
        "architecture",
        "eval batch",
        "K",
        "YOTO ms/batch",
        "YOTO cost / K=1",
        "fixed ms/batch",
        "fixed cost / K=1",
      ],
      rows,
    )
  )


def main(argv=None):
  args = _parser().parse_args(argv)
  repeats = args.repeats or (1 if args.tiny else 7)
  eval_steps = args.eval_steps or (1 if args.tiny else 10)
  results = {}
  for name in (a for a in args.architectures.split(",") if a):
    arch = common.ARCHITECTURES[name]
    batch_size = _eval_batch_size(
      arch, args.batch_size or (4 if args.tiny else None)
    )
    results[name] = bench_architecture(arch, batch_size, eval_steps, repeats)
    print(f"{name}: {results[name]['cost_over_k1']}", flush=True)
  text = markdown(results)
  common.write_results("eval_cost", args.out_dir, results, text, argv)
  return results


if __name__ == "__main__":
  main()
