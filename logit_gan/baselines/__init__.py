"""The methods the paper compares its GAN inversion against, each usable
wherever an inversion model is (`logit_gan.analyses.inversion`):

  optimization.py        optimization-based inversion (Mahendran & Vedaldi
                         2015; the paper's equation (1); Engstrom et al.
                         2019 with robust classifiers): gradient descent in
                         image space, one image at a time. The slow path.
  optimization_model.py  `OptimizationInversion`, that method as an
                         `InversionModel` (its noise picks the starting
                         images).
  decoder.py             the up-convolutional decoder of Dosovitskiy & Brox
                         (2016a): logits -> image, deterministic.
  dosovitskiy_brox.py    that decoder trained with their pixel, feature and
                         adversarial losses (`DosovitskiyBrox`, trained by
                         bin/train with `train.method = 'dosovitskiy_brox'`
                         and exported by bin/export like the GAN).
"""
