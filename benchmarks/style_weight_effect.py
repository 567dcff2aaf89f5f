r"""Does a trained style-transfer YOTO model's output depend on the weights?

`style_weight_ranges.py` checks that each weight range matters when the pixels
are optimised directly; this script checks what a trained network learnt. It
stylizes the held-out content crops (the test split, a photo never trained
on) with the held-out styles, at the centre of the training ranges and at
the low and the high end of each conditioned weight (every other weight at
the centre, the eval weights of Figure 6a), and reports

- the mean absolute pixel difference (0-255 grey levels) between the images
  of the two ends of each weight: near 0 means the network ignores that
  weight; and
- the six losses (means over the images) at every setting, measured with
  the loss network the model was trained with; and
- the SSIM of luminance between each stylized image and its content photo
  (mean over the images, `image_metrics.luminance_ssim`): how recognisable
  the content stays, near 1 for the photo's structure kept, near 0 for a
  texture.

  python -m benchmarks.style_weight_effect --model_dir=runs/style_yoto
      # measures the newest hub module of an existing run
  python -m benchmarks.style_weight_effect --model_dir=/tmp/style --train \
      --gin_bindings='YotoOptimizer.normalize_loss_weights = True'
      # trains the embedded config in-process first, then measures
  python -m benchmarks.style_weight_effect --tiny --model_dir=/tmp/tiny

It writes style_weight_effect.json to the model_dir (with --train: also the
training seconds and the bindings) and style_weight_effect.png (rows: the
content and style images, then every setting; columns: the first eight
(content, style) pairs), and prints a table. `--styles=train` measures with
the training styles instead (into style_weight_effect_train.json/.png): a
network that stylizes with those but not with the held-out ones learnt to
stylize and did not generalise.
"""

import argparse
import json
import os
import sys
import time
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import logging
from benchmarks import common
import numpy as np
import tensorflow as tf

from yoto import main as yoto_main
from yoto.architectures import vgg
from yoto.clients import paths as module_paths
from yoto.problems import image_metrics
from yoto.problems import style_losses as style_transfer
from yoto.utils import data
from yoto.utils import image_files
from yoto.utils import preprocessing
from yoto.utils import styles as styles_lib
# pylint: enable=g-import-not-at-top,wrong-import-position

CONFIG = os.path.join(
  os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
  "config",
  "photo_patches_magenta_style_transfer_yoto.gin",
)
RESULT_FILE = "style_weight_effect.json"
GRID_FILE = "style_weight_effect.png"
STYLE_CHOICES = ("held_out", "train")


def output_name(name: str, styles: str) -> str:
  """`name` for the held-out styles, with '_train' before the extension for
  the training styles, so both measurements of one run are kept."""
  if styles == "held_out":
    return name
  stem, extension = os.path.splitext(name)
  return f"{stem}_{styles}{extension}"


GRID_COLUMNS = 8
# A few steps of a narrow network: exercises every code path, means nothing.
TINY_BINDINGS = common.TINY_STYLE_RUN_BINDINGS + (
  "experiment.eval_weights = None",
  "experiment.eval_num_samples = 1",
)


def train(
  model_dir: str, config: str = CONFIG, bindings: Sequence[str] = ()
) -> float:
  """Trains, evaluates and exports in-process, as `python -m yoto.main`.

  Returns:
    The seconds it took, evaluation and export included.
  """
  start = time.time()
  yoto_main.run_in_process(model_dir, [config], bindings)
  return time.time() - start


def test_content(dataset_name: str, num_images: int) -> np.ndarray:
  """The first `num_images` test-split images in [0, 1], [N, H, W, 3]."""
  dataset = data.get_dataset(
    dataset_name,
    "test",
    batch_size=num_images,
    preprocess_fn=preprocessing.get_preprocess_fn("value_range(0, 1)"),
  )
  return next(iter(dataset))["image"].numpy()


def style_images(
  metadata: Mapping[str, object], which: str = "held_out"
) -> np.ndarray:
  """The module's style images [S, h, w, 3] of `which`: 'held_out' (else its
  training ones), 'train' or 'all' (`StyleSet.eval_indices`)."""
  info = metadata["styles"]
  style_set = styles_lib.load_style_set(
    info["source"], metadata["style_image_size"], list(info["held_out"])
  )
  return style_set.images[style_set.eval_indices(which)]


