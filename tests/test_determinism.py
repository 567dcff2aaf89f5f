"""Tests of `yoto.training.determinism`: one seed, one set of weights."""

import json
import os
import subprocess
import sys

from conftest import config_path
from conftest import ROOT
import pytest
import tensorflow as tf

from yoto import main
from yoto.training import determinism
from yoto.training import experiment

# A fresh process: determinism must be set before TensorFlow's first op.
TRAIN_TWICE = """
import json, sys
from yoto.training import determinism
determinism.enable()
from benchmarks import determinism_cost
print(json.dumps(determinism_cost.train_seed_twice(sys.argv[1], 2, False, True)))
"""


def test_a_deterministic_process_trains_one_seed_to_identical_weights(
  tmp_path,
):
  # Without determinism.enable() the two runs (the embedded style config,
  # batch 8) part in the last bits from the second step on, as
  # benchmarks/determinism_cost.py shows: this test then fails.
  result = subprocess.run(
    [sys.executable, "-c", TRAIN_TWICE, str(tmp_path)],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=600,
    env={**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"},
  )
  assert result.returncode == 0, result.stderr[-3000:]
  digests = json.loads(result.stdout.strip().splitlines()[-1])
  assert digests["digest_a"] == digests["digest_b"]


def test_enabling_after_tensorflow_started_says_what_to_do():
  tf.constant(1.0) + 1.0  # TensorFlow now runs on its default thread pools.
  with pytest.raises(determinism.DeterminismError, match="--deterministic"):
    determinism.enable()
  assert not determinism.is_enabled()


def test_a_run_asking_for_determinism_in_a_process_without_it_is_refused(
  tmp_path,
):
  with pytest.raises(determinism.DeterminismError, match="enable()"):
    main.run_in_process(
      str(tmp_path),
      [config_path("photo_patches_conv_vae_yoto.gin")],
      ["experiment.train_steps = 2"],
      schedule="train",
      runtime=experiment.RuntimeOptions(deterministic=True),
    )
  assert not any(name.startswith("ckpt") for name in os.listdir(tmp_path))
