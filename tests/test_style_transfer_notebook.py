"""colabs/plot_yoto_style_transfer.ipynb runs headless (test_notebooks checks
that it is committed clean)."""

import pytest

# The kernel spec fixture and helpers of the other notebooks' tests.
from test_notebooks import _execute
from test_notebooks import _outputs
from test_notebooks import _text
from test_notebooks import kernel_name_fixture  # noqa: F401  pylint: disable=unused-import
import tiny_style_runs

NOTEBOOK = "plot_yoto_style_transfer.ipynb"


@pytest.fixture(name="module_dir", scope="module")
def module_dir_fixture(tmp_path_factory):
  return tiny_style_runs.get(tmp_path_factory).model_dir


def test_notebook_stylizes_and_draws_the_grid(
  module_dir, kernel_name, tmp_path
):
  notebook = _execute(
    NOTEBOOK,
    {
      "HUB_PATH": module_dir,
      "CONTENT": "chelsea",
      "STYLE": "mosaic_coffee",
      "SIZE": 32,
      "CONTENT_WEIGHT": 10.0,
      "GRID_SIZE": 2,
    },
    kernel_name,
    tmp_path,
  )
  text = _text(notebook)
  assert "hub_modules/step-000000002" in text
  assert "content_weight=10" in text
  # Content, style, the stylized image (or the slider output) and the grid.
  assert len(_outputs(notebook, "image/png")) >= 3
