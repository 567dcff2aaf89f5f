r"""Do both ends of each style-transfer weight range give visibly different
images on the default loss network and image size?

The paper's ranges (content [0.1, 100], style 1-3 [1e-4, 1e-1], style 4
[1e-3, 1], total variation 1e4) were set for ImageNet VGG-16 at 256 px. This
script checks any set of ranges without training a network: for each weight
it optimises the pixels of a few content images (Gatys et al. 2016) at the low
and the high end of that weight's range, every other weight at the geometric
centre of its range, and reports

- the loss values and each weighted loss's share of the full loss, and
- the mean absolute pixel difference (0-255 levels) between the low-end and
  the high-end images: a weight whose ends give nearly the same images is
  dominated by the others over its whole range.

It writes `ranges.json` and `ranges.png` (rows: centre, then low/high of each
weight) to --out_dir.

  python benchmarks/style_weight_ranges.py --out_dir=/tmp/ranges \
      --ranges='content_loss=0.1:100,style_loss_1=1e-4:1e-1,...'
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from yoto.architectures import vgg  # pylint: disable=g-import-not-at-top
from yoto.problems import style_losses as style_transfer  # pylint: disable=g-import-not-at-top
from yoto.utils import image_files  # pylint: disable=g-import-not-at-top
from yoto.utils import photo_patches  # pylint: disable=g-import-not-at-top
from yoto.utils import styles  # pylint: disable=g-import-not-at-top

PAPER_RANGES = (
  "content_loss=0.1:100,style_loss_1=1e-4:1e-1,"
  "style_loss_2=1e-4:1e-1,style_loss_3=1e-4:1e-1,"
  "style_loss_4=1e-3:1,total_variation_loss=1e4:1e4"
)


def parse_ranges(text):
  ranges = {}
  for item in text.split(","):
    name, bounds = item.split("=")
    low, high = bounds.split(":")
    ranges[name.strip()] = (float(low), float(high))
  return ranges


def content_images(size, count, seed=0):
  """`count` random crops of the held-out photo (chelsea), [count, s, s, 3]."""
  photo = photo_patches.load_photo("chelsea")
  crops = photo_patches.random_crops(photo, 2 * size, count, seed)
  return tf.image.resize(
    np.stack(list(crops)).astype(np.float32) / 255.0, [size, size]
  ).numpy()


class Objective:
  """The six losses of stylized pixels against fixed content and styles."""

  def __init__(self, network, content, style_images):
    self.network = network
    self.content = tf.constant(content)
    self.layers = style_transfer.DEFAULT_STYLE_LAYERS
    features = network(tf.constant(style_images), self.layers)
    self.grams = {
      k: style_transfer.gram_matrix(features[k]) for k in self.layers
    }
    self.content_features = network(self.content, ["block3_conv3"])[
      "block3_conv3"
    ]

  def losses(self, images):
    features = self.network(images, self.layers)
    losses = {
      "content_loss": style_transfer.content_loss(
        features["block3_conv3"], self.content_features
      ),
      "total_variation_loss": style_transfer.total_variation_loss(images),
    }
    for i, layer in enumerate(self.layers):
      losses[f"style_loss_{i + 1}"] = style_transfer.style_loss(
        features[layer], self.grams[layer]
      )
    return {k: tf.reduce_mean(v) for k, v in losses.items()}


def optimise(objective, weights, steps, learning_rate):
  """Pixels minimising Σ w_i L_i, from the content image; returns them."""
  start = np.clip(objective.content.numpy(), 0.02, 0.98)
  logits = tf.Variable(np.log(start / (1 - start)))
  optimizer = tf.keras.optimizers.Adam(learning_rate)

  @tf.function
  def step():
    with tf.GradientTape() as tape:
      losses = objective.losses(tf.sigmoid(logits))
      total = tf.add_n([weights[k] * v for k, v in losses.items()])
    optimizer.apply_gradients([(tape.gradient(total, logits), logits)])
    return losses

  for _ in range(steps):
    step()
  images = tf.sigmoid(logits)
  return images.numpy(), {
    k: float(v) for k, v in objective.losses(images).items()
  }


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument(
    "--ranges",
    default=PAPER_RANGES,
    help="name=low:high,... for all six losses",
  )
  parser.add_argument("--size", type=int, default=64, help="image size")
  parser.add_argument("--num_images", type=int, default=3)
  parser.add_argument(
    "--style", default="mosaic_astronaut", help="a generated style name"
  )
  parser.add_argument("--steps", type=int, default=150)
  parser.add_argument("--learning_rate", type=float, default=0.05)
  parser.add_argument("--out_dir", required=True)
  args = parser.parse_args(argv)
  ranges = parse_ranges(args.ranges)
  centre = {k: float(np.sqrt(lo * hi)) for k, (lo, hi) in ranges.items()}
  network = vgg.Vgg16Features(vgg.read_vgg16_weights("hed"))
  content = content_images(args.size, args.num_images)
  style = styles.generate_style(args.style, args.size).astype(np.float32)
  style = np.repeat(style[None] / 255.0, args.num_images, 0)
  objective = Objective(network, content, style)
  os.makedirs(args.out_dir, exist_ok=True)

  settings = [("centre", centre)]
  for name, (low, high) in ranges.items():
    if low == high:
      continue
    settings += [
      (f"{name}=low", {**centre, name: low}),
      (f"{name}=high", {**centre, name: high}),
    ]
  results, rows = {}, [np.concatenate([content, style[:1]], 0)]
  for label, weights in settings:
    start = time.time()
    images, losses = optimise(
      objective, weights, args.steps, args.learning_rate
    )
    weighted = {k: weights[k] * v for k, v in losses.items()}
    total = sum(weighted.values())
    results[label] = {
      "weights": weights,
      "losses": losses,
      "share": {k: v / total for k, v in weighted.items()},
      "images": images,
    }
    rows.append(np.concatenate([images, style[:1]], 0))
    print(
      f"{label:28s} {time.time() - start:5.1f}s  share: "
      + ", ".join(
        f"{k.replace('_loss', '')}={v:.2f}"
        for k, v in results[label]["share"].items()
      ),
      flush=True,
    )
  report = {
    "ranges": ranges,
    "size": args.size,
    "style": args.style,
    "steps": args.steps,
    "settings": {},
  }
  for label, result in results.items():
    entry = {k: v for k, v in result.items() if k != "images"}
    if label.endswith("=high"):
      low = results[label[: -len("high")] + "low"]["images"]
      entry["mean_abs_diff_to_low_0_255"] = float(
        np.abs(result["images"] - low).mean() * 255
      )
      print(
        f"{label[:-5]:24s} |high - low| = "
        f"{entry['mean_abs_diff_to_low_0_255']:.1f} levels"
      )
    report["settings"][label] = entry
  with open(os.path.join(args.out_dir, "ranges.json"), "w") as f:
    json.dump(report, f, indent=1)
  grid = np.concatenate([np.concatenate(list(r), 1) for r in rows], 0)
  image_files.write_image(os.path.join(args.out_dir, "ranges.png"), grid)
  return 0


if __name__ == "__main__":
  sys.exit(main())
