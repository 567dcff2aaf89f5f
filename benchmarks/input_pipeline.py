r"""Input pipeline: its share of the training step on the embedded dataset.

  python -m benchmarks.input_pipeline            # about 6 minutes
  python -m benchmarks.input_pipeline --tiny     # seconds; for tests

The embedded VAE config (config/photo_patches_conv_vae_yoto.gin: the
`photo_patches` training split, batch 64, `flip_lr()|value_range(-1,1)`) fed
by the pipeline `experiment` builds (`yoto.utils.data.get_dataset`: TFDS
read with autocache, shuffle, repeat, seeded augmentation, batching,
prefetch), in two forms:

- `batched`: the preprocessing runs once per batch (the default since the
  input pipeline was vectorised);
- `per_example`: it runs on every example before batching
  (`get_dataset(batch_preprocessing=False)`, the earlier form).

Two comparisons, each timed interleaved in one process (see
benchmarks/common.py), every timed call being one epoch of batches (188 of
64) through a fresh iterator, as a training run meets them:

1. `alone`: an epoch drawn from each pipeline without training, and as many
   steps of the project's compiled training loop on a constant in-memory
   batch. Reports the pipeline's CPU time per batch as a share of the
   training step's: what the pipeline takes from the 2 cores that the step
   could use. The precise measure; the next one includes it.
2. `loop`: the training loop fed by each pipeline and by the in-memory
   batch. Reports `real/in-memory` (process CPU time, wall in brackets) per
   pipeline: 1.05 means the pipeline costs 5 % of the step.

Fresh iterators per call keep the comparison fair: a live tf.data iterator
keeps filling its prefetch buffer in the background, and process CPU time
would charge that work to whichever variant is being timed. The untimed
warm-up call fills TFDS's in-memory cache (autocache) of the decoded
examples, which later iterators of the same dataset share: the first epoch
of a run decodes the PNGs, the other 20 of a 4,000-step run do not.
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf
import tensorflow_datasets as tfds

from benchmarks import common
from benchmarks import timing
from yoto.utils import data
from yoto.utils import data_sources
from yoto.utils import preprocessing
# pylint: enable=g-import-not-at-top,wrong-import-position

SECTIONS = ("alone", "loop")
PIPELINES = ("batched", "per_example")


def _parser():
  parser = common.base_parser(__doc__)
  parser.add_argument(
    "--sections",
    default=",".join(SECTIONS),
    help="Comma-separated subset of " + ", ".join(SECTIONS),
  )
  parser.add_argument(
    "--steps",
    type=int,
    default=None,
    help="Batches (training steps) per timed call "
    "(default one epoch, 188 of 64; 2 with --tiny). Under "
    "an epoch, TFDS's cache never fills and every call "
    "decodes PNGs.",
  )
  parser.add_argument(
    "--batch_size",
    type=int,
    default=None,
    help="Override the config's batch size (64).",
  )
  parser.add_argument(
    "--data_dir",
    default=None,
    help="TFDS data_dir (default: TFDS's, i.e. "
    "$TFDS_DATA_DIR or ~/tensorflow_datasets); "
    "photo_patches is built there if missing.",
  )
  return parser


def config_pipeline():
  """The embedded config's training preprocessing string."""
  common.parse_config(common.ARCHITECTURES["photo_patches"].yoto_config)
  try:
    return common.experiment_value("preprocess")
  finally:
    common.gin.clear_config()


def real_dataset_fn(batch_size, pipeline, batch_preprocessing, data_dir=None):
  """The training dataset_fn `experiment` builds for the embedded config."""
  preprocess_fn = preprocessing.get_preprocess_fn(pipeline)

  def dataset_fn(context):
    return data.get_dataset(
      "photo_patches",
      data_sources.DatasetSplit.TRAIN,
      batch_size=context.get_per_replica_batch_size(batch_size),
      preprocess_fn=preprocess_fn,
      shuffle=True,
      repeat=True,
      seed=0,
      data_dir=data_dir,
      input_context=context,
      drop_remainder=True,
      batch_preprocessing=batch_preprocessing,
    )

  return dataset_fn


def _draw_fn(dataset, steps):
  """One call: `steps` batches from a fresh iterator, nothing else."""

  def run():
    batch = None
    for batch in dataset.take(steps):
      pass
    return batch["image"][0, 0, 0]

  return run


def _loop_fn(trainer, dataset, steps):
  """One call: `steps` training steps on a fresh iterator of `dataset`.

  The dataset object is the same in every call, so TFDS's cache in it is
  filled once.
  """

  def run():
    iterator = iter(
      trainer.strategy.distribute_datasets_from_function(
        lambda unused_context: dataset.take(steps)
      )
    )
    return trainer.run_steps(iterator, steps)

  return run


def _shares(times, steps, batch_size, pipelines, step_name):
  """Per-batch medians and each pipeline's CPU/wall time over the step's."""
  medians = timing.medians(times)
  return {
    "batch_size": batch_size,
    "steps_per_call": steps,
    "times": times.to_json(),
    "ms_per_batch": {
      clock: {name: 1e3 * t / steps for name, t in values.items()}
      for clock, values in medians.items()
    },
    "share_of_step": timing.ratios(
      times, {name: (name, step_name) for name in pipelines}
    ),
  }


