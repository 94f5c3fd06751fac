"""The inversion methods `bin/train` trains, by name: gin `train.method`,
run.json's `method` and an export's `describe` say which.

  logit_gan         the paper's GAN: `gan.LogitGAN` with the BigGAN
                    `Generator` (gin `GAN.*`, `Generator.*`);
  dosovitskiy_brox  the Dosovitskiy & Brox (2016a) baseline:
                    `baselines.dosovitskiy_brox.DosovitskiyBrox` with the
                    `baselines.decoder.DecoderGenerator` (gin
                    `DosovitskiyBrox.*`, `DecoderGenerator.*`,
                    `comparator.*`, and `GAN.*` for what it shares).

Both train against the projection `Discriminator` (gin `Discriminator.*`).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from logit_gan import gan
from logit_gan.baselines import decoder
from logit_gan.baselines import dosovitskiy_brox
from logit_gan.generator import Generator


@dataclasses.dataclass(frozen=True)
class Method:
  """model: the LogitGAN (sub)class; generator: its generator class (gin
  makes it; `from_config` rebuilds it from run.json); arguments: the
  classifier -> the model's further keywords, read from gin at the entry
  point (in the strategy's scope)."""
  model: type
  generator: type
  arguments: Callable[..., dict]


METHODS = {
    "logit_gan": Method(gan.LogitGAN, Generator, lambda classifier: {}),
    "dosovitskiy_brox": Method(dosovitskiy_brox.DosovitskiyBrox,
                               decoder.DecoderGenerator,
                               dosovitskiy_brox.configured_arguments),
}


def get(name: str) -> Method:
  """The method `name`; a ValueError naming the known ones otherwise."""
  if name not in METHODS:
    raise ValueError(f"Unknown inversion method {name!r} (train.method, or "
                     f"run.json's method); choose one of {sorted(METHODS)}.")
  return METHODS[name]