def settings(
  metadata: Mapping[str, object],
) -> List[Tuple[str, Dict[str, float]]]:
  """(label, weights) for the centre and both ends of each conditioned loss.

  Weights are those of every loss; the conditioned ones vary, the others
  stay at their defaults (the fixed total-variation weight).
  """
  centre = {k: float(v) for k, v in metadata["default_weights"].items()}
  result = [("centre", centre)]
  for name in metadata["conditioned_losses"]:
    low, high = metadata["conditioned_ranges"][name]
    result += [
      (f"{name}=low", {**centre, name: float(low)}),
      (f"{name}=high", {**centre, name: float(high)}),
    ]
  return result


class LossNetwork:
  """The six style-transfer losses of stylized images, as the problem's."""

  def __init__(self, metadata, content, style, weights="hed"):
    self.content_layer = metadata["content_layer"]
    self.style_layers = tuple(metadata["style_layers"])
    self.network = vgg.Vgg16Features(vgg.read_vgg16_weights(weights))
    self.content_features = self.network(
      tf.constant(content), [self.content_layer]
    )[self.content_layer]
    features = self.network(tf.constant(style), self.style_layers)
    self.grams = [
      style_transfer.gram_matrix(features[k]) for k in self.style_layers
    ]

  def __call__(self, images) -> Dict[str, float]:
    features = self.network(images, (self.content_layer,) + self.style_layers)
    losses = {
      style_transfer.CONTENT_LOSS: style_transfer.content_loss(
        features[self.content_layer], self.content_features
      ),
      style_transfer.TOTAL_VARIATION_LOSS: style_transfer.total_variation_loss(
        images
      ),
    }
    names = style_transfer.style_loss_names(len(self.style_layers))
    for name, layer, gram in zip(names, self.style_layers, self.grams):
      losses[name] = style_transfer.style_loss(features[layer], gram)
    return {k: float(tf.reduce_mean(v)) for k, v in losses.items()}


def weight_effect(
  hub_module: str,
  content: np.ndarray,
  loss_network_weights: str = "hed",
  styles: str = "held_out",
) -> Dict[str, object]:
  """Stylizes every content image with every style of `styles` per setting.

  Args:
    hub_module: an exported style-transfer YOTO module.
    content: [N, H, W, 3] in [0, 1].
    loss_network_weights: the VGG-16 the model was trained with.
    styles: 'held_out' (styles never trained on: does the conditioning
      generalise?) or 'train' (does the network stylize at all?).

  Returns:
    {'settings': {label: {'weights', 'losses', 'full_loss',
     'content_ssim'}},
     'mean_abs_diff_0_255': {loss name: |high - low| in grey levels},
     'styles': styles, 'num_images': N * S, 'images': {label or 'content' or 'style':
     [N * S, H, W, 3] in [0, 1]}}.
  """
  module = tf.saved_model.load(hub_module)
  metadata = json.loads(module.metadata()["metadata"].numpy())
  if not metadata.get("conditioned_ranges"):
    raise ValueError(
      f"{hub_module} is not a YOTO (weight-conditioned) "
      "module; there are no weights to vary."
    )
  style = style_images(metadata, styles)
  # Every (content, style) pair: content-major.
  pairs_content = np.repeat(content, len(style), axis=0)
  pairs_style = np.tile(style, [len(content), 1, 1, 1])
  loss_network = LossNetwork(
    metadata, pairs_content, pairs_style, loss_network_weights
  )
  conditioned = metadata["conditioned_losses"]
  results, images = {}, {}
  for label, weights in settings(metadata):
    stylized = module.stylize(
      content=tf.constant(pairs_content),
      style=tf.constant(pairs_style),
      weights=tf.constant([weights[k] for k in conditioned]),
    )["stylized"]
    images[label] = stylized.numpy()
    losses = loss_network(stylized)
    results[label] = {
      "weights": weights,
      "losses": losses,
      "full_loss": sum(weights[k] * v for k, v in losses.items()),
      "content_ssim": float(
        tf.reduce_mean(
          image_metrics.luminance_ssim(stylized, tf.constant(pairs_content))
        )
      ),
    }
  diffs = {
    name: float(
      np.abs(images[f"{name}=high"] - images[f"{name}=low"]).mean() * 255
    )
    for name in conditioned
  }
  images = {"content": pairs_content, "style": pairs_style, **images}
  return {
    "hub_module": hub_module,
    "styles": styles,
    "num_images": len(pairs_content),
    "mean_abs_diff_0_255": diffs,
    "settings": results,
    "images": images,
  }


