"""The methods the paper compares its GAN inversion against, each usable
wherever an inversion model is (`logit_gan.analyses.inversion`):

  decoder.py           the up-convolutional decoder of Dosovitskiy & Brox
                       (2016a): logits -> image, deterministic.
  dosovitskiy_brox.py  that decoder trained with their pixel, feature and
                       adversarial losses (`DosovitskiyBrox`, trained by
                       bin/train with `train.method = 'dosovitskiy_brox'`
                       and exported by bin/export like the GAN).
"""
