"""The generated style set is deterministic and varied; folders load too."""

import numpy as np
import PIL.Image
import pytest

from yoto.utils import styles


def test_generated_styles_are_deterministic_and_differ_from_each_other():
  first = {
    n: styles.generate_style(n, 32) for n in styles.generated_style_names()
  }
  again = {n: styles.generate_style(n, 32) for n in first}
  for name, image in first.items():
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image, again[name])
    assert image.std() > 20, f"{name} is nearly flat"
  names = list(first)
  for i, a in enumerate(names):
    for b in names[i + 1 :]:
      difference = np.abs(first[a].astype(float) - first[b]).mean()
      assert difference > 15, (a, b, difference)
  # Colour statistics differ too, not only the pixel layout.
  means = np.array([first[n].reshape(-1, 3).mean(0) for n in names])
  assert len({tuple(np.round(m / 8)) for m in means}) == len(names)


def test_the_generated_set_holds_out_two_styles_by_name():
  style_set = styles.load_style_set("generated", 16)
  assert style_set.images.shape == (8, 16, 16, 3)
  assert style_set.images.dtype == np.float32
  assert 0 <= style_set.images.min() and style_set.images.max() <= 1
  held = [style_set.names[i] for i in style_set.held_out_indices]
  assert held == list(styles.HELD_OUT_GENERATED)
  assert len(style_set.train_indices) == 6
  assert style_set.eval_indices("held_out") == style_set.held_out_indices
  assert style_set.eval_indices("all") == list(range(8))
  with pytest.raises(ValueError, match="at least one must remain"):
    styles.load_style_set("generated", 16, held_out=8)
  with pytest.raises(ValueError, match="not in the style set"):
    styles.load_style_set("generated", 16, held_out=["starry_night"])


def test_a_folder_of_images_is_cropped_resized_and_split(tmp_path):
  rng = np.random.default_rng(0)
  for name, size in [("a", (40, 30)), ("b", (20, 50)), ("c", (64, 64))]:
    pixels = rng.integers(0, 255, size + (3,), dtype=np.uint8)
    PIL.Image.fromarray(pixels).save(tmp_path / f"{name}.png")
  PIL.Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "d.png")
  style_set = styles.load_style_set(str(tmp_path / "*.png"), 24, held_out=1)
  assert style_set.names == ("a", "b", "c", "d")
  assert style_set.images.shape == (4, 24, 24, 3)
  assert style_set.held_out == (False, False, False, True)
  # No held-out styles by default: evaluation uses the training styles.
  default = styles.load_style_set(str(tmp_path / "*.png"), 24)
  assert default.eval_indices("held_out") == [0, 1, 2, 3]


def test_bad_style_globs_and_files_are_reported(tmp_path):
  with pytest.raises(ValueError, match="No style images match"):
    styles.load_style_set(str(tmp_path / "*.jpg"), 16)
  (tmp_path / "broken.jpg").write_text("not an image")
  with pytest.raises(ValueError, match="broken.jpg is not a readable image"):
    styles.load_style_set(str(tmp_path / "*.jpg"), 16)
  with pytest.raises(ValueError, match="Unknown generated style"):
    styles.generate_style("starry_night", 16)
