"""Tables of a network's stages: output shape and trainable parameters."""

from __future__ import annotations

import dataclasses
from typing import Callable

import keras
import tensorflow as tf

from logit_gan.discriminator import Discriminator
from logit_gan.generator import Generator


@dataclasses.dataclass(frozen=True)
class Stage:
  name: str
  output_shape: tuple  # With None for the batch.
  parameters: int


def count_parameters(layers: list[keras.layers.Layer]) -> int:
  return sum(int(tf.size(w)) for layer in layers
             for w in layer.trainable_weights)


def _stage_shapes(forward: Callable, *specs: tf.TensorSpec) -> dict[str, tuple]:
  shapes = {}

  @tf.autograph.experimental.do_not_convert
  def trace(*args):
    return forward(*args, training=False,
                   on_stage=lambda name, h: shapes.setdefault(
                       name, tuple(h.shape)))

  tf.function(trace).get_concrete_function(*specs)
  return shapes


def _stages(network, shapes: dict[str, tuple]) -> list[Stage]:
  return [Stage(name, shapes.get(name, ()), count_parameters(layers))
          for name, layers in network.stage_layers().items()]


def generator_stages(generator: Generator, num_classes: int) -> list[Stage]:
  generator.build_for(num_classes)
  shapes = _stage_shapes(generator.forward,
                         tf.TensorSpec([None, num_classes]),
                         tf.TensorSpec([None, generator.z_dim]))
  return _stages(generator, shapes)


def discriminator_stages(discriminator: Discriminator, num_classes: int,
                         resolution: int) -> list[Stage]:
  discriminator.build_for(num_classes, resolution)
  shapes = _stage_shapes(discriminator.features,
                         tf.TensorSpec([None, resolution, resolution, 3]))
  shapes["projection"] = (None,)
  return _stages(discriminator, shapes)


def format_table(title: str, stages: list[Stage], total: int) -> str:
  shape = lambda s: "[" + ", ".join("B" if d is None else str(d)
                                    for d in s) + "]"
  lines = [title, f"  {'stage':<16}{'output shape':<22}{'parameters':>14}"]
  lines += [f"  {s.name:<16}{shape(s.output_shape):<22}{s.parameters:>14,}"
            for s in stages]
  lines.append(f"  {'total trainable':<38}{total:>14,}")
  return "\n".join(lines)


def describe(generator: Generator, discriminator: Discriminator,
             num_classes: int) -> str:
  """Both networks' tables, as text; builds them if needed."""
  g_stages = generator_stages(generator, num_classes)
  d_stages = discriminator_stages(discriminator, num_classes,
                                  generator.resolution)
  g_total = count_parameters([generator])
  d_total = count_parameters([discriminator])
  if g_total != sum(s.parameters for s in g_stages):
    raise AssertionError("A generator layer belongs to no stage.")
  if d_total != sum(s.parameters for s in d_stages):
    raise AssertionError("A discriminator layer belongs to no stage.")
  return "\n\n".join([
      format_table(f"Generator: {generator.resolution}x{generator.resolution},"
                   f" ch {generator.ch}, n_c {num_classes}, z_dim "
                   f"{generator.z_dim}", g_stages, g_total),
      format_table(f"Discriminator: ch {discriminator.ch}, n_c {num_classes}",
                   d_stages, d_total)])
