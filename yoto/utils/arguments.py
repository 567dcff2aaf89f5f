"""argparse types for numbers on the command lines (yoto.plot, yoto.compress,
yoto.stylize): a bad value ends the command with a message naming it."""

import argparse
from typing import List


def number(text: str) -> float:
  """One number: '0.01', '1e-3'."""
  try:
    return float(text)
  except ValueError:
    raise argparse.ArgumentTypeError(
        f"expected a number, got {text!r}") from None


def positive_int(text: str) -> int:
  """A positive integer: '16777216'."""
  try:
    value = int(text)
  except ValueError:
    value = 0
  if value <= 0:
    raise argparse.ArgumentTypeError(
        f"expected a positive integer, got {text!r}")
  return value


def numbers(text: str) -> List[float]:
  """Comma-separated numbers (spaces allowed): '1e-3,1e-2, 0.1'."""
  try:
    return [float(v) for v in text.replace(",", " ").split()]
  except ValueError:
    raise argparse.ArgumentTypeError(
        f"expected comma-separated numbers, got {text!r}") from None
