"""The notebooks in colabs/: committed clean, and they run headless.

Each notebook is executed once with papermill against a hub module and
metrics files from a tiny training run (tests/tiny_runs.py), in a Jupyter
kernel that is this interpreter: the kernel spec is written to a temporary
JUPYTER_PATH entry, so no other installed `python3` kernel can be picked.
"""

import json
import os
import sys

import nbformat
import papermill
import pytest
import tiny_runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLABS = os.path.join(ROOT, "colabs")
NOTEBOOKS = ("plot_yoto_vae.ipynb", "plot_yoto_frontier.ipynb")
KERNEL = "yoto-tests-python"


# Every notebook in colabs/, this module's and the other notebook tests'.
ALL_NOTEBOOKS = tuple(
  sorted(n for n in os.listdir(COLABS) if n.endswith(".ipynb"))
)


def test_the_clean_check_sees_every_notebook():
  assert set(NOTEBOOKS) < set(ALL_NOTEBOOKS)
  assert {
    "plot_yoto_compression.ipynb",
    "plot_yoto_style_transfer.ipynb",
  } < set(ALL_NOTEBOOKS)


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_notebook_is_committed_without_outputs_and_with_parameters(name):
  notebook = nbformat.read(os.path.join(COLABS, name), as_version=4)
  nbformat.validate(notebook)
  code = [c for c in notebook.cells if c.cell_type == "code"]
  assert all(not c.outputs and c.execution_count is None for c in code)
  tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
  assert len(tagged) == 1


@pytest.fixture(name="kernel_name", scope="module")
def kernel_name_fixture(tmp_path_factory):
  """A kernel spec for sys.executable, found first via JUPYTER_PATH."""
  data_dir = tmp_path_factory.mktemp("jupyter")
  spec_dir = data_dir / "kernels" / KERNEL
  spec_dir.mkdir(parents=True)
  (spec_dir / "kernel.json").write_text(
    json.dumps(
      {
        "argv": [
          sys.executable,
          "-m",
          "ipykernel_launcher",
          "-f",
          "{connection_file}",
        ],
        "display_name": "yoto tests",
        "language": "python",
      }
    )
  )
  with pytest.MonkeyPatch.context() as patch:
    patch.setenv("JUPYTER_PATH", str(data_dir))
    yield KERNEL


@pytest.fixture(name="runs", scope="module")
def runs_fixture(tmp_path_factory):
  return tiny_runs.get(tmp_path_factory)


def _execute(name, parameters, kernel_name, tmp_path):
  output = str(tmp_path / name)
  papermill.execute_notebook(
    os.path.join(COLABS, name),
    output,
    parameters=parameters,
    kernel_name=kernel_name,
    cwd=COLABS,
    progress_bar=False,
    execution_timeout=300,
  )
  return nbformat.read(output, as_version=4)


def _outputs(notebook, mime):
  return [
    o
    for c in notebook.cells
    if c.cell_type == "code"
    for o in c.get("outputs", [])
    if mime in o.get("data", {})
  ]


def _text(notebook):
  return "".join(
    o.get("text", "")
    for c in notebook.cells
    if c.cell_type == "code"
    for o in c.get("outputs", [])
  )


def test_vae_notebook_shows_inputs_reconstructions_and_samples(
  runs, kernel_name, tmp_path
):
  notebook = _execute(
    "plot_yoto_vae.ipynb",
    {
      "HUB_PATH": runs.hub_module,
      "BETAS": [0.5, 8.0, 128.0],
      "NUM_EXAMPLES": 4,
    },
    kernel_name,
    tmp_path,
  )
  # Inputs, reconstructions, samples and the combined grid.
  assert len(_outputs(notebook, "image/png")) == 4
  assert runs.hub_module in _text(notebook)


def test_frontier_notebook_draws_both_plots_and_the_table(
  runs, kernel_name, tmp_path
):
  out_dir = str(tmp_path / "plots")
  notebook = _execute(
    "plot_yoto_frontier.ipynb",
    {
      "YOTO_DIR": runs.yoto_dir,
      "FIXED_DIRS": [runs.fixed_dir],
      "OUT_DIR": out_dir,
    },
    kernel_name,
    tmp_path,
  )
  assert len(_outputs(notebook, "image/png")) == 2
  markdown = _outputs(notebook, "text/markdown")
  assert (
    len(markdown) == 1 and "| beta |" in markdown[0]["data"]["text/markdown"]
  )
  for name in (
    "frontier.png",
    "full_loss.png",
    "comparison.csv",
    "comparison.md",
  ):
    assert os.path.getsize(os.path.join(out_dir, name)) > 100
