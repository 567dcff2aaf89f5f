r"""Where YOTO's training-step overhead goes, and candidate FiLM formulations.

  python -m benchmarks.film_overhead                  # about 5 minutes
  python -m benchmarks.film_overhead --profile        # + per-op breakdown
  python -m benchmarks.film_overhead --tiny           # seconds; for tests

Times the project's training loop (as benchmarks/train_throughput.py does)
for the fixed-weight model, the YOTO model (FiLM with the convolution's bias
folded into its shifts, the default), the same YOTO model computing FiLM
literally as `scales * (conv(x) + bias) + shifts` (`literal`, the original
formulation: `fold_conv_bias=False`), and YOTO models whose FiLM layers
compute the same function another way. Every variant keeps the layers'
variables, so parameter counts are unchanged; the variants are swapped in
per layer instance for this measurement only:

  no_modulation      the MLPs run but their output is not applied (a
                     feature map + 0 * sum(scales + shifts)): what remains
                     of the overhead is the MLPs, their optimizer updates
                     and the loss-weight sampling;
  custom_gradient    the folded bias, and the modulation with a
                     hand-written gradient (reductions over fixed axes
                     instead of TF's generic broadcasting gradient).

With --profile it also traces one loop of the fixed and the YOTO model with
the TensorFlow profiler and lists the op types whose time grew most.
"""

import collections
import functools
import glob
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf

from benchmarks import common
from benchmarks import timing
from yoto.architectures import conditioning
# pylint: enable=g-import-not-at-top,wrong-import-position


LITERAL_BINDINGS = tuple(
  f"{scope}/ConditionalConvnet.fold_conv_bias = False"
  for scope in ("encoder", "decoder")
)


def no_modulation(layer, features, inputs_extra, bias=None):
  """The MLPs run, the modulation does not (`features` + 0 * their sum)."""
  scales, shifts = layer.scales_and_shifts(inputs_extra)
  features = features if bias is None else tf.nn.bias_add(features, bias)
  return features + 0.0 * tf.reduce_sum(scales + shifts)


@tf.custom_gradient
def _modulate_with_static_gradient(x, s, t):
  """`s * x + t` for x [B, H, W, C], s and t [B, C], with a hand-written
  gradient that reduces over fixed axes instead of TF's generic broadcast
  gradient (`BroadcastGradientArgs`, dynamic reductions, reshapes)."""

  def grad(g):
    return (
      g * s[:, None, None, :],
      tf.reduce_sum(g * x, [1, 2]),
      tf.reduce_sum(g, [1, 2]),
    )

  return s[:, None, None, :] * x + t[:, None, None, :], grad


def custom_gradient(layer, features, inputs_extra, bias=None):
  """The folded bias, and FiLM with a hand-written gradient."""
  scales, shifts = layer.scales_and_shifts(inputs_extra)
  if bias is not None:
    shifts = shifts + scales * bias
  if features.shape.rank != 4:
    return conditioning.modulate(features, scales, shifts)
  return _modulate_with_static_gradient(features, scales, shifts)


VARIANTS = {fn.__name__: fn for fn in (no_modulation, custom_gradient)}


def _parser():
  parser = common.base_parser(__doc__)
  parser.add_argument(
    "--architectures",
    default="cifar10,shapes3d",
    help=f"Comma-separated, from {', '.join(common.ARCHITECTURES)}.",
  )
  parser.add_argument(
    "--variants",
    default=",".join(VARIANTS),
    help="Comma-separated subset of " + ", ".join(VARIANTS),
  )
  parser.add_argument(
    "--steps",
    type=int,
    default=None,
    help="Training steps per timed call (default 10).",
  )
  parser.add_argument(
    "--batch_size",
    type=int,
    default=None,
    help="Override the configs' batch sizes.",
  )
  parser.add_argument(
    "--profile",
    action="store_true",
    help="Also list per-op-type time, fixed vs YOTO.",
  )
  return parser


def swap_film(state, variant):
  """Makes every FiLM layer of `state`'s networks compute with `variant`."""
  for network in (state.problem.encoder, state.problem.decoder):
    for layer in network.film_layers or ():
      layer.call = functools.partial(variant, layer)


def _loop(state, arch, steps, model_dir):
  images = common.synthetic_images(
    state.batch_size, arch.image_shape, arch.value_range
  )
  trainer = common.make_trainer(state, model_dir, steps)
  return common.loop_fn(trainer, common.in_memory_dataset_fn(images), steps)


