"""Hand-made model_dirs: metrics.jsonl rows and a run config, no training.

The losses of a fake VAE at weight β are whatever the test says; the full loss
is computed as the evaluator does (β · kl_loss + reconstruction_loss), so
tests know every number the analysis should produce.
"""

import json
import os

from yoto import run_config


def vae_weights(beta):
  return {"kl_loss": float(beta), "reconstruction_loss": 1.0}


def write_run(
  model_dir,
  losses,
  eval_betas,
  kind="yoto",
  train_beta=None,
  steps=(100,),
  splits=("train_full", "test"),
  train_weights_in_rows=False,
  legacy_config=False,
):
  """Writes a fake run's metrics and its run_config.json (or config.gin).

  Args:
    model_dir: directory to create.
    losses: fn(beta, step, split) -> (kl_loss, reconstruction_loss); for a
      fixed run it is called with the training β (the model ignores the eval
      weights).
    eval_betas: the β of the eval grid.
    kind: 'yoto' or 'fixed'.
    train_beta: the β a fixed run was trained at.
    steps: evaluated steps.
    splits: evaluated splits.
    train_weights_in_rows: also record the training weights in each row
      instead of relying on the run config alone.
    legacy_config: write a config.gin, as runs from before run_config.json
      did, instead of the record.

  Returns:
    model_dir as a string.
  """
  model_dir = str(model_dir)
  os.makedirs(model_dir, exist_ok=True)
  rows = []
  for step in steps:
    for split in splits:
      for beta in eval_betas:
        kl, rec = losses(train_beta if kind == "fixed" else beta, step, split)
        row = {
          "step": step,
          "split": split,
          "weights": vae_weights(beta),
          "values": {
            "kl_loss": kl,
            "reconstruction_loss": rec,
            "full_loss": beta * kl + rec,
          },
          "num_examples": 64,
          "model": kind,
        }
        if train_weights_in_rows and kind == "fixed":
          row["train_weights"] = vae_weights(train_beta)
        rows.append(row)
  with open(os.path.join(model_dir, "metrics.jsonl"), "w") as f:
    f.writelines(json.dumps(row) + "\n" for row in rows)
  if legacy_config:
    _write_config_gin(model_dir, kind, train_beta)
  else:
    run_config.write(
      model_dir,
      run_config.RunConfig(
        model=kind,
        loss_names=("kl_loss", "reconstruction_loss"),
        train_weights=vae_weights(train_beta) if kind == "fixed" else None,
        eval_weights=tuple(vae_weights(b) for b in eval_betas),
        dataset_name="photo_patches",
      ),
    )
  return model_dir


def _write_config_gin(model_dir, kind, train_beta):
  config = "experiment.dataset_name = 'photo_patches'\n"
  if kind == "fixed":
    config += (
      "experiment.optimizer_class = @LinearlyScalarizedOptimizer\n"
      "LinearlyScalarizedOptimizer.weights = \\\n"
      f"    {vae_weights(train_beta)!r}\n"
    )
  with open(os.path.join(model_dir, "config.gin"), "w") as f:
    f.write(config)


def tradeoff(beta, step=100, split="test"):
  """A smooth KL/reconstruction trade-off: more β, less KL, more rec."""
  del step, split
  return 10.0 / (1.0 + beta), 100.0 + 5.0 * beta


def write_sweep(
  root,
  yoto_losses=tradeoff,
  fixed_losses=tradeoff,
  eval_betas=(0.5, 2.0, 8.0),
  fixed_betas=(0.5, 8.0),
):
  """A YOTO run and one fixed run per β in `fixed_betas`, under `root`."""
  yoto = write_run(os.path.join(str(root), "yoto"), yoto_losses, eval_betas)
  fixed = [
    write_run(
      os.path.join(str(root), f"fixed_beta{b:g}"),
      fixed_losses,
      eval_betas,
      kind="fixed",
      train_beta=b,
    )
    for b in fixed_betas
  ]
  return yoto, fixed
