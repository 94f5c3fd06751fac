"""The methods the paper compares its GAN inversion against, each usable
wherever an inversion model is (`logit_gan.analyses.inversion`):

  optimization.py        optimization-based inversion (Mahendran & Vedaldi
                         2015; the paper's equation (1); Engstrom et al.
                         2019 with robust classifiers): gradient descent in
                         image space, one image at a time. The slow path.
  optimization_model.py  `OptimizationInversion`, that method as an
                         `InversionModel` (its noise picks the starting
                         images).
"""
