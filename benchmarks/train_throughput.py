r"""Training throughput: YOTO vs fixed weights vs plain Keras, XLA, input data.

  python -m benchmarks.train_throughput            # about 10 minutes
  python -m benchmarks.train_throughput --tiny     # seconds; for tests

Three comparisons, each timed interleaved in one process (see
benchmarks/common.py), on constant in-memory batches unless stated:

1. `loop`: for the CIFAR-10 and Shapes3D architectures (their configs, batch
   128 and 64), `iterations_per_loop` steps of the project's compiled
   training loop (`Trainer`, as `python -m yoto.main` runs it) for the YOTO
   model and its fixed-weight twin, and as many steps of a plain Keras
   fixed-β step of the same layers (benchmarks/keras_reference.py). Reports
   images/s and the step-time ratios `YOTO/fixed` and `YOTO/keras`.
2. `xla`: one training step per call, compiled with `jit_compile=True` and
   without, for the same three models. Reports `XLA/no XLA` per model.
3. `pipeline`: the embedded-data config (photo_patches, batch 64) in the
   training loop fed by the real input pipeline (TFDS read, shuffle,
   `flip_lr()|value_range(-1,1)`, batching, prefetch) vs a constant
   in-memory batch. Reports `real/in-memory`.
"""

import functools
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf

from benchmarks import common
from benchmarks import compute_limit
from benchmarks import input_pipeline
from benchmarks import keras_reference
from benchmarks import timing
# pylint: enable=g-import-not-at-top,wrong-import-position

SECTIONS = ("loop", "xla", "pipeline")
MODELS = ("yoto", "fixed", "keras")


def _parser():
  parser = common.base_parser(__doc__)
  parser.add_argument(
    "--architectures",
    default="cifar10,shapes3d",
    help=f"Comma-separated, from {', '.join(common.ARCHITECTURES)}.",
  )
  parser.add_argument(
    "--sections",
    default=",".join(SECTIONS),
    help="Comma-separated subset of " + ", ".join(SECTIONS),
  )
  parser.add_argument(
    "--steps",
    type=int,
    default=None,
    help="Training steps per timed call (default 10; 5 for xla).",
  )
  parser.add_argument(
    "--batch_size",
    type=int,
    default=None,
    help="Override the configs' batch sizes.",
  )
  parser.add_argument(
    "--xla_models",
    default=",".join(MODELS),
    help="Comma-separated subset of "
    + ", ".join(MODELS)
    + " timed with and without XLA.",
  )
  return parser


class Models:
  """The YOTO, fixed and plain-Keras models of one architecture."""

  def __init__(self, arch: common.Architecture, batch_size, steps, tmp):
    self.arch = arch
    self.yoto = common.build_state(
      arch.yoto_config, (), arch.image_shape, batch_size
    )
    self.fixed = common.build_state(
      arch.fixed_config, (), arch.image_shape, batch_size
    )
    self.batch_size = self.yoto.batch_size
    self.keras = keras_reference.KerasVae(self.fixed, arch.image_shape)
    self.images = common.synthetic_images(
      self.batch_size, arch.image_shape, arch.value_range
    )
    self.trainers = {
      name: common.make_trainer(
        state, os.path.join(tmp, arch.name, name), steps
      )
      for name, state in (("yoto", self.yoto), ("fixed", self.fixed))
    }

  def forward_macs(self):
    """Forward MACs per image of the YOTO and the fixed model (the plain
    Keras model has the fixed one's layers)."""
    macs = {}
    for name, state in (("yoto", self.yoto), ("fixed", self.fixed)):
      width = state.multi_loss_optimizer.num_conditioning_inputs

      def forward(images, state=state, width=width):
        extra = (
          None
          if width is None
          else tf.zeros(tf.stack([tf.shape(images)[0], width]))
        )
        return state.problem.losses_and_metrics({"image": images}, extra)

      macs[name] = compute_limit.forward_macs_per_image(
        forward, self.arch.image_shape
      )
    return macs

  def params(self):
    return {
      "yoto": common.num_params(self.yoto.problem.trainable_variables),
      "fixed": common.num_params(self.fixed.problem.trainable_variables),
      "keras": common.num_params(self.keras.variables),
    }


def _step_fn(trainer, images, steps, jit_compile):
  """`steps` calls of one compiled training step of the project's Trainer."""
  features = {"image": images}
  step = tf.function(
    lambda f: trainer.strategy.run(trainer.replica_step, args=(f,)),
    jit_compile=jit_compile,
  )

  def run():
    result = None
    for _ in range(steps):
      result = step(features)
    return result["loss"]

  return run


