r"""Plots and tables of trained YOTO models, as PNG, CSV and Markdown files.

  # Figure 3: inputs, reconstructions and samples across β (shared noise).
  python -m yoto.plot grid --module=runs/photo_patches_yoto \
      --out=runs/photo_patches_yoto/plots/beta_grid.png

  # Figure 2: the frontier, the full-loss gaps and the table, against
  # fixed-weight models trained at some of the eval β.
  python -m yoto.plot frontier --yoto=runs/photo_patches_yoto \
      --fixed runs/photo_patches_fixed_beta2 runs/photo_patches_fixed_beta32 \
      --out_dir=runs/photo_patches_yoto/plots

`--module` takes a hub module or a model_dir (its latest module); the data
set and preprocessing default to those in the run's saved config. A bad
path, a run without metrics, or runs evaluated at different weights end the
command with one line on stderr and exit status 1.
"""

import os
import sys
from typing import List, Optional, Sequence

from yoto import run_config
from yoto.analysis import frontier
from yoto.analysis import metrics
from yoto.analysis import plots
from yoto.analysis import tables
from yoto.clients import paths as module_paths
from yoto.utils import arguments
from yoto.utils import image_files

COMMAND = "yoto.plot"
PLOTS_DIR = "plots"


def _parser() -> arguments.ArgumentParser:
  parser = arguments.ArgumentParser(
    COMMAND, description="Plots and tables of trained YOTO models."
  )
  commands = parser.add_subparsers(dest="command", required=True)

  grid = commands.add_parser(
    "grid", help="Inputs, reconstructions and samples across β (PNG)."
  )
  grid.add_argument(
    "--module",
    required=True,
    help="Hub module directory, or a model_dir (its latest exported module).",
  )
  grid.add_argument(
    "--out", help="PNG to write; default MODEL_DIR/plots/beta_grid.png."
  )
  grid.add_argument(
    "--betas",
    type=arguments.numbers,
    help="Comma-separated β, one row each; default 6 values "
    "log-spaced over the module's training range.",
  )
  grid.add_argument(
    "--num_examples",
    type=int,
    default=8,
    help="Input images (columns) to reconstruct.",
  )
  grid.add_argument(
    "--num_samples",
    type=int,
    default=8,
    help="Samples (columns) per β, from shared noise.",
  )
  grid.add_argument(
    "--dataset",
    help="TFDS dataset of the inputs; default "
    "the run's experiment.dataset_name, else photo_patches.",
  )
  grid.add_argument(
    "--split", default="test", help="train, valid, train_full or test."
  )
  grid.add_argument(
    "--preprocess",
    help="Preprocessing of the inputs; "
    "default the run's experiment.preprocess_eval, else "
    "'value_range(-1,1)'.",
  )
  grid.add_argument(
    "--data_dir", help="TFDS data_dir (default ~/tensorflow_datasets)."
  )
  grid.add_argument("--seed", type=int, default=0, help="Seed of the noise.")
  grid.add_argument(
    "--max_pixels",
    type=int,
    default=image_files.DEFAULT_MAX_PIXELS,
    help=image_files.MAX_PIXELS_HELP + " Applies to the "
    "files of a 'glob:PATTERN' --dataset.",
  )

  front = commands.add_parser(
    "frontier",
    help="Frontier and full-loss plots (PNG), table (CSV, "
    "Markdown) of a YOTO run against fixed-weight runs.",
  )
  front.add_argument("--yoto", required=True, help="model_dir of the YOTO run.")
  front.add_argument(
    "--fixed",
    nargs="+",
    action="extend",
    default=[],
    help="model_dirs of fixed-weight runs (space- or "
    "comma-separated, repeatable).",
  )
  front.add_argument(
    "--out_dir",
    help="Where to write frontier.png, "
    "full_loss.png, comparison.csv and comparison.md; "
    "default YOTO/plots.",
  )
  front.add_argument(
    "--step",
    type=int,
    help="Step of the YOTO run; "
    "default its latest evaluated one (fixed runs: latest).",
  )
  front.add_argument("--split", help="Eval split; default test, else valid.")
  front.add_argument(
    "--x_loss", default="kl_loss", help="Loss on the horizontal axis."
  )
  front.add_argument(
    "--y_loss", default="reconstruction_loss", help="Loss on the vertical axis."
  )
  front.add_argument(
    "--beta_loss",
    default="kl_loss",
    help="The axis loss whose relative weight is β.",
  )
  return parser


