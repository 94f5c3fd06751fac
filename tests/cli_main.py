"""bin/ commands run in the test's process, as `common.run` runs them
(user errors reported as one `error:` line and exit code 2), without the
seconds a subprocess spends importing TensorFlow.

Each command's flags are defined when its `logit_gan.cli` module is
imported, and several commands define flags of the same names (absl
refuses to define one twice): `call` sets aside the flags other commands
defined in this process, imports the command's module afresh, runs its
`main`, then puts everything back."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import sys

from absl import flags
import gin

from logit_gan.cli import common


@dataclasses.dataclass
class Ran:
  """What a command did: its exit code (None: success) and output."""
  code: object
  out: str
  err: str


@contextlib.contextmanager
def command_module(command: str):
  """logit_gan.cli.<command>, imported afresh with its flags."""
  module_name = f"logit_gan.cli.{command}"
  set_aside = {flag.name: (module, flag) for module, defined in
               flags.FLAGS.flags_by_module_dict().items()
               if module.startswith("logit_gan.cli") for flag in defined
               if flag.name != "debug"}
  for name in set_aside:
    delattr(flags.FLAGS, name)
  before = set(flags.FLAGS)
  sys.modules.pop(module_name, None)
  try:
    yield importlib.import_module(module_name)
  finally:
    flags.FLAGS.unparse_flags()
    for name in set(flags.FLAGS) - before:
      delattr(flags.FLAGS, name)
    sys.modules.pop(module_name, None)
    for name, (module, flag) in set_aside.items():
      flags.FLAGS[name] = flag
      flags.FLAGS.register_flag_by_module(module, flag)


def call(command: str, *args) -> Ran:
  """Runs bin/<command> with `args` in this process (gin cleared first)."""
  gin.clear_config()
  out, err = io.StringIO(), io.StringIO()
  with command_module(command) as module:
    argv = flags.FLAGS([command, *map(str, args)])
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
      code = common.report_user_errors(module.main)(argv)
  gin.clear_config()
  return Ran(code, out.getvalue(), err.getvalue())
