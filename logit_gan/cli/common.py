"""What every command shares: gin flags, and an `app.run` whose --help
lists the command's own flags.

Importing a command's module loads no TensorFlow (its library imports are
inside `main`), so that `run` can set the process's TensorFlow settings
(`runtime.configure`) before TensorFlow loads."""

from __future__ import annotations

import sys
from typing import Callable

from absl import app
from absl import flags

from logit_gan import runtime


def define_gin_flags(file_example: str = "robust.gin",
                     binding_example: str = "Generator.ch = 32") -> None:
  """--gin_file and --gin_bindings, with examples that fit the command."""
  flags.DEFINE_multi_string(
      "gin_file", [], "gin config file: a path or a name in gin_configs/ "
      f"(e.g. {file_example}). logit_gan's and compare_gan's names are "
      "accepted. Repeatable; later files override earlier ones.")
  flags.DEFINE_multi_string(
      "gin_bindings", [], "gin binding applied after the files, e.g. "
      f"--gin_bindings=\"{binding_example}\". Repeatable.")


def parse_gin_flags() -> None:
  """Parses --gin_file and --gin_bindings (see `config.parse`)."""
  from logit_gan import config  # pylint: disable=g-import-not-at-top
  config.parse(flags.FLAGS.gin_file, flags.FLAGS.gin_bindings)


def list_in_help(main_module: str, *modules: str) -> None:
  """Makes --help (which absl limits to the flags of `main_module`, the
  bin/ script) list the flags defined in `modules` too."""
  for module in modules:
    for flag in flags.FLAGS.get_key_flags_for_module(module):
      flags.FLAGS.register_key_flag_for_module(main_module, flag)


def run(main: Callable, command_module: str) -> None:
  """`app.run(main)` for the command whose flags live in `command_module`
  (bin/ scripts are one-line launchers of logit_gan.cli modules), after
  `runtime.configure()`."""
  runtime.configure()
  list_in_help(sys.argv[0], command_module, __name__)
  app.run(main)
