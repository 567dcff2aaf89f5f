"""The command-line convention: number arguments, one-line errors, exit 1."""

import argparse
import os
import subprocess
import sys

from conftest import ROOT
import pytest
import tensorflow as tf

from yoto.utils import arguments


def test_number_parses_plain_and_scientific_notation():
  assert arguments.number("0.01") == 0.01
  assert arguments.number("1e-3") == 1e-3


def test_numbers_split_on_commas_and_spaces():
  assert arguments.numbers("1e-3,1e-2, 0.1") == [1e-3, 1e-2, 0.1]
  assert arguments.numbers("2 32") == [2.0, 32.0]


@pytest.mark.parametrize(
  "parse, text", [(arguments.number, "ten"), (arguments.numbers, "1,x,3")]
)
def test_bad_values_are_named_in_the_error(parse, text):
  with pytest.raises(argparse.ArgumentTypeError, match=repr(text)):
    parse(text)


def _parser():
  parser = arguments.ArgumentParser("yoto.tool", inherited_absl_flags=None)
  commands = parser.add_subparsers(dest="command", required=True)
  sub = commands.add_parser("go")
  sub.add_argument("--x", type=arguments.number, required=True)
  return parser


def _run(argv, execute=lambda args: f"x={args.x:g}", user_errors=()):
  return arguments.run("yoto.tool", _parser(), execute, argv, user_errors)


def test_a_command_prints_what_it_returns_and_exits_0(capsys):
  assert _run(["go", "--x=2"]) == 0
  assert capsys.readouterr().out == "x=2\n"


@pytest.mark.parametrize(
  "argv, message",
  [
    ([], "the following arguments are required: command"),
    (["go"], "the following arguments are required: --x"),
    (["go", "--x=ten"], "expected a number, got 'ten'"),
    (["go", "--x=1", "--y=2"], "unrecognized arguments: --y=2"),
  ],
)
def test_usage_errors_are_one_line_with_exit_status_1(capsys, argv, message):
  assert _run(argv) == arguments.EXIT_USER_ERROR == 1
  err = capsys.readouterr().err
  assert err.startswith("yoto.tool: error: ") and message in err
  assert len(err.splitlines()) == 1 and "--help" in err


def test_user_errors_are_one_line_and_bugs_keep_their_traceback(capsys):
  def fail(args):
    del args
    raise ValueError("first line\n  second line")

  assert _run(["go", "--x=1"], fail, (ValueError,)) == 1
  assert capsys.readouterr().err == (
    "yoto.tool: error: first line second line\n"
  )
  assert _run(["go", "--x=1"], fail, lambda: (ValueError,)) == 1
  capsys.readouterr()
  with pytest.raises(ValueError, match="first line"):
    _run(["go", "--x=1"], fail)


def test_an_op_error_keeps_the_first_line_of_its_message():
  error = tf.errors.InvalidArgumentError(
    None, None, "weights outside the range\n\t [[node Assert]]"
  )
  assert arguments.error_line("yoto.tool", error) == (
    "yoto.tool: error: weights outside the range"
  )


@pytest.mark.parametrize(
  "command", ["yoto.main", "yoto.plot", "yoto.compress", "yoto.stylize"]
)
def test_every_command_reports_a_bad_flag_the_same_way(command):
  result = subprocess.run(
    [sys.executable, "-m", command, "--no_such_flag=1"],
    cwd=ROOT,
    capture_output=True,
    text=True,
    check=False,
    env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
  )
  assert result.returncode == 1
  lines = [
    line
    for line in result.stderr.splitlines()
    if line.startswith(f"{command}: error: ")
  ]
  assert len(lines) == 1, result.stderr
  assert "Traceback" not in result.stderr
