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


class MemoryModel:
  """A fake inversion model that knows `images` [N, R, R, 3]: classify
  gives image i the logits 10·onehot(i) (n_c = N; unknown images get
  zeros), and reconstruct returns images[shuffle[argmax]] — the original
  itself with the identity `shuffle` (a perfect inversion), another image
  with a derangement. Noise is ignored."""

  def __init__(self, images, name: str = "memory", shuffle=None):
    from logit_gan.analyses import inversion
    import numpy as np
    self._base = inversion.InversionModel
    self.images = np.asarray(images, np.float32)
    self.name, self.method, self.deterministic = name, "memory", True
    self.num_classes = len(self.images)
    self.z_dim, self.resolution = 2, self.images.shape[1]
    self.batch_size, self.dataset, self.class_names = 64, None, None
    self.shuffle = (np.arange(len(self.images)) if shuffle is None
                    else np.asarray(shuffle))

  def classify(self, images):
    import numpy as np
    flat = self.images.reshape(len(self.images), -1)
    logits = np.zeros((len(images), self.num_classes), np.float32)
    for row, image in enumerate(np.asarray(images, np.float32)):
      match = np.where(np.all(np.isclose(flat, image.ravel(), atol=1e-6),
                              axis=1))[0]
      if len(match):
        logits[row, match[0]] = 10.0
    return logits

  def reconstruct(self, logits, noise):
    import numpy as np
    del noise
    return self.images[self.shuffle[np.asarray(logits).argmax(-1)]]

  def sample_noise(self, count, seed):
    import numpy as np
    return np.random.default_rng(seed).normal(size=(count, 2))

  def describe(self):
    return {"name": self.name, "method": self.method}
