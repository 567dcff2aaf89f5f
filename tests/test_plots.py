"""Tests of yoto.analysis.plots: PNGs exist, and show the data they get."""

import io
import os

import fake_runs
from matplotlib import image as mpl_image
import numpy as np
import pytest

from yoto.analysis import frontier
from yoto.analysis import metrics
from yoto.analysis import plots
from yoto.analysis import vae_outputs


def _pixels(figure):
  png = plots.to_png(figure)
  assert png.startswith(b"\x89PNG") and len(png) > 1000
  return mpl_image.imread(io.BytesIO(png), format="png")


def _comparison(root, yoto_losses=fake_runs.tradeoff, fixed_betas=(0.5, 8.0)):
  yoto_dir, fixed_dirs = fake_runs.write_sweep(
    root,
    yoto_losses=yoto_losses,
    eval_betas=(0.5, 2.0, 8.0, 32.0),
    fixed_betas=fixed_betas,
  )
  return frontier.compare(*metrics.load_comparison(yoto_dir, fixed_dirs))


def _worse(beta, *_):
  kl, rec = fake_runs.tradeoff(beta)
  return 2 * kl, rec + 30 * np.sqrt(beta)


def test_frontier_and_full_loss_pngs_change_with_the_data(tmp_path):
  good = _comparison(tmp_path / "good")
  worse = _comparison(tmp_path / "worse", yoto_losses=_worse)
  for make in (plots.frontier_figure, plots.full_loss_figure):
    a, b = _pixels(make(good)), _pixels(make(worse))
    assert a.std() > 0.01  # Not a blank canvas.
    assert a.shape != b.shape or np.abs(a - b).mean() > 1e-3


def test_save_writes_a_png_file(tmp_path):
  path = plots.save(
    plots.frontier_figure(_comparison(tmp_path)),
    str(tmp_path / "plots" / "frontier.png"),
  )
  assert os.path.getsize(path) > 1000
  with open(path, "rb") as f:
    assert f.read(4) == b"\x89PNG"


def test_full_loss_figure_without_fixed_models_at_grid_betas(tmp_path):
  comparison = _comparison(tmp_path, fixed_betas=())
  assert _pixels(plots.full_loss_figure(comparison)).std() > 0.01


def test_tile_lays_rows_and_columns_out_with_padding():
  rows = np.zeros((2, 3, 4, 5, 1), np.float32)
  rows[1, 2] = 0.5
  mosaic = plots.tile(rows, pad=2, fill=1.0)
  assert mosaic.shape == (2 * 6 - 2, 3 * 7 - 2, 1)
  assert mosaic[4, 0, 0] == 1.0  # Padding between rows.
  np.testing.assert_array_equal(mosaic[6:10, 14:19], 0.5)


def test_to_unit_range_maps_and_clips():
  np.testing.assert_allclose(
    plots.to_unit_range(np.array([-2.0, -1.0, 0.0, 1.0]), (-1, 1)),
    [0.0, 0.0, 0.5, 1.0],
  )


def _grid(seed, channels=3, betas=(0.5, 8.0, 128.0)):
  rng = np.random.default_rng(seed)
  shape = (4, 8, 8, channels)
  return vae_outputs.BetaGrid(
    betas=np.array(betas),
    inputs=rng.uniform(-1, 1, shape),
    reconstructions=rng.uniform(-1, 1, (len(betas),) + shape),
    samples=rng.uniform(-1, 1, (len(betas),) + shape),
    value_range=(-1.0, 1.0),
    title="test grid",
  )


@pytest.mark.parametrize(
  "make",
  [
    plots.image_grid_figure,
    plots.inputs_figure,
    plots.reconstructions_figure,
    plots.samples_figure,
  ],
)
def test_image_figures_change_with_the_images(make):
  a, b = _pixels(make(_grid(0))), _pixels(make(_grid(1)))
  assert a.std() > 0.01
  assert a.shape == b.shape and np.abs(a - b).mean() > 1e-3


def test_image_grid_of_dark_and_bright_images_differs_in_brightness():
  dark, bright = _grid(0), _grid(0)
  for grid, value in ((dark, -0.8), (bright, 0.8)):
    grid.inputs[:] = value
    grid.reconstructions[:] = value
    grid.samples[:] = value
  dark_pixels = _pixels(plots.image_grid_figure(dark))
  bright_pixels = _pixels(plots.image_grid_figure(bright))
  assert bright_pixels[..., :3].mean() > dark_pixels[..., :3].mean() + 0.05


def test_image_grid_of_grayscale_images():
  assert _pixels(plots.image_grid_figure(_grid(0, channels=1))).std() > 0.01
