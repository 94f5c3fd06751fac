"""The bin/ commands: `--help` lists each command's own flags.

absl's --help shows only the flags of the main module, the one-line bin/
script; the flags live in logit_gan/cli/<command>.py and logit_gan/cli/
common.py, so without `common.run` they appeared only under --helpfull."""

import json
import pathlib
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
COMMANDS = sorted(p.name for p in (REPO / "bin").iterdir()
                  if p.is_file() and not p.name.startswith("."))

# One Python for every command (TensorFlow loads once): import a command's
# module, register its flags for a stand-in main module as `common.run`
# does, read that module's --help text, then delete the flags so that the
# next command can define its own (several share names such as model_dir).
_HELP_TEXTS = """
import importlib, json, sys
from absl import flags
from logit_gan.cli import common
texts = {}
for command in sys.argv[1:]:
  before = set(flags.FLAGS)
  module = importlib.import_module("logit_gan.cli." + command)
  main = "bin/" + command
  common.list_in_help(main, module.__name__, common.__name__)
  texts[command] = flags.FLAGS.module_help(main)
  for name in set(flags.FLAGS) - before:
    delattr(flags.FLAGS, name)
print(json.dumps(texts))
"""


def flags_defined_in(command: str) -> set[str]:
  """Flag names read from the command module's source (and the gin flags
  when it defines them), independently of absl."""
  source = (REPO / "logit_gan" / "cli" / f"{command}.py").read_text()
  names = set(re.findall(r'flags\.DEFINE_\w+\(\s*"(\w+)"', source))
  if "common.define_gin_flags()" in source:
    names |= {"gin_file", "gin_bindings"}
  return names


def listed_flags(help_text: str) -> set[str]:
  return set(re.findall(r"^\s+--(?:\[no\])?(\w+)", help_text, re.M))


def test_every_commands_help_lists_its_flags():
  ran = subprocess.run([sys.executable, "-c", _HELP_TEXTS, *COMMANDS],
                       capture_output=True, text=True, timeout=300, cwd=REPO,
                       check=True)
  texts = json.loads(ran.stdout.strip().splitlines()[-1])
  assert sorted(texts) == COMMANDS
  for command in COMMANDS:
    expected = flags_defined_in(command)
    assert expected, command
    missing = expected - listed_flags(texts[command])
    assert not missing, (command, sorted(missing))


def test_bin_train_help_shows_its_flags():
  shown = subprocess.run([sys.executable, str(REPO / "bin" / "train"),
                          "--help"], capture_output=True, text=True,
                         timeout=180, cwd=REPO)
  # absl exits with status 1 after printing --help.
  assert "Try --helpfull" in shown.stdout, shown.stderr[-2000:]
  assert flags_defined_in("train") <= listed_flags(shown.stdout)
