"""Datasets: tf.data pipelines and the offline `shapes` TFDS dataset.

Importing this package registers `logit_gan_shapes` with TFDS.
"""

from logit_gan.data import shapes  # noqa: F401  (registers the builder)