def bench_architecture(arch, variants, batch_size, steps, repeats, tmp):
  """Times fixed, YOTO, the literal FiLM and the variants interleaved."""
  states = {
    "fixed": common.build_state(
      arch.fixed_config, (), arch.image_shape, batch_size
    ),
    "yoto": common.build_state(
      arch.yoto_config, (), arch.image_shape, batch_size
    ),
    "literal": common.build_state(
      arch.yoto_config, LITERAL_BINDINGS, arch.image_shape, batch_size
    ),
  }
  for name in variants:
    states[name] = common.build_state(
      arch.yoto_config, (), arch.image_shape, batch_size
    )
    swap_film(states[name], VARIANTS[name])
  loops = {
    name: _loop(state, arch, steps, os.path.join(tmp, arch.name, name))
    for name, state in states.items()
  }
  times = timing.interleaved(loops, repeats)
  pairs = {
    f"{name}/fixed": (name, "fixed") for name in states if name != "fixed"
  }
  pairs["yoto/literal"] = ("yoto", "literal")
  pairs.update({f"{name}/yoto": (name, "yoto") for name in variants})
  results = {
    "batch_size": states["yoto"].batch_size,
    "steps_per_call": steps,
    "times": times.to_json(),
    "median_s": timing.medians(times),
    "ratios": timing.ratios(times, pairs),
  }
  return results, states, loops


def op_profile(loops, tmp, top=12):
  """Op type -> (fixed ms, yoto ms) per loop call, largest growth first."""
  # pylint: disable=g-import-not-at-top
  from tensorflow.tsl.profiler.protobuf import xplane_pb2

  per_op = {}
  for name in ("fixed", "yoto"):
    logdir = os.path.join(tmp, f"profile_{name}")
    loops[name]()
    tf.profiler.experimental.start(logdir)
    loops[name]()
    tf.profiler.experimental.stop()
    space = xplane_pb2.XSpace()
    path = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)[
      0
    ]
    with open(path, "rb") as f:
      space.ParseFromString(f.read())
    per_op[name] = _op_times(space)
  growth = sorted(
    set(per_op["fixed"]) | set(per_op["yoto"]),
    key=lambda op: per_op["fixed"][op] - per_op["yoto"][op],
  )
  return {op: (per_op["fixed"][op], per_op["yoto"][op]) for op in growth[:top]}


def _op_times(space):
  """Milliseconds of TF op events on the host, summed by op type."""
  totals = collections.Counter()
  for plane in space.planes:
    if plane.name != "/host:CPU":
      continue
    names = {k: v.name for k, v in plane.event_metadata.items()}
    for line in plane.lines:
      if not line.name.startswith("tf_"):
        continue
      for event in line.events:
        name = names.get(event.metadata_id, "")
        # TF ops are 'op_name:OpType' events; executor events have '::'.
        if ":" in name and "::" not in name:
          totals[name.rsplit(":", 1)[1]] += event.duration_ps / 1e9
  return totals


def markdown(results) -> str:
  rows = []
  for arch, r in results.items():
    for label, ratio in r["ratios"].items():
      rows.append([arch, label, timing.format_ratio(ratio)])
  text = (
    "Training-loop step-time ratios (process CPU time; wall-clock in "
    "brackets), interleaved, in-memory data:\n\n"
    + common.markdown_table(
      ["architecture", "variant / reference", "ratio"], rows
    )
  )
  for arch, r in results.items():
    if "profile_ms" in r:
      text += (
        f"\nTensorFlow profiler, {arch}, one loop of "
        f"{r['steps_per_call']} steps: op types whose time grew most "
        "from fixed to YOTO (ms, summed over threads; the profiler "
        "inflates absolute times):\n\n"
        + common.markdown_table(
          ["op type", "fixed ms", "YOTO ms"],
          [
            [op, f"{a:.1f}", f"{b:.1f}"]
            for op, (a, b) in r["profile_ms"].items()
          ],
        )
      )
  return text


def main(argv=None):
  args = _parser().parse_args(argv)
  variants = [v for v in args.variants.split(",") if v]
  repeats = args.repeats or (1 if args.tiny else 11)
  steps = args.steps or (2 if args.tiny else 10)
  batch_size = args.batch_size or (4 if args.tiny else None)
  results = {}
  with tempfile.TemporaryDirectory() as tmp:
    for name in (a for a in args.architectures.split(",") if a):
      arch = common.ARCHITECTURES[name]
      results[name], _, loops = bench_architecture(
        arch, variants, batch_size, steps, repeats, tmp
      )
      if args.profile:
        results[name]["profile_ms"] = op_profile(loops, os.path.join(tmp, name))
      print(f"{name}: {results[name]['ratios']}", flush=True)
  text = markdown(results)
  common.write_results("film_overhead", args.out_dir, results, text, argv)
  return results


if __name__ == "__main__":
  main()
