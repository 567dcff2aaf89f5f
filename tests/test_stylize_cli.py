"""`python -m yoto.stylize` against a tiny trained module: outputs and errors."""

import numpy as np
import PIL.Image
import pytest
import tiny_style_runs

from yoto import stylize


@pytest.fixture(name="module_dir", scope="module")
def module_dir_fixture(tmp_path_factory):
  return tiny_style_runs.get(tmp_path_factory).model_dir


@pytest.fixture(name="images")
def images_fixture(tmp_path):
  rng = np.random.default_rng(0)
  content = tmp_path / "content.png"
  style = tmp_path / "style.jpg"
  PIL.Image.fromarray(rng.integers(0, 255, (30, 44, 3), np.uint8)).save(content)
  PIL.Image.fromarray(rng.integers(0, 255, (50, 50, 3), np.uint8)).save(style)
  return str(content), str(style)


def _run(module_dir, images, *extra):
  content, style = images
  return stylize.main(
    [
      f"--module={module_dir}",
      f"--content={content}",
      f"--style={style}",
      *extra,
    ]
  )


def test_stylize_writes_an_image_of_the_content_size(
  module_dir, images, tmp_path, capsys
):
  out = tmp_path / "out.png"
  assert (
    _run(
      module_dir,
      images,
      "--content_weight=10",
      "--style_weights=1e-5,1e-3,0.1,1",
      str(out),
    )
    == 0
  )
  assert "content_weight=10" in capsys.readouterr().out
  with PIL.Image.open(out) as image:
    assert image.size == (44, 30) and image.mode == "RGB"
  other = tmp_path / "other.png"
  assert _run(module_dir, images, "--content_weight=0.1", str(other)) == 0
  assert (
    np.abs(
      np.asarray(PIL.Image.open(out), float)
      - np.asarray(PIL.Image.open(other), float)
    ).max()
    > 0
  )


def test_grid_over_two_weights_writes_a_figure(
  module_dir, images, tmp_path, capsys
):
  out = tmp_path / "grid.png"
  assert (
    _run(
      module_dir,
      images,
      "--grid=content_weight,style_weight_3",
      "--grid_size=2",
      str(out),
    )
    == 0
  )
  assert "2x2 grid" in capsys.readouterr().out
  with PIL.Image.open(out) as image:
    assert image.size[0] > 200 and image.size[1] > 150


@pytest.mark.parametrize(
  "extra, message",
  [
    (["--content_weight=1000"], "content_weight=1000 is outside ["),
    (["--style_weights=1e-3,1e-3"], "needs 4 values"),
    (["--content_weight=0"], "must be a positive number"),
    (
      ["--grid=content_weight,total_variation_weight"],
      "Unknown grid weight 'total_variation_weight'",
    ),
    (["--grid=content_weight"], "takes two weight names"),
  ],
)
def test_bad_weights_give_one_line_errors(
  module_dir, images, tmp_path, capsys, extra, message
):
  assert _run(module_dir, images, *extra, str(tmp_path / "x.png")) == 1
  err = capsys.readouterr().err
  assert err.startswith("yoto.stylize: error: ") and len(err.splitlines()) == 1
  assert message in err and "Traceback" not in err


def test_bad_images_and_modules_give_one_line_errors(
  module_dir, images, tmp_path, capsys
):
  text = tmp_path / "notes.png"
  text.write_text("not an image")
  assert _run(module_dir, (str(text), images[1]), str(tmp_path / "x.png")) == 1
  assert "is not a readable image" in capsys.readouterr().err
  assert (
    _run(
      module_dir,
      (images[0], str(tmp_path / "missing.png")),
      str(tmp_path / "x.png"),
    )
    == 1
  )
  assert "does not exist" in capsys.readouterr().err
  tiny = tmp_path / "tiny.png"
  PIL.Image.fromarray(np.zeros((4, 30, 3), np.uint8)).save(tiny)
  assert _run(module_dir, (str(tiny), images[1]), str(tmp_path / "x.png")) == 1
  assert "at least 8x8" in capsys.readouterr().err
  assert _run(str(tmp_path), images, str(tmp_path / "x.png")) == 1
  assert "neither a hub module" in capsys.readouterr().err
