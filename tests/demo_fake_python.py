"""A stand-in for the interpreter of bin/demo's stage commands
(`bin/demo --python=<this file>`): `-m logit_gan.cli.<command> --flags`
writes, in milliseconds, the outputs the demo checks for, as the real
command would, and appends one JSON line per call to $FAKE_LOG. Nothing of
logit_gan is imported.

The fake GAN training (`train`) writes a checkpoint every 500 steps, after
$FAKE_STEP_S seconds each, resuming from its latest checkpoint like
bin/train; $FAKE_FAIL=<command> makes that command exit with code 3.
"""

import json
import os
import sys
import time


def parse(argv):
  assert argv[0] == "-m", argv
  command = argv[1].rsplit(".", 1)[1]
  flags = {}
  for arg in argv[2:]:
    key, _, value = arg[2:].partition("=")
    flags.setdefault(key, []).append(value)
  return command, flags


def write_json(path, value):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as file:
    json.dump(value, file)


def binding(flags, name):
  for value in flags.get("gin_bindings", []):
    key, _, text = value.partition(" = ")
    if key == name:
      return text.strip("'")
  raise KeyError(name)


def build(flags):
  name = flags["build_dataset"][0]
  tfds_name = {"shapes_mini": "logit_gan_shapes_mini/16",
               "shapes_mini_ood": "logit_gan_shapes_mini/ood_16"}[name]
  for percent in (0, 50, 100):  # A tqdm-like redrawn bar.
    sys.stdout.write(f"\r\x1b[KGenerating {name}: {percent}%")
    sys.stdout.flush()
  sys.stdout.write("\n")
  write_json(os.path.join(os.environ["TFDS_DATA_DIR"], tfds_name, "1.0.0",
                          "dataset_info.json"),
             {"splits": [{"name": "train", "shardLengths": ["100"]},
                         {"name": "test", "shardLengths": ["10"]}]})


def train_classifier(flags):
  out = flags["output_dir"][0]
  os.makedirs(out, exist_ok=True)
  open(os.path.join(out, "classifier.keras"), "w").close()
  with open(os.path.join(out, "operative_config.gin"), "w") as file:
    file.write("train_classifier.steps = 3000\n")
  write_json(os.path.join(out, "metrics.json"), {
      "clean_accuracy": 0.5, "attacked_accuracy": 0.25,
      "eval_attack": {"steps": 10}, "train_seconds": 1.0})


def cache_logits(flags):
  write_json(os.path.join(flags["output_dir"][0], "cache.json"), {
      "num_examples": 100, "num_classes": 100,
      "dataset": {"name": "shapes_mini", "split": "train",
                  "resolution": 16}})


def latest_step(model_dir):
  try:
    with open(os.path.join(model_dir, "checkpoint")) as file:
      return int(file.read().split('ckpt-')[1].split('"')[0])
  except OSError:
    return 0


def train(flags):
  model_dir = flags["model_dir"][0]
  total = int(binding(flags, "train.training_steps"))
  os.makedirs(model_dir, exist_ok=True)
  with open(os.path.join(model_dir, "operative_config.gin"), "w") as file:
    file.write(f"train.training_steps = {total}\n")
  start = latest_step(model_dir)
  record(start_step=start)
  history_file = os.path.join(model_dir, "metrics.json")
  history = (json.load(open(history_file))
             if os.path.exists(history_file) else [])
  for step in range(start + 500, total + 1, 500):
    time.sleep(float(os.environ.get("FAKE_STEP_S", "0")))
    open(os.path.join(model_dir, f"ckpt-{step}.index"), "w").close()
    with open(os.path.join(model_dir, "checkpoint"), "w") as file:
      file.write(f'model_checkpoint_path: "ckpt-{step}"\n')
    history.append({"step": step, "class_agreement": step / 10000})
    write_json(history_file, history)
    print(f"step {step}/{total} agreement {step / 10000}", flush=True)


def export(flags):
  out = flags["export_dir"][0]
  numbers = [int(n) for n in os.listdir(out)] if os.path.isdir(out) else []
  os.makedirs(os.path.join(out, str(max(numbers, default=0) + 1)))


def reconstruct(flags):
  open(flags["out"][0], "w").close()


def record_of(experiment, number, model, mean, **params):
  return {"experiment": experiment, "number": number, "model": model,
          "kind": "value", "params": params, "mean": mean,
          "low": mean - 0.01, "high": mean + 0.01, "n": 10}


def analyze(flags):
  out = flags["out"][0]
  names = [os.path.basename(path) for path in flags["export_dir"]]
  write_json(os.path.join(out, "metrics.json"), [
      record_of("reconstructions", "top1_agreement", name, 0.5)
      for name in names])
  write_json(os.path.join(out, "optimization", "metrics.json"), [
      record_of("reconstructions", "top1_agreement", "optimization", 0.9)])


def report(flags):
  """index.html and metrics.json, and optimization.html when the analysis
  has the baseline's folder, as bin/report writes them."""
  out = flags["out"][0]
  folder = os.path.dirname(out)
  os.makedirs(folder, exist_ok=True)
  pages = [out]
  if os.path.isdir(os.path.join(flags["analysis_dir"][0], "optimization")):
    pages.append(os.path.join(folder, "optimization.html"))
  for page in pages:
    with open(page, "w") as file:
      file.write("<html></html>")
  write_json(os.path.join(folder, "metrics.json"), {"records": []})
  print(f"Report: {out}")


def record(**extra):
  with open(os.environ["FAKE_LOG"], "a") as file:
    file.write(json.dumps({"command": COMMAND, "pid": os.getpid(),
                           "argv": sys.argv[1:], **extra}) + "\n")


COMMAND, FLAGS = parse(sys.argv[1:])
if __name__ == "__main__":
  if COMMAND != "train":
    record()
  if os.environ.get("FAKE_FAIL") == COMMAND:
    print(f"fake {COMMAND} fails", file=sys.stderr)
    sys.exit(3)
  if COMMAND == "demo":
    build(FLAGS)
  else:
    globals()[COMMAND](FLAGS)
