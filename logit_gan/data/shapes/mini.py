"""`shapes_mini`: ImageNet in miniature, with every factor known.

Why. The paper finds that a 1000-way ImageNet classifier's logits keep colour,
texture and background, not only the class: its classes are fine-grained
(breeds, species, objects that differ by colour and texture) and their context
is correlated with the class (fish come with water), so the 1000 logits are a
similarity profile of the image. In the 10-class `shapes` world every colour
and background is independent of the class and there are only 10 logits: a
probe from them recovers the class, some scale, and nothing else (held-out
R^2 ~ 0 for colour). This configuration keeps the renderer and the stored
factors and changes the statistics in the two ways that matter:

1. Fine-grained classes, neighbours differing in one attribute. A class is a
   (shape, hue family, fill texture) triple: 10 shapes x 5 hue families x 2
   textures = 100 classes, named '<hue>_<texture>_<shape>' ('red_striped_star')
   and numbered label = (shape * 5 + hue_family) * 2 + texture. Every class
   has neighbours that differ only in the shape, only in the hue family or
   only in the texture, as dog breeds differ from each other by one trait.
   An image's logits on its neighbours then describe it: a red near the
   orange edge of 'red' scores higher on the 'yellow' twin of its class.
   Why these sizes: the classifiers and GANs see 16x16 pixels, where a shape
   is 8 to 13 pixels across. Hue families of 72 degrees stay recognisable
   under brightness, saturation and value changes, and leave room for the
   hue to vary within a class; a stripe of 2 to 5 pixels is visible at that
   size, while a dotted fill is not told from a striped one, so there are
   two textures (flat, striped), not three.
2. Context correlated with the class, not determined by it. Each class has a
   preferred background: a hue (at least 90 degrees from its own family's
   centre) and a kind (flat, gradient, stripes), drawn once from a fixed
   seed (`preferred_contexts`). With probability `CONTEXT_PROBABILITY` = 0.7
   a scene's background is typical (that kind, both colours within
   `CONTEXT_HUE_SPREAD` of that hue); otherwise it is drawn as in `shapes`
   (any kind, uniform RGB). A classifier may use the background but need
   not, and its logits then say something about the background.

Within a class, everything the class does not fix varies continuously: the
foreground hue inside the family (`foreground_hue`, turns in [0, 1)), its
saturation and value, the stripes' frequency and phase, position, scale,
rotation (which turns the stripes with the shape), brightness, and the
background's colours, orientation and stripe frequency. Colours are resampled
until both fill colours (the foreground and, striped, its darkened twin)
contrast with every background colour (`MIN_CONTRAST`), as in `shapes`.

Generative model of one scene, given its label (balanced, shuffled):

  shape, hue_family, texture   from the label
  foreground_hue               family centre + U(-0.1, 0.1) turns, mod 1
  foreground_saturation/value  U(0.6, 1)
  foreground_colour            HSV -> RGB of the three above
  texture_frequency            U(1, 1.5) cycles per shape radius (striped)
  texture_phase                U(0, 1) cycles (striped)
  typical_context              Bernoulli(0.7)
  background_kind              typical: the class's; else U{flat, gradient,
                               stripes}
  background_colours           typical: hue = preferred + U(-0.05, 0.05),
                               saturation U(0.35, 0.9), value U(0.3, 0.95),
                               each colour; else U[0, 1]^3 each (flat: equal)
  background_orientation,      as in `shapes`
  stripe_frequency, rotation,
  brightness
  scale                        U(0.25, 0.4) (larger than `shapes`: textures
                               and shapes must survive 16x16)
  centre_x, centre_y           U[scale + 0.02, 1 - scale - 0.02]

Out of distribution: the 5 unseen shapes (`OOD_CLASSES`) in the same style,
5 x 5 x 2 = 50 classes ('blue_flat_heart'), with their own preferred
contexts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from logit_gan.data.shapes import factors as scene_factors
from logit_gan.data.shapes.factors import (BACKGROUND_KINDS, BRIGHTNESS_RANGE,
                                           MIN_CONTRAST, ORIENTATION_RANGE,
                                           POSITION_MARGIN, ROTATION_RANGE,
                                           STRIPE_FREQUENCY_RANGE)

HUE_FAMILIES = ("red", "yellow", "green", "blue", "purple")
TEXTURES = ("flat", "striped")
RESOLUTIONS = (16, 32)

HUE_SPREAD = 0.5 / len(HUE_FAMILIES)  # Turns either side of a family centre.
SATURATION_RANGE = (0.6, 1.0)
VALUE_RANGE = (0.6, 1.0)
TEXTURE_FREQUENCY_RANGE = (1.0, 1.5)  # Cycles per unit of shape radius.
TEXTURE_PHASE_RANGE = (0.0, 1.0)
TEXTURE_DARKENING = 0.45  # The stripes' second colour: foreground times this.
SCALE_RANGE = (0.25, 0.4)
CONTEXT_PROBABILITY = 0.7
CONTEXT_HUE_SPREAD = 0.05
CONTEXT_SATURATION_RANGE = (0.35, 0.9)
CONTEXT_VALUE_RANGE = (0.3, 0.95)
PREFERRED_HUE_OFFSET = (0.25, 0.75)  # Turns from the class's family centre.
CONTEXT_TABLE_SEED = 20_21

FACTOR_RANGES = {
    **scene_factors.FACTOR_RANGES,
    **scene_factors.placement_ranges(SCALE_RANGE),
    "foreground_hue": (0.0, 1.0),
    "foreground_saturation": SATURATION_RANGE,
    "foreground_value": VALUE_RANGE,
    "texture_frequency": TEXTURE_FREQUENCY_RANGE,
    "texture_phase": TEXTURE_PHASE_RANGE,
}
FACTOR_NAMES = scene_factors.FACTOR_NAMES + (
    "shape", "hue_family", "texture", "foreground_hue",
    "foreground_saturation", "foreground_value", "texture_frequency",
    "texture_phase", "typical_context")
INTEGER_FACTORS = ("label", "background_kind", "shape", "hue_family",
                   "texture", "typical_context")


def class_names(shapes: Sequence[str]) -> tuple[str, ...]:
  """'<hue>_<texture>_<shape>' for every label, in label order."""
  return tuple(f"{hue}_{texture}_{shape}" for shape in shapes
               for hue in HUE_FAMILIES for texture in TEXTURES)


def class_attributes(labels: np.ndarray) -> dict[str, np.ndarray]:
  """int64 'shape', 'hue_family' and 'texture' indices of each label."""
  labels = np.asarray(labels, np.int64)
  texture = labels % len(TEXTURES)
  hue_family = labels // len(TEXTURES) % len(HUE_FAMILIES)
  shape = labels // (len(TEXTURES) * len(HUE_FAMILIES))
  return {"shape": shape, "hue_family": hue_family, "texture": texture}


def hue_family_centre(hue_family: np.ndarray) -> np.ndarray:
  """Turns in [0, 1): red at 0, then every 1 / len(HUE_FAMILIES)."""
  return np.asarray(hue_family) / len(HUE_FAMILIES)


def preferred_contexts(num_shapes: int) -> tuple[np.ndarray, np.ndarray]:
  """float32 [C] preferred background hue (turns) and int64 [C] background
  kind of each of the C classes of `num_shapes` shapes, from a fixed seed."""
  num_classes = num_shapes * len(HUE_FAMILIES) * len(TEXTURES)
  rng = np.random.default_rng([CONTEXT_TABLE_SEED, num_shapes])
  centre = hue_family_centre(class_attributes(np.arange(num_classes))
                             ["hue_family"])
  hue = (centre + rng.uniform(*PREFERRED_HUE_OFFSET, num_classes)) % 1
  kind = rng.integers(0, len(BACKGROUND_KINDS), num_classes)
  return hue.astype(np.float32), kind.astype(np.int64)


def hsv_to_rgb(hue, saturation, value) -> np.ndarray:
  """[..., 3] float32 RGB of hue (turns), saturation and value in [0, 1]."""
  hue, saturation, value = (np.asarray(a, np.float32)[..., None]
                            for a in (hue, saturation, value))
  k = (hue * 6 + np.array([5, 3, 1], np.float32)) % 6
  return value * (1 - saturation * np.clip(np.minimum(k, 4 - k), 0, 1))


def fill_colours(factors: Mapping[str, np.ndarray]) -> np.ndarray:
  """[N, 2, 3]: the fill's colours, the foreground and its darkened twin
  (flat fills: the foreground twice)."""
  foreground = np.asarray(factors["foreground_colour"], np.float32)
  striped = np.asarray(factors["texture"]) == TEXTURES.index("striped")
  second = np.where(striped[:, None], TEXTURE_DARKENING * foreground,
                    foreground)
  return np.stack([foreground, second], axis=1)


def contrast(factors: Mapping[str, np.ndarray]) -> np.ndarray:
  """[N] `shapes.contrast` of the worse of the two fill colours."""
  fills = fill_colours(factors)
  return np.minimum(
      scene_factors.contrast({**factors, "foreground_colour": fills[:, 0]}),
      scene_factors.contrast({**factors, "foreground_colour": fills[:, 1]}))


def _background_colours(rng, typical, preferred_hue) -> np.ndarray:
  """[N, 2, 3]: near the preferred hue where typical, else uniform RGB."""
  size = (len(typical), 2)
  hue = (preferred_hue[:, None] + rng.uniform(
      -CONTEXT_HUE_SPREAD, CONTEXT_HUE_SPREAD, size)) % 1
  near = hsv_to_rgb(hue, rng.uniform(*CONTEXT_SATURATION_RANGE, size),
                    rng.uniform(*CONTEXT_VALUE_RANGE, size))
  anywhere = rng.uniform(0, 1, size + (3,))
  return np.where(typical[:, None, None], near, anywhere).astype(np.float32)


def _foreground(rng, hue_family) -> dict[str, np.ndarray]:
  size = len(hue_family)
  hue = (hue_family_centre(hue_family)
         + rng.uniform(-HUE_SPREAD, HUE_SPREAD, size)) % 1
  saturation = rng.uniform(*SATURATION_RANGE, size)
  value = rng.uniform(*VALUE_RANGE, size)
  return {"foreground_hue": hue.astype(np.float32),
          "foreground_saturation": saturation.astype(np.float32),
          "foreground_value": value.astype(np.float32),
          "foreground_colour": hsv_to_rgb(hue, saturation, value)}


def _sample_colours(rng, fixed: Mapping[str, np.ndarray],
                    preferred_hue: np.ndarray) -> dict[str, np.ndarray]:
  """Foreground, background colours and brightness, resampled where the
  contrast is too low; `fixed` holds the label-derived and context factors."""
  num_examples = len(fixed["label"])
  colours = {}
  pending = np.arange(num_examples)
  while len(pending):
    candidate = _foreground(rng, fixed["hue_family"][pending])
    candidate["background_colours"] = _background_colours(
        rng, fixed["typical_context"][pending].astype(bool),
        preferred_hue[fixed["label"][pending]])
    candidate["brightness"] = scene_factors.uniform(
        rng, BRIGHTNESS_RANGE, len(pending))
    flat = fixed["background_kind"][pending] == BACKGROUND_KINDS.index("flat")
    candidate["background_colours"][flat, 1] = (
        candidate["background_colours"][flat, 0])
    accepted = contrast({**candidate, "texture":
                         fixed["texture"][pending]}) >= MIN_CONTRAST
    for name, values in candidate.items():
      colours.setdefault(name, np.zeros((num_examples,) + values.shape[1:],
                                        np.float32))
      colours[name][pending[accepted]] = values[accepted]
    pending = pending[~accepted]
  return colours


def _class_and_context(rng, num_examples: int,
                       num_shapes: int) -> dict[str, np.ndarray]:
  """Labels (balanced, shuffled), their attributes, typical_context and the
  background kind it implies."""
  num_classes = num_shapes * len(HUE_FAMILIES) * len(TEXTURES)
  labels = rng.permutation(np.arange(num_examples) % num_classes)
  typical = rng.uniform(size=num_examples) < CONTEXT_PROBABILITY
  _, preferred_kind = preferred_contexts(num_shapes)
  kinds = np.where(typical, preferred_kind[labels],
                   rng.integers(0, len(BACKGROUND_KINDS), num_examples))
  return {"label": labels.astype(np.int64), **class_attributes(labels),
          "typical_context": typical.astype(np.int64),
          "background_kind": kinds.astype(np.int64)}


def sample_factors(rng: np.random.Generator, num_examples: int, *,
                   num_shapes: int) -> dict[str, np.ndarray]:
  """Draws the factors of `num_examples` scenes; see the module docstring.

  Returns every name of `FACTOR_NAMES`: the `INTEGER_FACTORS` int64 [N],
  foreground_colour float32 [N, 3], background_colours [N, 2, 3], the rest
  float32 [N].
  """
  factors = _class_and_context(rng, num_examples, num_shapes)
  uniform = scene_factors.uniform
  scale = uniform(rng, SCALE_RANGE, num_examples)
  low, high = scale + POSITION_MARGIN, 1 - scale - POSITION_MARGIN
  factors.update({
      "background_orientation": uniform(rng, ORIENTATION_RANGE, num_examples),
      "stripe_frequency": uniform(rng, STRIPE_FREQUENCY_RANGE, num_examples),
      "scale": scale,
      "centre_x": low + (high - low) * uniform(rng, (0, 1), num_examples),
      "centre_y": low + (high - low) * uniform(rng, (0, 1), num_examples),
      "rotation": uniform(rng, ROTATION_RANGE, num_examples),
      "texture_frequency": uniform(rng, TEXTURE_FREQUENCY_RANGE,
                                   num_examples),
      "texture_phase": uniform(rng, TEXTURE_PHASE_RANGE, num_examples),
  })
  preferred_hue, _ = preferred_contexts(num_shapes)
  factors.update(_sample_colours(rng, factors, preferred_hue))
  return factors


def check_resolution(resolution: int) -> None:
  """Raises a ValueError naming the allowed resolutions."""
  if resolution not in RESOLUTIONS:
    raise ValueError(f"The shapes_mini dataset has resolutions "
                     f"{RESOLUTIONS}, not {resolution!r}.")

