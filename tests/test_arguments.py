"""The command lines' number arguments: values parsed, bad ones named."""

import argparse

import pytest

from yoto.utils import arguments


def test_number_parses_plain_and_scientific_notation():
  assert arguments.number("0.01") == 0.01
  assert arguments.number("1e-3") == 1e-3


def test_numbers_split_on_commas_and_spaces():
  assert arguments.numbers("1e-3,1e-2, 0.1") == [1e-3, 1e-2, 0.1]
  assert arguments.numbers("2 32") == [2.0, 32.0]


@pytest.mark.parametrize("parse, text", [(arguments.number, "ten"),
                                         (arguments.numbers, "1,x,3")])
def test_bad_values_are_named_in_the_error(parse, text):
  with pytest.raises(argparse.ArgumentTypeError, match=repr(text)):
    parse(text)
