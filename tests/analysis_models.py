"""Tiny exported inversion models for the analyses' tests: a random small
generator (16x16, 10 logits) and a random small ResNet, exported with
`export.export` exactly as bin/export writes them (no training: the
analyses' arithmetic does not need a good model). `tiny_exports` in
conftest.py builds two, "robust" and "standard", once per session."""

from __future__ import annotations

import json
import os

import keras

from logit_gan import export
from logit_gan.classifiers.classifier import Classifier
from logit_gan.classifiers.small_resnet import small_resnet
from logit_gan.generator import Generator

NUM_CLASSES, RESOLUTION, Z_DIM = 10, 16, 21


def tiny_generator(seed: int, num_classes: int = NUM_CLASSES) -> Generator:
  keras.utils.set_random_seed(seed)
  generator = Generator(ch=4, resolution=RESOLUTION, z_dim=Z_DIM,
                        embed_dim=16, use_moving_averages=True)
  generator.build_for(num_classes)
  return generator


def tiny_classifier(seed: int, num_classes: int = NUM_CLASSES) -> Classifier:
  keras.utils.set_random_seed(seed)
  return Classifier.from_keras(
      small_resnet(num_classes, resolution=RESOLUTION, width=4),
      name=f"tiny_resnet_{seed}")


def tiny_export(root: str, name: str, seed: int,
                dataset: dict | None = None) -> str:
  """Exports a random tiny generator and classifier to root/name; returns
  the version folder."""
  generator = tiny_generator(seed)
  classifier = tiny_classifier(seed + 1000)
  metadata = {"classifier": classifier.name, "training_step": 0,
              "gin_config": "", "method": "logit_gan",
              "noise_distribution": "normal",
              "dataset": json.dumps(dataset or {"name": "shapes_mini"})}
  return export.export(generator, os.path.join(root, name),
                       metadata=metadata, classifier=classifier)


def tiny_models(dataset: dict | None = None) -> list:
  """[robust, standard]: random tiny InProcessModels (fast: nothing is
  exported), for the experiments' known-answer tests."""
  from logit_gan.analyses import inversion
  return [inversion.InProcessModel(
      tiny_generator(seed), tiny_classifier(seed + 1000), name=name,
      dataset=dataset or {"name": "shapes_mini"})
          for name, seed in (("robust", 1), ("standard", 2))]