def _split_dirs(values: Sequence[str]) -> List[str]:
  return [d for value in values for d in value.split(",") if d]


def run_frontier(args) -> List[str]:
  """Writes the frontier and full-loss plots and the table; returns paths."""
  yoto, fixed = metrics.load_comparison(
    args.yoto, _split_dirs(args.fixed), step=args.step, split=args.split
  )
  axes = frontier.LossAxes(
    x=args.x_loss, y=args.y_loss, beta_loss=args.beta_loss
  )
  comparison = frontier.compare(yoto, fixed, axes)
  out_dir = args.out_dir or os.path.join(args.yoto, PLOTS_DIR)
  table = tables.comparison_table(comparison)
  paths = [
    plots.save(
      plots.frontier_figure(comparison), os.path.join(out_dir, "frontier.png")
    ),
    plots.save(
      plots.full_loss_figure(comparison), os.path.join(out_dir, "full_loss.png")
    ),
    *tables.write_tables(table, out_dir),
  ]
  print(tables.to_markdown(table))
  return paths


def run_grid(args) -> List[str]:
  """Writes the Figure-3 grid of a hub module; returns [path]."""
  # TensorFlow loads only for this command, keeping `frontier` quick.
  from yoto.analysis import vae_outputs  # pylint: disable=g-import-not-at-top
  from yoto.clients import vae  # pylint: disable=g-import-not-at-top

  path = module_paths.resolve_hub_module(args.module)
  model_dir = module_paths.model_dir_of_module(path)
  out = args.out or (
    model_dir and os.path.join(model_dir, PLOTS_DIR, "beta_grid.png")
  )
  if not out:
    raise ValueError(f"{path} is not inside a model_dir; pass --out.")
  if args.num_examples < 1 or args.num_samples < 1:
    raise ValueError("--num_examples and --num_samples must be positive.")
  config = run_config.read(model_dir) if model_dir else run_config.RunConfig()
  module = vae.VaeClient.load(path)
  betas = args.betas or vae_outputs.default_betas(module)
  vae_outputs.check_betas(module, betas)  # Before the slower data loading.
  images = vae_outputs.load_images(
    args.num_examples,
    args.dataset or config.dataset_name or vae_outputs.DEFAULT_DATASET,
    args.split,
    (
      args.preprocess
      or config.preprocess_eval
      or vae_outputs.DEFAULT_PREPROCESS
    ),
    data_dir=args.data_dir,
    max_pixels=args.max_pixels,
  )
  grid = vae_outputs.beta_grid(
    module, images, betas, args.num_samples, seed=args.seed
  )
  return [
    plots.save(
      plots.image_grid_figure(
        grid, max_columns=max(args.num_examples, args.num_samples)
      ),
      out,
    )
  ]


def _expected_errors():
  errors = (ValueError, OSError)
  if "tensorflow" in sys.modules:  # Loaded by `grid`: a bad module or data.
    errors += (sys.modules["tensorflow"].errors.OpError,)
  return errors


_COMMANDS = {"grid": run_grid, "frontier": run_frontier}


def draw(argv: Sequence[str]) -> List[str]:
  """Runs one subcommand (argv without the program name); returns the paths
  it wrote. A user error raises (`arguments.UsageError`, ValueError, ...)."""
  args = _parser().parse_args(list(argv))
  return _COMMANDS[args.command](args)


def _execute(args) -> str:
  return "\n".join(f"wrote {path}" for path in _COMMANDS[args.command](args))


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Runs one subcommand; returns the exit status (1 on a user error)."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  return arguments.run(
    COMMAND,
    _parser(),
    _execute,
    sys.argv[1:] if argv is None else argv,
    _expected_errors,
  )


if __name__ == "__main__":
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  arguments.run_app(COMMAND, _parser, _execute, _expected_errors)
