"""Datasets: tf.data pipelines and the offline `shapes` TFDS dataset."""
