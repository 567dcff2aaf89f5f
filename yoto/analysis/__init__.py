"""Looking at trained models: metrics, frontiers, tables, plots.

  metrics      eval rows of runs (`model_dir/metrics.jsonl`): pick a step and
               split, pair a YOTO run with fixed-weight runs, check they fit.
  frontier     Pareto frontiers and the full-loss comparison of the paper.
  tables       the comparison as rows, CSV and Markdown.
  vae_outputs  inputs, reconstructions and samples of a VAE hub module
               across β (TensorFlow; imported only when needed).
  plots        matplotlib figures of all of the above, saved as PNG.

`python -m yoto.plot` is the command-line entry point.
"""