def _summary(times, steps, batch_size, pairs):
  """Medians, images/s and the ratios `pairs` of one comparison.

  `images_per_s` is wall-clock (median repetition), which other jobs on the
  machine slow down; `images_per_cpu_s` divides by the process CPU time
  (both cores summed), which they hardly affect.
  """
  medians = timing.medians(times)
  return {
    "batch_size": batch_size,
    "steps_per_call": steps,
    "times": times.to_json(),
    "median_s": medians,
    "images_per_s": {
      name: steps * batch_size / t for name, t in medians["wall"].items()
    },
    "images_per_cpu_s": {
      name: steps * batch_size / t for name, t in medians["cpu"].items()
    },
    "ratios": timing.ratios(times, pairs),
  }


def bench_loop(models: Models, steps, repeats):
  """Section 1: the training loop, YOTO vs fixed vs plain Keras."""
  in_memory = common.in_memory_dataset_fn(models.images)
  variants = {
    "yoto": common.loop_fn(models.trainers["yoto"], in_memory, steps),
    "fixed": common.loop_fn(models.trainers["fixed"], in_memory, steps),
    "keras": functools.partial(
      models.keras.compiled_steps(), models.images, steps
    ),
  }
  times = timing.interleaved(variants, repeats)
  results = _summary(
    times,
    steps,
    models.batch_size,
    {
      "yoto/fixed": ("yoto", "fixed"),
      "yoto/keras": ("yoto", "keras"),
      "fixed/keras": ("fixed", "keras"),
    },
  )
  results["params"] = models.params()
  results["forward_macs_per_image"] = models.forward_macs()
  return results


def add_compute_limit(loop_results, peak_flops):
  """The images/s limit of each architecture at `peak_flops`, and the
  fraction of it each model reached (wall-clock rate)."""
  for r in loop_results.values():
    macs = r["forward_macs_per_image"]
    r["peak_gflops"] = peak_flops / 1e9
    r["limit_images_per_s"] = {
      m: compute_limit.images_per_second_limit(peak_flops, macs[m])
      for m in macs
    }
    r["fraction_of_limit"] = {
      m: r["images_per_s"][m]
      / r["limit_images_per_s"]["fixed" if m == "keras" else m]
      for m in MODELS
    }


def bench_xla(models: Models, steps, repeats, names=MODELS):
  """Section 2: one step per call, with and without XLA, for `names`."""
  variants = {}
  for jit, suffix in ((False, ""), (True, "_xla")):
    for name in names:
      if name == "keras":
        variants[name + suffix] = functools.partial(
          models.keras.compiled_steps(jit_compile=jit), models.images, steps
        )
      else:
        variants[name + suffix] = _step_fn(
          models.trainers[name], models.images, steps, jit
        )
  times = timing.interleaved(variants, repeats)
  pairs = {f"{name} xla/no-xla": (name + "_xla", name) for name in names}
  if "yoto" in names and "fixed" in names:
    pairs["yoto/fixed with xla"] = ("yoto_xla", "fixed_xla")
    pairs["yoto/fixed without xla"] = ("yoto", "fixed")
  return _summary(times, steps, models.batch_size, pairs)


def _real_dataset_fn(batch_size):
  """The training pipeline `experiment` builds for the embedded config."""
  pipeline = input_pipeline.config_pipeline()
  return input_pipeline.real_dataset_fn(batch_size, pipeline, True), pipeline


def bench_pipeline(batch_size, steps, repeats, tmp):
  """Section 3: real input pipeline vs in-memory data, same model."""
  arch = common.ARCHITECTURES["photo_patches"]
  state = common.build_state(arch.yoto_config, (), arch.image_shape, batch_size)
  trainer = common.make_trainer(state, os.path.join(tmp, "pipeline"), steps)
  real_fn, pipeline = _real_dataset_fn(state.batch_size)
  images = common.synthetic_images(
    state.batch_size, arch.image_shape, arch.value_range
  )
  variants = {
    "real": common.loop_fn(trainer, real_fn, steps),
    "in_memory": common.loop_fn(
      trainer, common.in_memory_dataset_fn(images), steps
    ),
  }
  times = timing.interleaved(variants, repeats)
  results = _summary(
    times, steps, state.batch_size, {"real/in-memory": ("real", "in_memory")}
  )
  results.update(config=arch.yoto_config, preprocess=pipeline)
  return results


def _rates(r, names):
  """'wall img/s / CPU img/s' cells of `names`."""
  return [
    f"{r['images_per_s'][m]:.0f} / {r['images_per_cpu_s'][m]:.0f}"
    for m in names
  ]


