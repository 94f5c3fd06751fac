"""Input checks shared by the public entry points.

Checks of static shapes run everywhere; checks of values (NaN, Inf) run only
eagerly, at the public entry points, never inside a compiled training step.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import tensorflow as tf


def _shape_text(shape: Sequence[Optional[int]]) -> str:
  return "[" + ", ".join("B" if d is None else str(d) for d in shape) + "]"


def check_shape(name: str, shape, expected: Sequence[Optional[int]],
                hint: str = "") -> None:
  """Raises ValueError unless the static `shape` matches `expected`.

  `None` in `expected` matches any size (the batch dimension).
  """
  shape = tuple(shape)
  ok = len(shape) == len(expected) and all(
      e is None or s is None or int(s) == e for s, e in zip(shape, expected))
  if not ok:
    got = _shape_text(shape)
    raise ValueError(
        f"{name} has shape {got}; expected {_shape_text(expected)}."
        + (f" {hint}" if hint else ""))


def check_same_batch(names: Sequence[str], tensors: Sequence) -> None:
  sizes = [t.shape[0] if len(t.shape) else None for t in tensors]
  known = {int(s) for s in sizes if s is not None}
  if len(known) > 1:
    listed = ", ".join(f"{n}: {s}" for n, s in zip(names, sizes))
    raise ValueError(f"Batch sizes differ ({listed}); they must be equal.")


def check_finite(name: str, tensor) -> None:
  """Raises ValueError if an eager `tensor` holds NaN or Inf."""
  if not tf.executing_eagerly() or not tensor.dtype.is_floating:
    return
  values = np.asarray(tensor)
  bad = ~np.isfinite(values)
  if bad.any():
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    raise ValueError(
        f"{name} contains {int(bad.sum())} non-finite value(s) (NaN or Inf), "
        f"first at index {where}. Check the classifier or the input pipeline "
        "that produced it.")


def parse_block_names(spec: Optional[str], num_blocks: int,
                      default: Sequence[str], what: str) -> frozenset[str]:
  """Parses compare_gan's comma-separated block list ("B1,B4").

  None selects `default`; "" selects no block. Unknown names raise, so that a
  typo does not silently drop a self-attention block.
  """
  if spec is None:
    return frozenset(default)
  names = frozenset(n.strip() for n in spec.split(",") if n.strip())
  valid = [f"B{i + 1}" for i in range(num_blocks)]
  unknown = sorted(names - set(valid))
  if unknown:
    raise ValueError(
        f"{what}: blocks_with_attention={spec!r} names {unknown}, but this "
        f"network has blocks {valid}.")
  return names


def channel_multipliers(given: Optional[Sequence[int]],
                        default: Sequence[int], resolution: int,
                        what: str) -> tuple[int, ...]:
  """`given` (or `default` when None) as a tuple, after checking it has one
  positive integer per stage of the network at this resolution."""
  if given is None:
    return tuple(default)
  values = tuple(given)
  if (len(values) != len(default)
      or not all(isinstance(v, int) and v > 0 for v in values)):
    raise ValueError(
        f"{what}.channel_multipliers = {given!r}: at resolution {resolution} "
        f"the {what.lower()} has {len(default)} stages, so give "
        f"{len(default)} positive integers, e.g. {tuple(default)} (the "
        f"default).")
  return values
