"""Interleaved timing of benchmark variants, on a machine shared with others.

The benchmark machine is shared with other jobs, so absolute times are noisy.
Every comparison therefore runs its variants interleaved in one process
(variant A, B, C, then A, B, C, ..., in a rotating order) and reports medians
and the median of the per-repetition ratios, which load that changes slowly
affects equally. Both clocks are kept: process CPU time, the steadier one,
and wall time.
"""

import dataclasses
import statistics
import time
from typing import Callable, Dict, List, Mapping, Sequence, Tuple

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Timing:
  """Wall-clock and process CPU seconds of one timed call.

  CPU time (all threads of this process) is much less sensitive than wall
  time to other jobs on the machine, though not immune: contention adds
  cache misses and the thread pool's spin-waiting.
  """

  wall: float
  cpu: float


def time_call(fn: Callable[[], object]) -> Timing:
  """Times one call of `fn` (its result is fetched to sync)."""
  start_wall, start_cpu = time.perf_counter(), time.process_time()
  result = fn()
  tf.nest.map_structure(
    lambda x: x.numpy() if hasattr(x, "numpy") else x, result
  )
  return Timing(
    time.perf_counter() - start_wall, time.process_time() - start_cpu
  )


class Times(dict):
  """variant name -> list of `Timing`s, with views of one clock."""

  def wall(self) -> Dict[str, List[float]]:
    return {name: [t.wall for t in ts] for name, ts in self.items()}

  def cpu(self) -> Dict[str, List[float]]:
    return {name: [t.cpu for t in ts] for name, ts in self.items()}

  def to_json(self) -> dict:
    return {"wall_s": self.wall(), "cpu_s": self.cpu()}


def interleaved(
  variants: Mapping[str, Callable[[], object]], repeats: int, warmup: int = 1
) -> Times:
  """Times every variant `repeats` times, interleaved, after `warmup` calls.

  Repetition r runs the variants in an order rotated by r, so no variant is
  always first (or always right after the same neighbour).

  Returns:
    Times: variant name -> list of `repeats` Timings.
  """
  names = list(variants)
  for _ in range(warmup):
    for name in names:
      time_call(variants[name])
  times = Times((name, []) for name in names)
  for r in range(repeats):
    shift = r % len(names)
    for name in names[shift:] + names[:shift]:
      times[name].append(time_call(variants[name]))
  return times


def median(values: Sequence[float]) -> float:
  return float(statistics.median(values))


def paired_ratio(
  times: Mapping[str, Sequence[float]], numerator: str, denominator: str
) -> float:
  """Median over repetitions of times[numerator][r] / times[denominator][r]."""
  return median([a / b for a, b in zip(times[numerator], times[denominator])])


def ratios(
  times: Times, pairs: Mapping[str, Tuple[str, str]]
) -> Dict[str, Dict[str, float]]:
  """label -> {'cpu': ratio, 'wall': ratio} for label: (numerator, denom)."""
  cpu, wall = times.cpu(), times.wall()
  return {
    label: {"cpu": paired_ratio(cpu, a, b), "wall": paired_ratio(wall, a, b)}
    for label, (a, b) in pairs.items()
  }


def medians(times: Times) -> Dict[str, Dict[str, float]]:
  """{'cpu': {variant: median s}, 'wall': {variant: median s}}."""
  return {
    clock: {name: median(values) for name, values in view.items()}
    for clock, view in (("cpu", times.cpu()), ("wall", times.wall()))
  }


def format_ratio(ratio: Mapping[str, float], bold: bool = False) -> str:
  """'1.32 (wall 1.30)': the CPU-time ratio first, as the steadier one."""
  cpu = f"{ratio['cpu']:.2f}"
  return f"{'**' + cpu + '**' if bold else cpu} (wall {ratio['wall']:.2f})"
