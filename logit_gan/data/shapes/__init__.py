"""The offline `shapes` dataset: coloured shapes with known nuisance factors.

A TFDS dataset, `logit_gan_shapes`, generated locally and deterministically
from a seed (nothing is downloaded), registered when `logit_gan.data` is
imported. It stands in for ImageNet on machines without it, and, because every
nuisance factor of every image is stored beside it, lets the analyses ask what
a classifier's logits keep: render the same scene with one factor changed
(`render_examples`) and compare the reconstructions.

Configs (`tfds.load('logit_gan_shapes/32', data_dir=...)`; the pipeline serves
other resolutions by area-resizing the next larger config):

  name     resolution  classes                   splits
  32, 64   32, 64      10 in-distribution        train 50,000, test 10,000
  ood_32,  32, 64      5 never seen in training  train 2,000, test 2,000
  ood_64

ImageNet in miniature, `logit_gan_shapes_mini` (`mini.py` documents the
generative model and why): 100 fine-grained classes, each a shape, a hue
family and a fill texture ('red_striped_star'), with backgrounds correlated
with the class (probability 0.7) and 9 more factors stored per image:

  name     resolution  classes                   splits
  16, 32   16, 32      100 in-distribution       train 100,000, test 10,000
  ood_16,  16, 32      50: the 5 unseen shapes   train 5,000, test 5,000
  ood_32               in the same style

Modules, one concept each:

  geometry.py  the shapes' outlines (signed distances) and the class lists
  factors.py   the factors of a scene, their ranges, sampling and contrast
  mini.py      ImageNet in miniature: its classes, context and factors
  render.py    factors -> uint8 images (both datasets), resolutions
  builder.py   the two TFDS builders and their configs

Determinism: a split's factors come from one generator,
`np.random.default_rng([seed, ood, split_index])` (`[seed, ood, split_index,
1]` for the miniature), and each image depends only on its own factors, so the
same seed gives the same bytes however the work is chunked. The configs of one
dataset share their seed: they hold the same scenes at two resolutions.
"""

from logit_gan.data.shapes import mini
from logit_gan.data.shapes.builder import (MINI_NAME, NAME, OOD_TEST_SIZE,
                                           OOD_TRAIN_SIZE, SPLIT_INDEX,
                                           TEST_SIZE, TRAIN_SIZE,
                                           LogitGanShapes, LogitGanShapesMini,
                                           MiniConfig, ShapesConfig,
                                           make_config, make_mini_config,
                                           split_factors)
from logit_gan.data.shapes.factors import (BACKGROUND_KINDS, BRIGHTNESS_RANGE,
                                           FACTOR_NAMES, FACTOR_RANGES,
                                           MIN_CONTRAST, ORIENTATION_RANGE,
                                           POSITION_MARGIN, ROTATION_RANGE,
                                           SCALE_RANGE,
                                           STRIPE_FREQUENCY_RANGE, contrast,
                                           sample_factors)
from logit_gan.data.shapes.geometry import (IN_DISTRIBUTION_CLASSES,
                                            OOD_CLASSES, SIGNED_DISTANCES,
                                            SignedDistance)
from logit_gan.data.shapes.render import (RESOLUTIONS, check_resolution,
                                          render_examples,
                                          render_mini_examples,
                                          stored_resolution)
