"""The command-line convention of yoto's commands, and their number arguments.

`python -m yoto.main`, `yoto.plot`, `yoto.compress` and `yoto.stylize` all run
under absl's `app.run`, so absl's own flags (`--verbosity`, `--helpfull`, ...)
work everywhere; the tools other than `yoto.main` parse their arguments (and
subcommands) with `absl.flags.argparse_flags`. A user error, be it a bad
argument or bad input, ends every command the same way: exit status 1 and one
line on stderr, `yoto.<command>: error: <what was wrong and what to do>`,
never a traceback. Each tool's `main(argv)` does the same in-process and
returns the exit status, for tests and notebooks.
"""

import argparse
import functools
import sys
from typing import Callable, List, Optional, Sequence, Tuple, Type, Union

from absl import app
from absl.flags import argparse_flags

EXIT_USER_ERROR = 1

Execute = Callable[[argparse.Namespace], Optional[str]]


class UsageError(ValueError):
  """A command line that does not parse: a missing or malformed argument."""


def error_line(command: str, error: BaseException) -> str:
  """`<command>: error: <message>` on one line.

  A TensorFlow op error keeps only the first line of its message (the rest
  is the graph's stack); other messages have their lines joined.
  """
  message = getattr(error, "message", None)
  if isinstance(message, str) and hasattr(error, "error_code"):
    text = message.strip().splitlines()[0] if message.strip() else ""
  else:
    text = " ".join(
      line.strip() for line in str(error).splitlines() if line.strip()
    )
  return f"{command}: error: {text or type(error).__name__}"


def report(command: str, error: BaseException) -> int:
  """Prints the error line to stderr; returns EXIT_USER_ERROR."""
  print(error_line(command, error), file=sys.stderr, flush=True)
  return EXIT_USER_ERROR


class ArgumentParser(argparse_flags.ArgumentParser):
  """argparse with absl's flags whose usage errors raise `UsageError`.

  Subcommand parsers share the command name and leave absl's flags to the
  top-level parser.
  """

  def __init__(self, command: str, **kwargs):
    kwargs.setdefault("prog", f"python -m {command}")
    super().__init__(**kwargs)
    self.command = command

  def error(self, message: str):
    raise UsageError(f"{message} (see {self.prog} --help)")

  def add_subparsers(self, **kwargs):
    kwargs.setdefault(
      "parser_class",
      functools.partial(
        ArgumentParser, self.command, inherited_absl_flags=None
      ),
    )
    return super().add_subparsers(**kwargs)


UserErrors = Union[
  Tuple[Type[BaseException], ...], Callable[[], Tuple[Type[BaseException], ...]]
]


def run(
  command: str,
  parser: argparse.ArgumentParser,
  execute: Execute,
  argv: Sequence[str],
  user_errors: UserErrors = (),
) -> int:
  """Parses `argv` (without the program name) and runs the command.

  Args:
    command: the name in error lines, e.g. 'yoto.plot'.
    parser: the command's parser.
    execute: runs the parsed command; returns text to print, or None.
    argv: the arguments.
    user_errors: see `run_parsed`.

  Returns:
    0, or EXIT_USER_ERROR after printing the error line.
  """
  try:
    args = parser.parse_args(list(argv))
  except UsageError as e:
    return report(command, e)
  return run_parsed(command, execute, args, user_errors)


def run_parsed(
  command: str,
  execute: Execute,
  args: argparse.Namespace,
  user_errors: UserErrors = (),
) -> int:
  """Runs `execute(args)` and prints what it returns.

  Args:
    command: the name in error lines.
    execute: runs the parsed command; returns text to print, or None.
    args: the parsed arguments.
    user_errors: the exceptions that report a user's mistake (a bad file,
      a value out of range), or a function returning them when the error
      is raised (for error types of lazily imported modules). They end the
      command with one error line; anything else is a bug and keeps its
      traceback.

  Returns:
    0, or EXIT_USER_ERROR after printing the error line.
  """
  try:
    output = execute(args)
  except Exception as e:  # pylint: disable=broad-except
    expected = user_errors() if callable(user_errors) else user_errors
    if not isinstance(e, (UsageError,) + tuple(expected)):
      raise
    return report(command, e)
  if output:
    print(output, flush=True)
  return 0


def run_app(
  command: str,
  make_parser: Callable[[], argparse.ArgumentParser],
  execute: Execute,
  user_errors: UserErrors = (),
) -> None:
  """Runs the command under absl's `app.run` (the `__main__` path): parses
  `sys.argv` (absl's flags included), executes, exits with the status."""

  def parse(argv: List[str]) -> argparse.Namespace:
    try:
      return make_parser().parse_args(argv[1:])
    except UsageError as e:
      sys.exit(report(command, e))

  app.run(
    lambda args: run_parsed(command, execute, args, user_errors),
    flags_parser=parse,
  )


def number(text: str) -> float:
  """One number: '0.01', '1e-3'."""
  try:
    return float(text)
  except ValueError:
    raise argparse.ArgumentTypeError(
      f"expected a number, got {text!r}"
    ) from None


def positive_int(text: str) -> int:
  """A positive integer: '16777216'."""
  try:
    value = int(text)
  except ValueError:
    value = 0
  if value <= 0:
    raise argparse.ArgumentTypeError(
      f"expected a positive integer, got {text!r}"
    )
  return value


def numbers(text: str) -> List[float]:
  """Comma-separated numbers (spaces allowed): '1e-3,1e-2, 0.1'."""
  try:
    return [float(v) for v in text.replace(",", " ").split()]
  except ValueError:
    raise argparse.ArgumentTypeError(
      f"expected comma-separated numbers, got {text!r}"
    ) from None
