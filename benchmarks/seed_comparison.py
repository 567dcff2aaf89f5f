"""The reproduction protocol's numbers, read back from the finished models.

A reproduction (`benchmarks.reproduction`) leaves, per seed and model, eval
rows in model_dir/metrics.jsonl and the training time in
model_dir/reproduce_timing.json. Every report (β-VAE, compression, style
transfer) turns them into the same things, computed here once:

  * the learning curves (`collect_curves`, `seed_statistics.Curves`);
  * the step compared, each YOTO model's full-loss gap to the fixed model at
    every label with its interval over seeds, and each model's convergence
    statement (`gaps_and_convergence`);
  * the CPU time of the whole fixed sweep beside each YOTO model's
    (`cpu_summary`).

`benchmarks.seed_tables` prints them.
"""

import dataclasses
import os
from typing import Callable, Dict, Hashable, List, Mapping, Optional, Sequence

import numpy as np

from benchmarks import reproduction
from yoto import results
from yoto.analysis import seed_statistics


def collect_curves(
  specs: Sequence[reproduction.ModelSpec],
  model_root: str,
  seed_list: Sequence[int],
  steps: int,
  label_of: Callable[[Mapping[str, float]], Hashable],
  value_of: Optional[
    Callable[[Mapping[str, float], Mapping[str, float]], float]
  ] = None,
) -> seed_statistics.Curves:
  """curves[model][seed][step][label] = test full loss, from the
  metrics.jsonl of every model that finished its steps (a run still in
  progress is left out, so that every compared model reached the end);
  `label_of(weights)` names an eval weight vector (e.g. its β);
  `value_of(values, weights)`, where given, takes another number of the
  eval row (e.g. one weighted loss term) in place of the full loss."""
  value_of = value_of or (lambda values, _: values["full_loss"])
  curves = {}
  for spec in specs:
    for seed in seed_list:
      model_dir = os.path.join(
        reproduction.seed_dir(model_root, seed), spec.name
      )
      if not reproduction.is_finished(model_dir, spec.steps or steps):
        continue
      per_step = {}
      for row in results.read_rows(model_dir):
        if row.get("split") == reproduction.SPLIT and "full_loss" in row.get(
          "values", {}
        ):
          per_step.setdefault(int(row["step"]), {})[
            label_of(row["weights"])
          ] = float(value_of(row["values"], row["weights"]))
      if per_step:
        curves.setdefault(spec.name, {})[seed] = per_step
  return curves


@dataclasses.dataclass(frozen=True)
class GapsAndConvergence:
  """What the gap and convergence tables show.

  Attributes:
    step: the step compared: the last one that every seed of every model
      trained for the reproduction's steps reached.
    method_steps: YOTO model with steps of its own -> the step it is
      compared at (its last).
    baseline: the single fixed model that is best over all labels (None
      unless asked for).
    rows: `seed_statistics.gap_rows`, one per label.
    convergence: model -> its `seed_statistics.model_convergence` (a YOTO
      model over every label, a fixed model at its own), for every model
      with curves, in the order of the curves.
  """

  step: Optional[int]
  method_steps: Dict[str, int]
  baseline: Optional[str]
  rows: List[dict]
  convergence: Dict[str, Optional[dict]]


def gaps_and_convergence(
  curves: seed_statistics.Curves,
  specs: Sequence[reproduction.ModelSpec],
  fixed: Mapping[Hashable, str],
  single_model: bool = False,
) -> GapsAndConvergence:
  """The YOTO models of `specs` compared with the fixed ones, from `curves`.

  Args:
    curves: `collect_curves` of `specs`.
    specs: the reproduction's models; those with steps of their own are
      compared at their last step, the others at the common final step.
    fixed: label -> the fixed model trained at it.
    single_model: also compare the best single fixed model
      (`seed_statistics.single_model`) as the method 'single_model'.
  """
  own_steps = {s.name for s in specs if s.steps}
  methods = [s.name for s in specs if s.is_yoto and s.name in curves]
  step = seed_statistics.final_step(
    curves, [m for m in curves if m not in own_steps]
  )
  method_steps = {
    m: seed_statistics.final_step(curves, [m])
    for m in methods
    if m in own_steps
  }
  baseline = (
    seed_statistics.single_model(curves, fixed, step) if single_model else None
  )
  rows = seed_statistics.gap_rows(
    curves, fixed, methods, step, baseline, method_steps
  )
  convergence = {
    m: seed_statistics.model_convergence(
      curves,
      m,
      list(fixed)
      if m in methods
      else [label for label, name in fixed.items() if name == m],
    )
    for m in curves
  }
  return GapsAndConvergence(step, method_steps, baseline, rows, convergence)


def cpu_seconds(
  timings: Mapping[str, Mapping[int, dict]], names: Sequence[str]
) -> Optional[float]:
  """Mean CPU seconds per seed of the models `names` together (e.g. the
  whole fixed sweep), over the seeds where all of them finished."""
  common_seeds = (
    set.intersection(*(set(timings.get(n, {})) for n in names))
    if names
    else set()
  )
  if not common_seeds:
    return None
  return float(
    np.mean(
      [
        sum(timings[n][s].get("cpu_seconds", 0.0) for n in names)
        for s in common_seeds
      ]
    )
  )


def cpu_summary(
  timings: Mapping[str, Mapping[int, dict]],
  fixed: Sequence[str],
  methods: Sequence[str],
) -> Dict[str, Optional[float]]:
  """{'fixed_sweep': CPU seconds per seed of the `fixed` models together,
  then each of `methods`: its own} (`cpu_seconds`; None where no seed
  finished)."""
  return {
    "fixed_sweep": cpu_seconds(timings, list(fixed)),
    **{m: cpu_seconds(timings, [m]) for m in methods},
  }
