"""Tests of benchmarks/style_transfer_points: the Figure-6a weight vectors
are the default and each swept weight ÷10 and x10, sorted in that order,
and label any weight vector they hold."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
from benchmarks import style_transfer_points
# pylint: enable=g-import-not-at-top,wrong-import-position

DEFAULT = {"content_loss": 2.0, "style_loss_3": 1e-2}
SHORT = {"content_loss": "content", "style_loss_3": "style3"}


def test_each_swept_weight_moves_alone_by_the_factor():
  points = style_transfer_points.figure6a_points(
    DEFAULT, ["style_loss_3", "content_loss"], SHORT
  )
  assert [p.name for p in points] == [
    "default",
    "style3 ÷10",
    "style3 x10",
    "content ÷10",
    "content x10",
  ]
  assert points[2].model == "fixed_style3_x10"
  assert points[2].as_dict() == {"content_loss": 2.0, "style_loss_3": 0.1}
  assert points[3].as_dict() == {"content_loss": 0.2, "style_loss_3": 0.01}
  assert sorted(reversed(points)) == points  # Tables keep this order.


def test_on_line_holds_the_default_and_the_points_of_one_weight():
  points = style_transfer_points.figure6a_points(
    DEFAULT, ["style_loss_3", "content_loss"], SHORT
  )
  assert [
    p.name for p in points if style_transfer_points.on_line(p, "content_loss")
  ] == ["default", "content ÷10", "content x10"]


def test_point_labels_name_any_weight_vector_they_hold():
  points = style_transfer_points.figure6a_points(
    DEFAULT, ["style_loss_3"], SHORT
  )
  label = style_transfer_points.point_of(points)
  assert label({**DEFAULT, "style_loss_3": 0.1}).name == "style3 x10"
  with pytest.raises(KeyError):
    label({**DEFAULT, "style_loss_3": 0.5})
