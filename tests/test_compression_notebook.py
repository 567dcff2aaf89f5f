"""colabs/plot_yoto_compression.ipynb runs headless (test_notebooks checks
that it is committed clean).

Executed with papermill against the tiny compression runs
(tests/tiny_compression_runs.py), in the kernel set up by test_notebooks.
"""

import os

import pytest
import tiny_compression_runs
from test_notebooks import _execute
from test_notebooks import _outputs
from test_notebooks import _text
from test_notebooks import kernel_name_fixture  # noqa: F401  # pylint: disable=unused-import

NAME = "plot_yoto_compression.ipynb"


@pytest.fixture(name="runs", scope="module")
def runs_fixture(tmp_path_factory):
  return tiny_compression_runs.get(tmp_path_factory)


def test_notebook_shows_lambda_sweep_and_rate_distortion_plot(
  runs, kernel_name, tmp_path
):
  out_dir = str(tmp_path / "plots")
  notebook = _execute(
    NAME,
    {
      "HUB_PATH": runs.yoto_dir,
      "LAMBDAS": [0.0012, 0.26],
      "FIXED_DIRS": [runs.fixed_dir],
      "OUT_DIR": out_dir,
    },
    kernel_name,
    tmp_path,
  )
  assert len(_outputs(notebook, "image/png")) == 2
  text = _text(notebook)
  assert runs.yoto_module in text and "bpp" in text
  for name in ("lambda_sweep.png", "rate_distortion.png"):
    assert os.path.getsize(os.path.join(out_dir, name)) > 1000
