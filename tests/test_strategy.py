"""Tests of strategy selection, including two real worker processes."""

import json
import os
import socket
import subprocess
import sys

from conftest import config_path
from conftest import ROOT
import pytest
import tensorflow as tf

from yoto.training import strategy as strategy_lib


def test_unknown_strategy_is_rejected():
  with pytest.raises(ValueError, match="horovod"):
    strategy_lib.make_strategy("horovod")


def test_default_and_mirrored_strategies():
  assert strategy_lib.make_strategy("default").num_replicas_in_sync == 1
  mirrored = strategy_lib.make_strategy("mirrored")
  assert mirrored.num_replicas_in_sync == len(
    tf.config.list_logical_devices("CPU")
  )
  assert strategy_lib.is_chief(mirrored)
  assert strategy_lib.make_strategy("one_device").num_replicas_in_sync == 1


def test_use_tpu_and_master_select_a_tpu_strategy(monkeypatch):
  from absl import flags  # pylint: disable=g-import-not-at-top
  from yoto import main  # pylint: disable=g-import-not-at-top

  calls = []
  monkeypatch.setattr(
    main.strategy_lib,
    "make_strategy",
    lambda name, tpu_address=None: calls.append((name, tpu_address)),
  )
  flags.FLAGS(["yoto", "--use_tpu", "--master=grpc://10.0.0.2:8470"])
  try:
    main._make_strategy()  # pylint: disable=protected-access
  finally:
    flags.FLAGS.unparse_flags()
  assert calls == [("tpu", "grpc://10.0.0.2:8470")]


def _free_ports(count):
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(("127.0.0.1", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def test_multi_worker_mirrored_trains_and_checkpoints(tmp_path):
  ports = _free_ports(2)
  cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
  model_dir = tmp_path / "run"
  args = [
    sys.executable,
    "-m",
    "yoto.main",
    f"--model_dir={model_dir}",
    "--gin_config=" + config_path("photo_patches_conv_vae_yoto.gin"),
    "--strategy=multi_worker_mirrored",
    "--schedule=train",
    "--gin_bindings=experiment.train_steps = 4",
    "--gin_bindings=experiment.iterations_per_loop = 2",
    "--gin_bindings=experiment.save_checkpoints_steps = 2",
  ]
  workers = []
  for index in range(2):
    env = {
      **os.environ,
      "TF_CPP_MIN_LOG_LEVEL": "2",
      "TF_CONFIG": json.dumps(
        {"cluster": cluster, "task": {"type": "worker", "index": index}}
      ),
    }
    workers.append(
      subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
      )
    )
  outputs = []
  try:
    for worker in workers:
      outputs.append(worker.communicate(timeout=300)[0])
  finally:
    for worker in workers:
      worker.kill()
  for worker, output in zip(workers, outputs):
    assert worker.returncode == 0, output[-3000:]
  assert (
    "num_workers = 2" in outputs[0]
    or "2 workers" in outputs[0]
    or "MultiWorkerMirroredStrategy" in outputs[0]
  )
  assert tf.train.latest_checkpoint(str(model_dir)).endswith("ckpt-4")
  assert os.path.exists(model_dir / "FINISHED")
  # The non-chief's scratch checkpoints are gone.
  assert not [p for p in os.listdir(model_dir) if p.startswith(".worker")]
