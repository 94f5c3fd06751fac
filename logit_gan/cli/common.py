"""Flags every command shares: gin files and bindings."""

from __future__ import annotations


from absl import flags

from logit_gan import config


def define_gin_flags() -> None:
  flags.DEFINE_multi_string(
      "gin_file", [], "gin config file: a path or a name in gin_configs/ "
      "(e.g. robust.gin). logit_gan's and compare_gan's names are accepted. "
      "Repeatable; later files override earlier ones.")
  flags.DEFINE_multi_string(
      "gin_bindings", [], "gin binding applied after the files, e.g. "
      "--gin_bindings='Generator.ch = 32'. Repeatable.")


def parse_gin_flags() -> None:
  """Parses --gin_file and --gin_bindings (see `config.parse`)."""
  config.parse(flags.FLAGS.gin_file, flags.FLAGS.gin_bindings)