def bench(batch_size, steps, repeats, sections, data_dir, tmp):
  """Both sections, on one model and one set of pipelines."""
  arch = common.ARCHITECTURES["photo_patches"]
  state = common.build_state(arch.yoto_config, (), arch.image_shape, batch_size)
  pipeline = config_pipeline()
  # Builds it.
  data_sources.load_split("photo_patches", "train", data_dir=data_dir)
  num_train = (
    tfds.builder("photo_patches", data_dir=data_dir)
    .info.splits["train"]
    .num_examples
  )
  # One epoch and one batch more per call, so that the first call reads a
  # whole epoch and TFDS's cache completes.
  steps = steps or -(-num_train // state.batch_size)
  trainer = common.make_trainer(state, os.path.join(tmp, "pipeline"), steps)
  context = tf.distribute.InputContext()
  datasets = {
    name: real_dataset_fn(
      state.batch_size, pipeline, name == "batched", data_dir
    )(context)
    for name in PIPELINES
  }
  datasets["in_memory"] = common.in_memory_dataset_fn(
    common.synthetic_images(
      state.batch_size, arch.image_shape, arch.value_range
    )
  )(context)
  results = {
    "config": arch.yoto_config,
    "preprocess": pipeline,
    "batch_size": state.batch_size,
    "num_train": num_train,
    "steps_per_call": steps,
  }
  if "alone" in sections:
    variants = {name: _draw_fn(datasets[name], steps) for name in PIPELINES}
    variants["train_step"] = _loop_fn(trainer, datasets["in_memory"], steps)
    times = timing.interleaved(variants, repeats)
    results["alone"] = _shares(
      times, steps, state.batch_size, PIPELINES, "train_step"
    )
    print(f"alone: {results['alone']['share_of_step']}", flush=True)
  if "loop" in sections:
    variants = {
      name: _loop_fn(trainer, datasets[name], steps)
      for name in PIPELINES + ("in_memory",)
    }
    times = timing.interleaved(variants, repeats)
    medians = timing.medians(times)
    results["loop"] = {
      "steps_per_call": steps,
      "times": times.to_json(),
      "images_per_s": {
        name: steps * state.batch_size / t
        for name, t in medians["wall"].items()
      },
      "images_per_cpu_s": {
        name: steps * state.batch_size / t for name, t in medians["cpu"].items()
      },
      "ratios": timing.ratios(
        times, {f"{name}/in-memory": (name, "in_memory") for name in PIPELINES}
      ),
    }
    print(f"loop: {results['loop']['ratios']}", flush=True)
  return results


def _percent(ratio):
  return f"{100 * ratio['cpu']:.1f} % (wall {100 * ratio['wall']:.1f} %)"


def markdown(results) -> str:
  """The results as the tables BENCHMARKS.md shows."""
  parts = [
    f"Embedded VAE config ({results['config']}, batch "
    f"{results['batch_size']}, `{results['preprocess']}`), training "
    "split of `photo_patches`; `batched` runs the preprocessing once "
    "per batch (the default), `per_example` on every example.\n"
  ]
  if "alone" in results:
    r = results["alone"]
    ms = r["ms_per_batch"]
    rows = [
      [
        name,
        f"{ms['cpu'][name]:.2f} / {ms['wall'][name]:.2f}",
        _percent(r["share_of_step"][name]),
      ]
      for name in PIPELINES
    ]
    rows.append(
      [
        "training step (in-memory batch)",
        f"{ms['cpu']['train_step']:.1f} / {ms['wall']['train_step']:.1f}",
        "",
      ]
    )
    parts.append(
      "The pipeline alone: CPU / wall milliseconds per batch (medians), "
      "and the pipeline's time per batch as a share of the training "
      "step's (median of per-repetition ratios of process CPU time; wall "
      "in brackets):\n\n"
      + common.markdown_table(
        ["", "CPU / wall ms per batch", "share of the step"], rows
      )
    )
  if "loop" in results:
    r = results["loop"]
    rows = [
      [
        name,
        f"{r['images_per_s'][name]:.0f} / {r['images_per_cpu_s'][name]:.0f}",
        timing.format_ratio(
          r["ratios"][f"{name}/in-memory"], bold=name == "batched"
        ),
      ]
      for name in PIPELINES
    ]
    rows.append(
      [
        "in-memory",
        f"{r['images_per_s']['in_memory']:.0f} / "
        f"{r['images_per_cpu_s']['in_memory']:.0f}",
        "1",
      ]
    )
    parts.append(
      "YOTO training loop fed by each pipeline and by a constant in-memory "
      "batch (images per wall / CPU second; ratio of process CPU time per "
      "call, wall in brackets):\n\n"
      + common.markdown_table(
        ["data", "img/s wall / CPU", "real/in-memory"], rows
      )
    )
  return "\n".join(parts)


def main(argv=None):
  args = _parser().parse_args(argv)
  sections = [s for s in args.sections.split(",") if s]
  unknown = sorted(set(sections) - set(SECTIONS))
  if unknown:
    raise SystemExit(
      f"Unknown --sections {', '.join(unknown)}; choose from "
      f"{', '.join(SECTIONS)}."
    )
  repeats = args.repeats or (1 if args.tiny else 5)
  steps = args.steps or (2 if args.tiny else None)
  batch_size = args.batch_size or (4 if args.tiny else None)
  with tempfile.TemporaryDirectory() as tmp:
    results = bench(batch_size, steps, repeats, sections, args.data_dir, tmp)
  common.write_results(
    "input_pipeline", args.out_dir, results, markdown(results), argv
  )
  return results


if __name__ == "__main__":
  main()
