"""gin: the one entry point that parses configs, and the edge of the
package: it imports every module with configurables (`register_configurables`),
so only the commands (cli/), the loading of a trained run and tests import it;
the networks take their decorator from the leaf `configurable`."""

from __future__ import annotations

import importlib
import inspect
import io
import os
import pathlib
import sys
import tokenize
import typing
from typing import Any, Optional, Sequence

from absl import logging
import gin
from gin import config_parser

from logit_gan import compat
from logit_gan import files


GIN_SUFFIX = ".gin"


def gin_search_path() -> list[pathlib.Path]:
  """Where bare gin file names are looked up, in order."""
  package_dir = pathlib.Path(__file__).resolve().parent
  return [package_dir.parent / "gin_configs",
          pathlib.Path(sys.prefix) / "share" / "logit_gan" / "gin_configs"]


def find_gin_file(name: str, relative_to: Optional[pathlib.Path] = None
                  ) -> pathlib.Path:
  """Resolves `name` as a path, then beside `relative_to`, then in gin_configs/."""
  candidates = [pathlib.Path(name)]
  if relative_to is not None:
    candidates.append(relative_to / name)
  candidates += [d / name for d in gin_search_path()]
  if not name.endswith(GIN_SUFFIX):
    candidates += [c.with_name(c.name + GIN_SUFFIX) for c in list(candidates)]
  for candidate in candidates:
    if candidate.is_file():
      return candidate
  raise FileNotFoundError(
      f"gin file {name!r} not found; looked at "
      + ", ".join(str(c) for c in candidates)
      + ". Pass a path, or a name relative to gin_configs/: "
      + ", ".join(known_gin_files()) + ".")


def known_gin_files() -> list[str]:
  """The gin files in gin_configs/, as names `find_gin_file` resolves
  (`shapes/robust.gin`)."""
  names = {str(path.relative_to(folder))
           for folder in gin_search_path() if folder.is_dir()
           for path in folder.rglob("*" + GIN_SUFFIX)}
  return sorted(names)


class _Delegate(gin.config.ParserDelegate):
  """gin's delegate, but an unknown `@name` becomes a `compat.Reference`
  (compare_gan's `@conditional_batch_norm`) instead of an error, so that the
  binding can be translated or rejected with a message that names it."""

  def configurable_reference(self, scoped_selector, evaluate):
    try:
      return super().configurable_reference(scoped_selector, evaluate)
    except ValueError:
      return compat.Reference(scoped_selector, evaluate)


def _unknown_reference(value: Any) -> Optional[compat.Reference]:
  """The first unresolved `@name` in value, looking inside lists, tuples
  and dicts (`[@typo_fn]` would otherwise bind a placeholder silently)."""
  if isinstance(value, compat.Reference):
    return value
  items = (value.values() if isinstance(value, dict)
           else value if isinstance(value, (list, tuple)) else ())
  for item in items:
    found = _unknown_reference(item)
    if found is not None:
      return found
  return None


def _bind(key: str, value: Any, where: str) -> None:
  unknown = _unknown_reference(value)
  if unknown is not None:
    raise ValueError(f"{where}: {key} = {value}: no configurable named "
                     f"{unknown.name!r} is registered.")
  try:
    gin.bind_parameter(key, value)
  except ValueError as error:
    raise ValueError(f"{where}: {error}") from None
  _check_type(key, value, where)


# Parameter types checked when a value is bound (not when the configurable
# is finally called, deep inside a run): what each accepts.
_SIMPLE_TYPES = {int: (int,), float: (int, float), str: (str,),
                 bool: (bool,)}


def _declared_type(key: str) -> Any:
  """The type hint of the parameter `key` names, or None if unknown."""
  parsed = gin.config.ParsedBindingKey.parse(key)
  function = gin.config._REGISTRY.get_match(  # pylint: disable=protected-access
      parsed.given_selector).wrapped
  if inspect.isclass(function):
    function = function.__init__
  try:
    return typing.get_type_hints(function).get(parsed.arg_name)
  except Exception:  # pylint: disable=broad-except  Unresolvable hints.
    return None


