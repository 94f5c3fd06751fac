"""MultiWorkerMirroredStrategy: two `bin/train` worker processes on
127.0.0.1 (cluster in TF_CONFIG) train a few steps and write one checkpoint,
then resume from it together."""

import json
import os
import pathlib
import socket
import subprocess
import sys

import pytest

from trainer_runs import tiny_bindings

REPO = pathlib.Path(__file__).resolve().parents[1]


def free_ports(count):
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(("127.0.0.1", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


@pytest.mark.slow
def test_two_workers_train_and_write_one_checkpoint(tmp_path,
                                                    tiny_shapes_data_dir):
  data_dir = tiny_shapes_data_dir
  model_dir = tmp_path / "model"
  workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
  bindings = tiny_bindings(data_dir, **{
      "train.iterations_per_loop": "2", "train.save_checkpoints_steps": "2",
      "train.eval_examples": "4", "train.grid_examples": "1",
      "train.grid_samples": "1"})
  # train.checkpoint_input_pipeline keeps its default: the trainer leaves
  # out the iterator, which a strategy's checkpoint refuses.
  command = [sys.executable, str(REPO / "bin" / "train"),
             "--gin_file=tiny.gin", f"--model_dir={model_dir}",
             "--strategy=multi_worker"]
  command += [f"--gin_bindings={b}" for b in bindings]
  outputs = run_workers(command, workers)
  assert (model_dir / "ckpt-2.index").exists()
  # One checkpoint directory: the second worker's scratch copy is gone.
  assert not list(model_dir.glob(".worker*"))
  assert "Trained steps 0-2 of 2" in outputs[0]
  # Run again: both workers resume from the chief's checkpoint (the second
  # worker's own copies are gone), so neither trains a step.
  outputs = run_workers(command, workers)
  for output in outputs:
    assert "Resuming from" in output and "at step 2." in output, output[-3000:]


def run_workers(command, workers):
  """Runs `command` as each worker of the cluster; their outputs."""
  processes = []
  for index in range(2):
    environment = dict(os.environ, TF_CONFIG=json.dumps({
        "cluster": {"worker": workers},
        "task": {"type": "worker", "index": index}}),
        PYTHONPATH=str(REPO), CUDA_VISIBLE_DEVICES="")
    processes.append(subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True))
  outputs = []
  for process in processes:
    try:
      outputs.append(process.communicate(timeout=300)[0])
    finally:
      process.kill()
  for index, (process, output) in enumerate(zip(processes, outputs)):
    assert process.returncode == 0, f"worker {index}:\n{output[-3000:]}"
  return outputs
