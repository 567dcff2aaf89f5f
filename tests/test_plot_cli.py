"""Tests of `python -m yoto.plot`: files written, and clear errors."""

import csv
import os
import subprocess
import sys

import fake_runs
import image_headers
import pytest
import tiny_runs

from yoto import plot
from yoto.clients import vae

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(capsys, *argv):
  code = plot.main(list(argv))
  out, err = capsys.readouterr()
  return code, out, err


def _assert_user_error(code, err, *fragments):
  assert code == 1
  assert err.startswith("yoto.plot: error: ")
  assert "Traceback" not in err
  for fragment in fragments:
    assert fragment in err


def test_frontier_writes_plots_and_tables(tmp_path, capsys):
  yoto_dir, fixed_dirs = fake_runs.write_sweep(tmp_path)
  out_dir = str(tmp_path / "out")
  code, out, _ = _run(
    capsys,
    "frontier",
    f"--yoto={yoto_dir}",
    "--fixed",
    fixed_dirs[0],
    f"--fixed={fixed_dirs[1]}",
    f"--out_dir={out_dir}",
  )
  assert code == 0
  for name in (
    "frontier.png",
    "full_loss.png",
    "comparison.csv",
    "comparison.md",
  ):
    path = os.path.join(out_dir, name)
    assert os.path.getsize(path) > 100, name
    assert f"wrote {path}" in out
  with open(os.path.join(out_dir, "comparison.csv")) as f:
    rows = list(csv.DictReader(f))
  assert [float(r["beta"]) for r in rows] == [0.5, 2.0, 8.0]
  assert float(rows[0]["yoto_minus_fixed"]) == 0.0  # Same losses as fixed.
  assert "| beta | log2_beta |" in out  # The table is printed too.


def test_frontier_defaults_to_yoto_plots_and_takes_comma_lists(
  tmp_path, capsys
):
  yoto_dir, fixed_dirs = fake_runs.write_sweep(tmp_path)
  code, _, _ = _run(
    capsys, "frontier", f"--yoto={yoto_dir}", f"--fixed={','.join(fixed_dirs)}"
  )
  assert code == 0
  assert os.path.exists(os.path.join(yoto_dir, "plots", "frontier.png"))


def test_frontier_with_a_bad_path_or_no_metrics(tmp_path, capsys):
  code, _, err = _run(capsys, "frontier", f"--yoto={tmp_path / 'missing'}")
  _assert_user_error(code, err, "is not a directory")
  code, _, err = _run(capsys, "frontier", f"--yoto={tmp_path}")
  _assert_user_error(code, err, "has no metrics.jsonl")


def test_frontier_with_mismatched_eval_weights(tmp_path, capsys):
  yoto_dir = fake_runs.write_run(
    tmp_path / "yoto", fake_runs.tradeoff, (0.5, 8.0)
  )
  fixed_dir = fake_runs.write_run(
    tmp_path / "fixed",
    fake_runs.tradeoff,
    (0.5, 4.0),
    kind="fixed",
    train_beta=0.5,
  )
  code, _, err = _run(
    capsys, "frontier", f"--yoto={yoto_dir}", f"--fixed={fixed_dir}"
  )
  _assert_user_error(code, err, "Mismatched eval weights")


def test_errors_print_one_line_and_no_traceback_from_the_shell(tmp_path):
  result = subprocess.run(
    [
      sys.executable,
      "-m",
      "yoto.plot",
      "frontier",
      f"--yoto={tmp_path / 'missing'}",
    ],
    cwd=ROOT,
    capture_output=True,
    text=True,
    check=False,
  )
  assert result.returncode == 1
  assert result.stderr.strip().splitlines() == [
    f"yoto.plot: error: {tmp_path / 'missing'} is not a directory; pass "
    "the model_dir of a training run."
  ]


def test_grid_with_a_bad_module_path(tmp_path, capsys):
  code, _, err = _run(capsys, "grid", f"--module={tmp_path / 'missing'}")
  _assert_user_error(code, err, "No such hub module")


def _fake_module(tmp_path, monkeypatch):
  """A module_dir whose (patched) loader gives a VAE module trained on
  β in [0.5, 512], without a SavedModel; returns its path."""
  module_dir = tmp_path / "run" / "hub_modules" / "step-000000001"
  module_dir.mkdir(parents=True)
  (module_dir / "saved_model.pb").write_bytes(b"")
  metadata = {
    "latent_dimensions": 2,
    "preprocessing": "log",
    "loss_names": ["kl_loss", "reconstruction_loss"],
    "ranges": {"kl_loss": [0.5, 512.0], "reconstruction_loss": [1.0, 1.0]},
  }
  monkeypatch.setattr(
    vae.VaeClient,
    "load",
    classmethod(lambda cls, path: cls(path, None, metadata)),
  )
  return module_dir


def test_grid_rejects_betas_outside_the_training_range(
  tmp_path, capsys, monkeypatch
):
  module_dir = _fake_module(tmp_path, monkeypatch)
  code, _, err = _run(
    capsys, "grid", f"--module={module_dir}", "--betas=8,1024"
  )
  _assert_user_error(code, err, "β=1024 is outside [0.5, 512]")


def test_grid_refuses_an_oversized_input_image(tmp_path, capsys, monkeypatch):
  """A 'glob:' dataset holding a 30000 x 30000 PNG: one line and exit 1,
  from the header, before anything is decoded."""
  module_dir = _fake_module(tmp_path, monkeypatch)
  images = tmp_path / "images"
  images.mkdir()
  for name in ("a", "b", "c"):
    (images / f"{name}.png").write_bytes(image_headers.png_header(30000, 30000))
  code, _, err = _run(
    capsys,
    "grid",
    f"--module={module_dir}",
    "--betas=8",
    f"--dataset=glob:{images}/*.png",
    f"--out={tmp_path / 'grid.png'}",
  )
  _assert_user_error(code, err, "30000x30000", "--max_pixels")


@pytest.fixture(name="runs", scope="module")
def runs_fixture(tmp_path_factory):
  return tiny_runs.get(tmp_path_factory)


def test_grid_of_a_trained_model_dir_writes_the_figure(runs, capsys):
  code, out, _ = _run(
    capsys,
    "grid",
    f"--module={runs.yoto_dir}",
    "--betas=0.5,8,128",
    "--num_examples=4",
    "--num_samples=4",
  )
  assert code == 0
  path = os.path.join(runs.yoto_dir, "plots", "beta_grid.png")
  assert f"wrote {path}" in out
  with open(path, "rb") as f:
    png = f.read()
  assert png.startswith(b"\x89PNG") and len(png) > 5000