def _check_type(key: str, value: Any, where: str) -> None:
  """Raises ValueError if a literal `value` cannot be of the parameter's
  declared type (int, float, str, bool, or Optional of one)."""
  if not isinstance(value, (int, float, str, type(None))):
    return  # A reference, macro or container: gin checks it when called.
  declared = _declared_type(key)
  arguments = typing.get_args(declared)
  optional = typing.get_origin(declared) is typing.Union and type(None) in (
      arguments)
  if optional:
    rest = [a for a in arguments if a is not type(None)]
    declared = rest[0] if len(rest) == 1 else None
  accepted = _SIMPLE_TYPES.get(declared)
  if accepted is None or (value is None and optional):
    return
  wrong_bool = isinstance(value, bool) and declared is not bool
  if wrong_bool or not isinstance(value, accepted):
    expected = declared.__name__ + (" or None" if optional else "")
    raise ValueError(f"{where}: {key} = {value!r}: expected {expected}, got "
                     f"{type(value).__name__}.")


def _statements(parser: config_parser.ConfigParser, source: str):
  """The parser's statements, one at a time (an `import` runs before the
  next statement is parsed); an unclosed bracket as a SyntaxError naming
  `source`, as gin reports its other syntax errors."""
  try:
    yield from parser
  except tokenize.TokenError as error:
    message, (line, column) = error.args
    raise SyntaxError(f"{message} (an unclosed bracket or quote?)",
                      (source, line, column, None)) from None


def _apply(text: str, source: str, base_dir: Optional[pathlib.Path]) -> None:
  stream = io.StringIO(text)
  stream.name = source  # gin's syntax errors then name the file, not <string>.
  for statement in _statements(
      config_parser.ConfigParser(stream, _Delegate()), source):
    if isinstance(statement, config_parser.IncludeStatement):
      path = find_gin_file(statement.filename, base_dir)
      _apply(path.read_text(), str(path), path.parent)
    elif isinstance(statement, config_parser.ImportStatement):
      try:
        importlib.import_module(statement.module)
      except ImportError as error:
        raise ValueError(
            f"{source}:{statement.location.line_num}: cannot import "
            f"{statement.module!r} ({error}); install it, or remove the "
            "import (logit_gan registers its own configurables).") from None
    elif isinstance(statement, config_parser.BindingStatement):
      _apply_binding(statement, source)
    else:
      raise ValueError(f"{source}: unsupported gin statement {statement}.")


# Old binding names, refused with the one that replaced each (one spelling
# per setting for every command).
RENAMED = {"train_classifier.dataset_name": "dataset.name",
           "train_classifier.data_dir": "dataset.data_dir"}


def _apply_binding(statement: config_parser.BindingStatement,
                   source: str) -> None:
  scope, selector, arg_name, value, location = statement
  where = f"{source}:{location.line_num}"
  prefix = f"{scope}/" if scope else ""
  renamed = RENAMED.get(f"{selector}.{arg_name}")
  if renamed:
    raise ValueError(f"{where}: {selector}.{arg_name} was renamed: bind "
                     f"{prefix}{renamed} = {value!r} instead.")
  if not arg_name:  # A macro: NAME = value.
    gin.bind_parameter((prefix + selector, "gin.macro", "value"), value)
    return
  if compat.is_compare_gan_selector(selector):
    try:
      translation = compat.translate(selector, arg_name, value)
    except ValueError as error:
      raise ValueError(f"{where}: {error}") from None
    for target, target_value in translation:
      _bind(prefix + target, target_value, where)
    return
  _bind(f"{prefix}{selector}.{arg_name}", value, where)


def register_configurables() -> None:
  """Imports every module with gin configurables, registering them."""
  # pylint: disable=g-import-not-at-top,unused-import
  from logit_gan import discriminator, gan, generator, losses, noise  # noqa
  from logit_gan import trainer  # noqa: F401
  from logit_gan.classifiers import training, zoo  # noqa: F401
  from logit_gan.data import pipeline  # noqa: F401
  from logit_gan.analyses import factor_regressor, lpips, registry  # noqa
  registry.import_all()


def parse(gin_files: Sequence[str] = (), gin_bindings: Sequence[str] = ()
          ) -> None:
  """Parses gin files, then bindings, in logit_gan's or compare_gan's names.

  Bare file names are found in gin_configs/; compare_gan's names are
  translated (`compat`).
  """
  register_configurables()
  for name in gin_files:
    if files.is_remote(name):  # A run's config in a gs:// model_dir.
      logging.info("Parsing gin file %s", name)
      _apply(files.read_text(name), name, None)
      continue
    path = find_gin_file(name)
    logging.info("Parsing gin file %s", path)
    _apply(path.read_text(), str(path), path.parent)
  if gin_bindings:
    _apply("\n".join(gin_bindings), "--gin_bindings",
           pathlib.Path(os.getcwd()))
