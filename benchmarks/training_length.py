r"""Does training longer change a reproduction's comparison?

The protocol's convergence statement looks at the last quarter of one run. A
run whose learning rate decays (the codec's 10x at half and at three
quarters) is flat there by construction, however far from converged it is:
the 4000-step fixed codecs pass that test, and yet a YOTO codec trained five
times as long beats them by a wide margin. The honest test is a longer run.
This script compares every finished model of a reproduction at each training
length it was run for:

  python -m benchmarks.training_length \
      --model_root=/work/runs/reproduce_compression --name=compression

It reads `<model_root>/steps<N>/seed<k>/<model>/metrics.jsonl` of every
finished run (a FINISHED marker), takes each run's last evaluation on the
test split, and groups runs by the steps they trained (that last step, so a
`yoto_same_compute` model of the 4000-step reproduction counts as a 20000-step
YOTO model). The fixed-weight runs give the baseline at each weight vector
and length; `--yoto` names the runs that are the same YOTO model at different
lengths. Two tables: each fixed model's test full loss by training length
(and the change from the shortest), and YOTO − fixed at equal length, mean
± 95 % interval over the seeds both have.
"""

import collections
import glob
import math
import os
import re
import sys
from typing import Dict, List, Mapping, Optional, Sequence

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import common
from benchmarks import seed_tables
from yoto.analysis import metrics
from yoto.analysis import seed_statistics
from yoto.training import experiment as experiment_lib
# pylint: enable=g-import-not-at-top,wrong-import-position

SPLIT = "test"
FULL_LOSS = "full_loss"
_SEED_DIR = re.compile(r"seed(\d+)$")

# weights key -> steps -> seed -> full loss.
Table = Dict[metrics.WeightsKey, Dict[int, Dict[int, float]]]


def finished_runs(model_root: str) -> List[tuple]:
  """(seed, RunMetrics at its last test evaluation) of every finished run
  under `model_root`/steps*/seed*/."""
  runs = []
  for directory in sorted(
    glob.glob(os.path.join(model_root, "steps*", "seed*", "*"))
  ):
    match = _SEED_DIR.search(os.path.dirname(directory))
    if not match or not os.path.exists(experiment_lib.finished_path(directory)):
      continue
    try:
      run = metrics.load_run(directory, split=SPLIT)
    except metrics.MetricsError:
      continue
    runs.append((int(match.group(1)), run))
  return runs


def tables(runs: Sequence[tuple], yoto_names: Sequence[str]):
  """(fixed, yoto) tables of final test full loss: a fixed run at the
  weights it was trained with, a YOTO run named in `yoto_names` at every
  fixed run's weights. Raises ValueError for two YOTO runs of one length and
  seed (the table could not tell which is meant)."""
  fixed: Table = collections.defaultdict(lambda: collections.defaultdict(dict))
  for seed, run in runs:
    if run.kind == metrics.FIXED and run.train_weights:
      key = metrics.weights_key(run.train_weights)
      fixed[key][run.step][seed] = run.own_values()[FULL_LOSS]
  yoto: Table = collections.defaultdict(lambda: collections.defaultdict(dict))
  for seed, run in runs:
    if run.kind != metrics.YOTO or run.name not in yoto_names:
      continue
    for key in fixed:
      if key in run.evals:
        if seed in yoto[key][run.step]:
          raise ValueError(
            f"Two runs of {', '.join(yoto_names)} trained {run.step} steps "
            f"for seed {seed}; name only one of them in --yoto."
          )
        yoto[key][run.step][seed] = run.evals[key][FULL_LOSS]
  return fixed, yoto


def varying_weight(keys: Sequence[metrics.WeightsKey]) -> Optional[str]:
  """The loss whose weight differs between the fixed models (their label)."""
  values = collections.defaultdict(set)
  for key in keys:
    for name, value in key:
      values[name].add(value)
  varying = [name for name, seen in values.items() if len(seen) > 1]
  return varying[0] if len(varying) == 1 else None


def _label(key: metrics.WeightsKey, name: Optional[str]) -> str:
  weights = dict(key)
  return f"{weights[name]:g}" if name else metrics.format_weights(weights)


