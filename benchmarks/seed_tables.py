"""Markdown tables of the reproduction protocol, shared by every script.

A reproduction compares methods (YOTO variants) with fixed-weight models at
each label (β for the β-VAE, λ for the codec) over seeds
(`yoto.analysis.seed_statistics`): these tables print the gaps with their
intervals beside the fixed models' own seed spread, and each model's
convergence statement.
"""

from typing import Any, Callable, List, Mapping, Optional

import numpy as np

from benchmarks import common
from yoto.analysis import seed_statistics


def interval_cell(
  value: Optional[seed_statistics.Interval],
  digits: int = 1,
  relative: Optional[float] = None,
) -> str:
  """'+m ± h' (and the relative gap in percent); '' for no value."""
  if value is None:
    return ""
  text = value.format(digits, sign=True)
  return text + (f" ({100 * relative:+.1f} %)" if relative is not None else "")


def gap_markdown(
  rows: List[dict],
  baseline: Optional[str] = None,
  method_steps: Optional[Mapping[str, int]] = None,
  label: str = "β",
  digits: int = 1,
  label_text: Optional[Callable[[Any], str]] = None,
  reference: str = "fixed",
) -> str:
  """`seed_statistics.gap_rows` as a table. Rows: the reference's loss
  and noise floor (named `reference`: the fixed models, or e.g. the
  sweep's envelope), then every method's gap; columns: each label (named
  by `label_text`, by default '<label> = <value>'), then the mean over
  labels."""
  method_steps = method_steps or {}
  methods = list(rows[0]["gaps"]) if rows else []
  text = label_text or (lambda value: f"{label} = {value:g}")
  header = ["", *[text(r["label"]) for r in rows], f"mean over {label}"]
  fixed = (
    [f"{reference} full loss"]
    + [r["fixed"].format(digits) if r["fixed"] else "" for r in rows]
    + [""]
  )
  floor = (
    [f"{reference} seed-to-seed sd (noise floor)"]
    + [
      f"{r['fixed'].std:.{digits}f}"
      if r["fixed"] and r["fixed"].std is not None
      else ""
      for r in rows
    ]
    + [""]
  )
  table = [fixed, floor]
  for method in methods:
    gaps = [r["gaps"][method] for r in rows]
    means = [g.mean for g in gaps if g is not None]
    name = f"single model ({baseline})" if method == "single_model" else method
    if method in method_steps:
      name += f" (at step {method_steps[method]})"
    table.append(
      [name]
      + [
        interval_cell(g, digits, r["relative"][method])
        for g, r in zip(gaps, rows)
      ]
      + [f"{np.mean(means):+.{digits}f}" if means else ""]
    )
  return common.markdown_table(header, table)


def gap_steps_markdown(
  by_label: Mapping[Any, Mapping[int, seed_statistics.Interval]],
  label_text: Callable[[Any], str],
) -> str:
  """A method's gap to the fixed model against training steps, relative to
  the fixed loss (`by_label`: label -> `seed_statistics.relative_gap_curve`):
  one row per evaluated step, one column per label in label order (named
  by `label_text`), each cell 'mean ± 95 % interval %' over seeds; '' when
  there is no gap at any step."""
  labels = sorted(by_label)
  steps = sorted({s for gaps in by_label.values() for s in gaps})
  if not steps:
    return ""
  cell = lambda gap: (
    "" if gap is None else gap.scaled(100).format(1, True) + " %"
  )
  return common.markdown_table(
    ["step", *[label_text(label) for label in labels]],
    [
      [str(step)] + [cell(by_label[label].get(step)) for label in labels]
      for step in steps
    ],
  )


def convergence_markdown(
  statements: Mapping[str, Optional[dict]],
  label: str = "β",
  unit: str = "nats",
  digits: int = 1,
  label_text: Optional[Callable[[Any], str]] = None,
) -> str:
  """One row per model: its `seed_statistics.model_convergence` (its worst
  label named by `label_text`, by default the value)."""
  text = label_text or (lambda value: f"{value:g}")
  rows = []
  for model, statement in statements.items():
    if statement is None:
      rows.append([model, "", "", "", "fewer than 3 evaluations"])
      continue
    relative = statement["relative_change"]
    rows.append(
      [
        model,
        text(statement["label"]),
        f"{statement['last_quarter_change']:+.{digits}f}",
        "" if relative is None else f"{100 * relative:+.2f} %",
        f"{100 * statement['share_of_improvement']:.1f} %"
        + ("" if statement["plateaued"] else " **not plateaued**"),
      ]
    )
  return common.markdown_table(
    [
      "model",
      f"worst {label}",
      f"last-quarter change ({unit})",
      "relative change",
      "share of the run's improvement",
    ],
    rows,
  )


def cpu_markdown(
  cpu: Mapping[str, Optional[float]],
  num_fixed: int,
  fixed_models: str = "fixed models",
) -> str:
  """The CPU time of the fixed sweep against each YOTO model, as a
  paragraph ('' without the sweep's time); `cpu` is
  `seed_comparison.cpu_summary`."""
  sweep = cpu.get("fixed_sweep")
  if not sweep:
    return ""
  return (
    f"\nCPU time per seed: the {num_fixed} {fixed_models} together "
    f"{sweep:.0f} s; "
    + ", ".join(
      f"{name} {seconds:.0f} s ({sweep / seconds:.1f}x less)"
      for name, seconds in cpu.items()
      if name != "fixed_sweep" and seconds
    )
    + ".\n"
  )


def seconds_line(timings: Mapping[str, Mapping[int, dict]]) -> str:
  """Mean wall and CPU seconds per model (training, evaluation, export)."""
  parts = []
  for name, per_seed in timings.items():
    wall = np.mean([t["seconds"] for t in per_seed.values()])
    cpu = np.mean([t.get("cpu_seconds", 0.0) for t in per_seed.values()])
    parts.append(f"{name} {wall:.0f} ({cpu:.0f} CPU)")
  return (
    "Training + evaluation + export time per model, mean over seeds, "
    "s (CPU s): " + ", ".join(parts) + "\n"
  )
