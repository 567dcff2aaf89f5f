r"""Copies the latest results into BENCHMARKS.md, so its numbers are the
scripts' own.

  python -m benchmarks.report

Each script writes benchmarks/results/NAME.md; BENCHMARKS.md holds, for each
NAME, a block

  <!-- BEGIN NAME -->
  ...
  <!-- END NAME -->

whose contents this replaces with that file. Text outside the blocks (what
the numbers mean) is left alone.
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS_DIR = os.path.join(ROOT, "benchmarks", "results")
REPORT = os.path.join(ROOT, "BENCHMARKS.md")


def fill(text: str, results_dir: str = RESULTS_DIR) -> str:
  """`text` with every BEGIN/END block replaced by its results file."""

  def replace(match):
    name = match.group(1)
    path = os.path.join(results_dir, f"{name}.md")
    if not os.path.exists(path):
      return match.group(0)
    with open(path) as f:
      body = f.read().strip()
    return f"<!-- BEGIN {name} -->\n{body}\n<!-- END {name} -->"

  return re.sub(
    r"<!-- BEGIN (\w+) -->.*?<!-- END \1 -->", replace, text, flags=re.DOTALL
  )


def main(argv=None):
  del argv
  with open(REPORT) as f:
    text = f.read()
  filled = fill(text)
  with open(REPORT, "w") as f:
    f.write(filled)
  print(f"updated {REPORT}" if filled != text else f"{REPORT} is up to date")


if __name__ == "__main__":
  main(sys.argv)