def _order(key: metrics.WeightsKey, name: Optional[str]):
  """Rows in increasing order of the varying weight."""
  return dict(key)[name] if name else key


def _mean(by_seed: Mapping[int, float]) -> Optional[float]:
  interval = seed_statistics.interval(list(by_seed.values()))
  return interval.mean if interval else None


def rows(fixed: Table, yoto: Table) -> List[dict]:
  """One row per fixed weight vector and training length."""
  label_name = varying_weight(list(fixed))
  out = []
  for key in sorted(fixed, key=lambda k: _order(k, label_name)):
    lengths = sorted(set(fixed[key]) | set(yoto.get(key, {})))
    shortest = _mean(fixed[key][min(fixed[key])])
    for steps in lengths:
      baseline = fixed[key].get(steps, {})
      method = yoto.get(key, {}).get(steps, {})
      mean = _mean(baseline) if baseline else None
      gap = seed_statistics.paired_gap(method, baseline)
      out.append(
        {
          "label": _label(key, label_name),
          "steps": steps,
          "fixed": mean,
          "fixed_seeds": sorted(baseline),
          "fixed_change": (
            None if mean is None or not shortest else mean / shortest - 1.0
          ),
          "yoto": _mean(method) if method else None,
          "gap": gap.to_json() if gap else None,
          "relative_gap": (gap.mean / mean if gap and mean else None),
        }
      )
  return out


def _digits(value: Optional[float]) -> int:
  """Decimals for a gap beside a value of that size (at least one)."""
  if not value:
    return 4
  return max(1, 3 - int(math.floor(math.log10(abs(value)))))


def markdown(table_rows: Sequence[dict], label: str) -> str:
  def number(value, digits=4):
    return "" if value is None else f"{value:.{digits}g}"

  def gap_cell(row):
    if row["gap"] is None:
      return ""
    interval = seed_statistics.Interval(**row["gap"])
    return seed_tables.interval_cell(
      interval, _digits(row["fixed"]), row["relative_gap"]
    )

  lines = [
    f"| {label} weight | steps trained | fixed full loss | change from the "
    "shortest fixed run | YOTO full loss | YOTO − fixed (same length) "
    "|",
    "|---|---|---|---|---|---|",
  ]
  for row in table_rows:
    change = (
      ""
      if row["fixed_change"] is None
      else f"{100 * row['fixed_change']:+.1f} %"
    )
    lines.append(
      f"| {row['label']} | {row['steps']} | "
      f"{number(row['fixed'])} | {change} | "
      f"{number(row['yoto'])} | {gap_cell(row)} |"
    )
  return (
    "Final test full loss of each model by the number of steps it "
    "trained (mean over seeds); YOTO − fixed paired over the seeds "
    "both have, mean ± 95 % interval:\n\n" + "\n".join(lines) + "\n"
  )


def _parser():
  parser = common.base_parser(__doc__)
  parser.add_argument(
    "--model_root",
    required=True,
    help="A reproduction's --model_root (holding steps<N>/seed<k>/<model>).",
  )
  parser.add_argument(
    "--yoto",
    default="yoto,yoto_same_compute",
    help="Comma-separated run names that are one YOTO "
    "model at different lengths.",
  )
  parser.add_argument(
    "--name", default="", help="Suffix of the results files' name."
  )
  return parser


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
  args = _parser().parse_args(argv)
  if not os.path.isdir(args.model_root):
    sys.exit(
      f"--model_root={args.model_root} is not a directory; pass the "
      "--model_root of a reproduction."
    )
  runs = finished_runs(args.model_root)
  fixed, yoto = tables(runs, [n for n in args.yoto.split(",") if n])
  if not fixed:
    sys.exit(
      f"No finished fixed-weight run under {args.model_root}/steps*/"
      "seed*/; train the reproduction first."
    )
  table_rows = rows(fixed, yoto)
  label = varying_weight(list(fixed)) or "weights"
  name = "training_length" + (f"_{args.name}" if args.name else "")
  common.write_results(
    name,
    args.out_dir,
    {"rows": table_rows},
    markdown(table_rows, label),
    argv,
    script="training_length",
  )
  return table_rows


if __name__ == "__main__":
  main()
