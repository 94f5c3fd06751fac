"""What every command shares: gin flags, and an `app.run` whose --help
lists the command's own flags.

Importing a command's module loads no TensorFlow (its library imports are
inside `main`), so that `run` can set the process's TensorFlow settings
(`runtime.configure`) before TensorFlow loads."""

from __future__ import annotations

import re
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


flags.DEFINE_bool("debug", False, "Show the Python traceback of an error "
                  "in what was given (a path, an image, a gin binding) "
                  "instead of its one-line message.")

# A user's mistake (a path, a file's content, a gin binding, a dataset
# name) reaches the command as one of these, with a message that names it;
# the library's own (DatasetNotFoundError, CheckpointMismatchError,
# CacheMismatchError, WeightsNotFoundError) subclass them. Anything else is
# a bug and keeps its traceback. gin reports a gin file's syntax errors as
# SyntaxError.
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError,
               NotADirectoryError, IsADirectoryError, PermissionError,
               SyntaxError)
# Faults of the machine or of the training, reported the same way: a folder
# that cannot be written or a full disk (run_dir.NotWritableError,
# CheckpointWriteError), a lost worker (interruptions.WorkerLostError: a
# ConnectionError), any other OSError, and a diverged run
# (FloatingPointError, naming the step, the losses and the checkpoint).
REPORTED_FAULTS = (OSError, FloatingPointError)
USAGE_EXIT_CODE = 2
# gin adds this line to an error raised inside a configurable called with
# a bound value; such a TypeError is a bad binding, reported the same way.
_GIN_CALL_NOTE = "In call to configurable"
# The note in full: "In call to configurable 'train' (<function train at
# 0x7f...>)".
_GIN_CALL_NOTE_IN_FULL = re.compile(
    r"\s*In call to configurable '([^']*)' \(<[^>]*>\)")


# tf.errors raised by tf.io.gfile for a path (by name: importing this
# module loads no TensorFlow).
_TENSORFLOW_PATH_ERRORS = ("NotFoundError", "PermissionDeniedError")


def is_user_error(error: BaseException) -> bool:
  """A mistake in what the user gave (`USER_ERRORS`) or a fault of the
  machine or the training (`REPORTED_FAULTS`), not a bug."""
  kind = type(error)
  return (isinstance(error, USER_ERRORS + REPORTED_FAULTS)
          or (isinstance(error, TypeError) and _GIN_CALL_NOTE in str(error))
          or (kind.__module__.startswith("tensorflow")
              and kind.__name__ in _TENSORFLOW_PATH_ERRORS))


def one_line(error: BaseException) -> str:
  """`error`'s message on one line (gin's and TensorFlow's span several),
  without gin's note of the configurable it came through: a bad binding
  (TypeError) keeps the configurable's name; the library's own errors say
  what to do without it."""
  if isinstance(error, TypeError):
    text = _GIN_CALL_NOTE_IN_FULL.sub(r" In call to configurable '\1'.",
                                      str(error))
  else:
    text = _GIN_CALL_NOTE_IN_FULL.sub("", str(error))
  return " ".join(text.split()) or type(error).__name__


def report_user_errors(main: Callable) -> Callable:
  """`main`, but a user error ends the command with `error: <message>` on
  stderr and exit code 2 (unless --debug): the traceback is for bugs. An
  exception that carries its own `exit_code` (interruptions.Preempted: 75,
  after a checkpoint on SIGTERM) is not an error: its message is printed
  as it is and the command exits with that code."""

  def main_reporting_user_errors(argv):
    try:
      return main(argv)
    except Exception as error:  # pylint: disable=broad-except
      if isinstance(getattr(error, "exit_code", None), int):
        print(one_line(error), file=sys.stderr)
        return error.exit_code
      if flags.FLAGS["debug"].value or not is_user_error(error):
        raise
      print(f"error: {one_line(error)}", file=sys.stderr)
      return USAGE_EXIT_CODE

  return main_reporting_user_errors


def run(main: Callable, command_module: str) -> None:
  """`app.run(main)` for the command whose flags live in `command_module`
  (bin/ scripts are one-line launchers of logit_gan.cli modules), after
  `runtime.configure()`; user errors are reported as one line
  (`report_user_errors`)."""
  runtime.configure()
  list_in_help(sys.argv[0], command_module, __name__)
  app.run(report_user_errors(main))
