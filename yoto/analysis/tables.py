"""The comparison of YOTO with fixed-weight models as a table.

One row per β of the eval grid, with the numbers behind both plots: each
method's two axis losses and full loss, and the full-loss differences to the
fixed model trained at that β. Written as CSV (full precision, for further
analysis) and as Markdown (rounded, for READMEs and notebooks). An empty cell
means "no such model" (no fixed model trained at that β).
"""

import csv
import math
import os
from typing import Dict, List, Optional, Sequence, Tuple

from yoto.analysis import frontier

Table = Tuple[List[str], List[Dict[str, Optional[float]]]]


def comparison_table(comparison: frontier.Comparison) -> Table:
  """(column names, rows) for a Comparison; missing numbers are None."""
  x, y = comparison.axes.x, comparison.axes.y
  columns = ["beta", "log2_beta"]
  methods = (
    ("yoto", lambda r: r.yoto),
    ("fixed", lambda r: r.fixed),
    ("single_model", lambda r: r.single_model),
  )
  for method, _ in methods:
    columns += [f"{method}_{x}", f"{method}_{y}", f"{method}_full_loss"]
  columns += ["yoto_minus_fixed", "single_model_minus_fixed"]
  rows = []
  for row in comparison.rows:
    values = {"beta": row.beta, "log2_beta": math.log2(row.beta)}
    for method, get in methods:
      point = get(row)
      values[f"{method}_{x}"] = None if point is None else point.x
      values[f"{method}_{y}"] = None if point is None else point.y
      values[f"{method}_full_loss"] = None if point is None else point.full_loss
    values["yoto_minus_fixed"] = row.yoto_gap
    values["single_model_minus_fixed"] = row.single_model_gap
    rows.append(values)
  return columns, rows


def _cell(value: Optional[float], digits: Optional[int]) -> str:
  if value is None:
    return ""
  if digits is None:
    return repr(float(value))
  return f"{value:.{digits}g}"


def to_csv(table: Table, path: str) -> str:
  """Writes the table as CSV at full precision; returns `path`."""
  columns, rows = table
  _make_parent(path)
  with open(path, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(columns)
    for row in rows:
      writer.writerow([_cell(row[c], None) for c in columns])
  return path


def to_markdown(
  table: Table, digits: int = 6, columns: Optional[Sequence[str]] = None
) -> str:
  """The table as a Markdown string, numbers to `digits` significant digits."""
  all_columns, rows = table
  columns = list(columns or all_columns)
  lines = [
    "| " + " | ".join(columns) + " |",
    "|" + "|".join("---:" for _ in columns) + "|",
  ]
  for row in rows:
    lines.append(
      "| " + " | ".join(_cell(row[c], digits) for c in columns) + " |"
    )
  return "\n".join(lines) + "\n"


def write_tables(
  table: Table, out_dir: str, basename: str = "comparison"
) -> Tuple[str, str]:
  """Writes `basename`.csv and `basename`.md into out_dir; returns paths."""
  csv_path = to_csv(table, os.path.join(out_dir, basename + ".csv"))
  md_path = os.path.join(out_dir, basename + ".md")
  with open(md_path, "w") as f:
    f.write(to_markdown(table))
  return csv_path, md_path


def _make_parent(path: str) -> None:
  parent = os.path.dirname(path)
  if parent:
    os.makedirs(parent, exist_ok=True)