def _loop_markdown(loop_results) -> str:
  rows = []
  for arch, r in loop_results.items():
    ratio = r["ratios"]
    rows.append(
      [arch, r["batch_size"]]
      + _rates(r, MODELS)
      + [
        timing.format_ratio(ratio["yoto/fixed"], bold=True),
        timing.format_ratio(ratio["yoto/keras"]),
        timing.format_ratio(ratio["fixed/keras"]),
      ]
    )
  table = common.markdown_table(
    [
      "architecture",
      "batch",
      "YOTO",
      "fixed",
      "plain Keras",
      "YOTO/fixed",
      "YOTO/keras",
      "fixed/keras",
    ],
    rows,
  )
  limits = []
  for arch, r in loop_results.items():
    if "fraction_of_limit" not in r:
      continue
    macs = r["forward_macs_per_image"]
    limits.append(
      [
        arch,
        f"{macs['fixed'] / 1e6:.2f} / {macs['yoto'] / 1e6:.2f}",
        f"{r['limit_images_per_s']['fixed']:.0f}",
      ]
      + [f"{100 * r['fraction_of_limit'][m]:.0f} %" for m in MODELS]
    )
  if limits:
    peak = next(iter(loop_results.values()))["peak_gflops"]
    table += (
      f"\nThe compute limit: forward MACs per image counted from the "
      f"traced graph (convolutions and matrix products), a training "
      f"step taken as 3 forward passes, and the float32 peak of a "
      f"2048x2048 matmul measured in the same run ({peak:.0f} "
      "GFLOP/s); each model's wall-clock rate as a fraction of its "
      "limit:\n\n"
      + common.markdown_table(
        [
          "architecture",
          "forward MMACs/image (fixed / YOTO)",
          "limit img/s (fixed)",
        ]
        + [f"{m} of limit" for m in MODELS],
        limits,
      )
    )
  return table


def _xla_markdown(xla_results) -> str:
  rows = []
  for arch, r in xla_results.items():
    ratio = r["ratios"]
    cells = []
    for m in MODELS:
      if f"{m} xla/no-xla" not in ratio:
        cells.append("")
        continue
      cells.append(
        " → ".join(_rates(r, [m, m + "_xla"]))
        + "; "
        + timing.format_ratio(ratio[f"{m} xla/no-xla"])
      )
    rows.append([arch] + cells)
  return common.markdown_table(["architecture"] + list(MODELS), rows)


def markdown(results) -> str:
  """The results as the tables BENCHMARKS.md shows."""
  parts = []
  if "loop" in results:
    parts.append(
      "Training loop, in-memory data. Throughput cells: images per "
      "wall-clock second / per CPU-second (medians; the machine was "
      "shared, so the wall-clock rate varies with other jobs, the CPU "
      "rate much less). Ratios: median over interleaved repetitions of "
      "the step's process-CPU-time ratio (wall-clock ratio in "
      "brackets):\n\n" + _loop_markdown(results["loop"])
    )
  if "xla" in results:
    parts.append(
      "One training step per call, without → with "
      "`jit_compile=True` (wall / CPU img/s; XLA/no-XLA step-time "
      "ratio):\n\n" + _xla_markdown(results["xla"])
    )
  if "pipeline" in results:
    r = results["pipeline"]
    parts.append(
      f"Input pipeline ({r['config']}, batch {r['batch_size']}, "
      f"`{r['preprocess']}`), YOTO training loop (wall / CPU img/s):\n\n"
      + common.markdown_table(
        ["real pipeline", "in-memory", "real/in-memory"],
        [
          _rates(r, ["real", "in_memory"])
          + [timing.format_ratio(r["ratios"]["real/in-memory"], bold=True)]
        ],
      )
    )
  return "\n".join(parts)


def main(argv=None):
  args = _parser().parse_args(argv)
  sections = [s for s in args.sections.split(",") if s]
  archs = [common.ARCHITECTURES[a] for a in args.architectures.split(",") if a]
  repeats = args.repeats or (1 if args.tiny else 15)
  steps = args.steps or (2 if args.tiny else 10)
  xla_steps = args.steps or (1 if args.tiny else 5)
  batch_size = args.batch_size or (4 if args.tiny else None)
  results = {}
  with tempfile.TemporaryDirectory() as tmp:
    for arch in archs if {"loop", "xla"} & set(sections) else ():
      models = Models(arch, batch_size, steps, tmp)
      if "loop" in sections:
        results.setdefault("loop", {})[arch.name] = bench_loop(
          models, steps, repeats
        )
        print(
          f"loop {arch.name}: {results['loop'][arch.name]['ratios']}",
          flush=True,
        )
      if "xla" in sections:
        results.setdefault("xla", {})[arch.name] = bench_xla(
          models,
          xla_steps,
          max(1, repeats // 2),
          [m for m in args.xla_models.split(",") if m],
        )
        print(
          f"xla {arch.name}: {results['xla'][arch.name]['ratios']}", flush=True
        )
    if "pipeline" in sections:
      results["pipeline"] = bench_pipeline(batch_size, steps, repeats, tmp)
  if "loop" in results:
    add_compute_limit(
      results["loop"],
      compute_limit.matmul_peak_flops(512 if args.tiny else 2048),
    )
  text = markdown(results)
  common.write_results("train_throughput", args.out_dir, results, text, argv)
  return results


if __name__ == "__main__":
  main()
