"""`adversarial`: reconstructions of adversarially attacked images (the
paper's section 5.4, Fig. 7; issue #23, experiment 9).

As the paper selects them: the test images (the first `num_images`) that
every model's classifier classifies correctly (labels needed). Each is
attacked against each model's own classifier with FGSM (the package's
`fgsm_attack`), ε = 0.2 in the package's [-1, 1] pixel units (the paper's
0.1 in [0, 1] units), or with PGD (`attack="pgd"`, `pgd_steps` steps of
ε/4, random start from `seed`). Reconstructions use one noise per image
from `seed`. Per model (per-image CIs, paired between models on the same
images):

  attack_success       Φ(x_adv) misclassifies (0/1);
  reconstruction_change  rmse between G(Φ(x)) and G(Φ(x_adv)): how far the
                       attack moves the reconstruction;
  recon_original_class  Φ(G(Φ(x_adv))) is the true class (0/1), over the
                       successful attacks (NaN otherwise);
  recon_attacked_class  Φ(G(Φ(x_adv))) is the attacked class Φ(x_adv),
                       over the successful attacks.

The paper: reconstructions of attacked images show the attacked class for
the standard model and stay close to the original for the robust one.
ε = 0 changes nothing (attack_success 0, reconstruction_change 0).
"""

from __future__ import annotations

import gin
import numpy as np
import tensorflow as tf

from logit_gan.analyses import figures
from logit_gan.analyses import metrics
from logit_gan.analyses import results as results_lib
from logit_gan.classifiers import adversarial as attacks

ATTACKS = ("fgsm", "pgd")


def attack_images(model, images: np.ndarray, labels: np.ndarray, *,
                  attack: str, epsilon: float, pgd_steps: int,
                  seed: int) -> np.ndarray:
  """Adversarial images [N, R, R, 3] against `model`'s classifier, in
  batches of model.batch_size."""
  if attack not in ATTACKS:
    raise ValueError(f"Unknown attack {attack!r}; choose from {ATTACKS}.")
  out = []
  for start in range(0, len(images), model.batch_size):
    batch = tf.constant(images[start:start + model.batch_size])
    batch_labels = tf.constant(labels[start:start + model.batch_size])
    if attack == "fgsm":
      adversarial = attacks.fgsm_attack(model.classify_tensor, batch,
                                        batch_labels, epsilon=epsilon)
    else:
      adversarial = attacks.pgd_attack(
          model.classify_tensor, batch, batch_labels, epsilon=epsilon,
          step_size=epsilon / 4, steps=pgd_steps, seed=seed + start)
    out.append(np.asarray(adversarial))
  return np.concatenate(out)


def _correct_everywhere(models, images, labels) -> np.ndarray:
  """Indices of the images every model classifies correctly."""
  correct = np.ones(len(images), bool)
  for model in models:
    correct &= model.classify(images).argmax(-1) == labels
  return np.where(correct)[0]


def _model_numbers(model, images, labels, noise, adversarial) -> dict:
  attacked_class = model.classify(adversarial).argmax(-1)
  clean = model.reconstruct(model.classify(images), noise)
  attacked = model.reconstruct(model.classify(adversarial), noise)
  recon_class = model.classify(attacked).argmax(-1)
  success = attacked_class != labels
  only_successful = np.where(success, 1.0, np.nan)
  return {"attack_success": success.astype(np.float64),
          "reconstruction_change": metrics.rmse(clean, attacked),
          "recon_original_class": only_successful * (recon_class == labels),
          "recon_attacked_class": only_successful * (
              recon_class == attacked_class),
          "_images": (adversarial, clean, attacked)}


@gin.configurable("adversarial", denylist=["models", "examples"])
def run(models, examples, *, seed: int = 0, attack: str = "fgsm",
        epsilon: float = 0.2, pgd_steps: int = 10, num_images: int = 500,
        grid_images: int = 6) -> results_lib.Result:
  """Attack, then reconstruct (module docstring). epsilon in [-1, 1]
  pixel units."""
  if examples.labels is None:
    raise ValueError("adversarial needs labelled test images (it attacks "
                     "images the classifiers get right); give a dataset, "
                     "not image files.")
  images, labels = examples.images[:num_images], examples.labels[:num_images]
  chosen = _correct_everywhere(models, images, labels)
  if not len(chosen):
    raise ValueError("No test image is classified correctly by every "
                     "model; adversarial has nothing to attack.")
  images, labels = images[chosen], labels[chosen]
  result = results_lib.Result(
      "adversarial", settings={
          "attack": attack, "epsilon": epsilon, "pgd_steps": pgd_steps,
          "num_images": num_images, "seed": seed,
          "images_correct_everywhere": int(len(chosen))},
      models=[m.describe() for m in models],
      examples=examples.subset(chosen).describe())
  numbers = {}
  for model in models:
    adversarial = attack_images(model, images, labels, attack=attack,
                                epsilon=epsilon, pgd_steps=pgd_steps,
                                seed=seed)
    numbers[model.name] = _model_numbers(
        model, images, labels, model.sample_noise(len(images), seed),
        adversarial)
  for name in ("attack_success", "reconstruction_change",
               "recon_original_class", "recon_attacked_class"):
    result.add_per_image(name, {m: n[name] for m, n in numbers.items()},
                         seed=seed)
  rows, column_labels = [images[:grid_images]], ["original"]
  for model_name, n in numbers.items():
    rows += [part[:grid_images] for part in n["_images"]]
    column_labels += [f"{model_name} adv", "recon", "recon adv"]
  result.figures["adversarial.png"] = figures.image_grid(
      [np.stack(column) for column in zip(*rows)],
      column_labels=column_labels)
  result.summary = "; ".join(
      f"{m}: success {result.get('attack_success', m)}, reconstruction "
      f"shows the attacked class {result.get('recon_attacked_class', m)}"
      for m in numbers)
  return result