def save_grid(
  images: Mapping[str, np.ndarray], path: str, columns: int = GRID_COLUMNS
) -> None:
  """One row per entry of `images` (its first `columns` images), as a PNG."""
  size = next(iter(images.values())).shape[1:3]
  rows = [
    np.concatenate(
      [tf.image.resize(im, size).numpy() for im in value[:columns]], axis=1
    )
    for value in images.values()
  ]
  image_files.write_image(path, np.concatenate(rows, axis=0))


def format_report(report: Mapping[str, object]) -> str:
  """A plain-text table: losses per setting, then |high - low| per weight."""
  labels = list(report["settings"])
  names = sorted(report["settings"]["centre"]["losses"])
  short = [
    n.replace("_loss", "").replace("total_variation", "tv") for n in names
  ]
  lines = [
    f"{'setting':24s}"
    + "".join(f"{s:>11s}" for s in short)
    + f"{'ssim(content)':>15s}"
  ]
  for label in labels:
    setting = report["settings"][label]
    lines.append(
      f"{label:24s}"
      + "".join(f"{setting['losses'][n]:11.3g}" for n in names)
      + f"{setting['content_ssim']:15.3f}"
    )
  lines.append(
    "mean |high - low| (0-255 levels): "
    + ", ".join(
      f"{k}={v:.1f}" for k, v in report["mean_abs_diff_0_255"].items()
    )
  )
  return "\n".join(lines)


def how_it_was_trained(model_dir: str) -> Dict[str, object]:
  """The training seconds, config and bindings an earlier --train run of
  `model_dir` recorded (in its held-out results file), else {}."""
  path = os.path.join(model_dir, RESULT_FILE)
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    earlier = json.load(f)
  keys = ("train_seconds", "config", "bindings")
  return {k: earlier[k] for k in keys if k in earlier}


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, object]:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument(
    "--model_dir",
    required=True,
    help="the run to measure (and, with --train, train)",
  )
  parser.add_argument(
    "--train", action="store_true", help="train --config into --model_dir first"
  )
  parser.add_argument("--config", default=CONFIG, help="gin config to train")
  parser.add_argument(
    "--gin_bindings",
    action="append",
    default=[],
    help="extra gin bindings for --train (repeatable)",
  )
  parser.add_argument(
    "--dataset",
    default="photo_patches/64",
    help="TFDS dataset whose test split is the content",
  )
  parser.add_argument(
    "--num_images",
    type=int,
    default=16,
    help="test content images (each with every style)",
  )
  parser.add_argument("--loss_network_weights", default="hed")
  parser.add_argument(
    "--styles",
    choices=STYLE_CHOICES,
    default="held_out",
    help="the style images: held out of training, or the training ones "
    "(results go to style_weight_effect_train.json/.png)",
  )
  parser.add_argument(
    "--tiny",
    action="store_true",
    help="a 2-step narrow model and 2 images; for tests",
  )
  args = parser.parse_args(argv)
  bindings = list(args.gin_bindings)
  if args.tiny:
    args.train = True
    args.num_images = 2
    bindings = list(TINY_BINDINGS) + bindings
  seconds = None
  if args.train:
    logging.set_verbosity(logging.INFO)  # The trainer's steps/s lines.
    seconds = train(args.model_dir, args.config, bindings)
  hub_module = module_paths.latest_hub_module(args.model_dir)
  if hub_module is None:
    raise ValueError(
      f"No hub module in {args.model_dir}; train it first (--train)."
    )
  report = weight_effect(
    hub_module,
    test_content(args.dataset, args.num_images),
    args.loss_network_weights,
    args.styles,
  )
  path = os.path.join(args.model_dir, output_name(RESULT_FILE, args.styles))
  if args.train:
    report.update(train_seconds=seconds, config=args.config, bindings=bindings)
  else:
    report.update(how_it_was_trained(args.model_dir))
  save_grid(
    report.pop("images"),
    os.path.join(args.model_dir, output_name(GRID_FILE, args.styles)),
  )
  with open(path, "w") as f:
    json.dump(report, f, indent=1)
  print(format_report(report), flush=True)
  return report


if __name__ == "__main__":
  main()
