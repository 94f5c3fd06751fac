"""`adversarial`: reconstructions of adversarially attacked images (the
paper's section 5.4, Fig. 7; issue #23, experiment 9).

Which images (of the first `num_images`): with `select="correct"` (the
default, as the paper selects them) those every model's classifier
classifies correctly (labels needed); with `select="all"` every image (no
labels needed). Each is attacked against each model's own classifier Φ,
away from y = Φ's predicted class of the clean image (the true class for
"correct"), with FGSM (the package's `fgsm_attack`), ε = 0.2 in the
package's [-1, 1] pixel units (the paper's 0.1 in [0, 1] units), or with
PGD (`attack="pgd"`, `pgd_steps` steps of ε/4 from a random start).
Reconstructions use one noise draw per image. Per model (per-image CIs,
paired between models on the same images):

  attack_success         Φ(x_adv) is not y (0/1);
  reconstruction_change  rmse between G(Φ(x)) and G(Φ(x_adv)): how far the
                         attack moves the reconstruction;
  recon_original_class   Φ(G(Φ(x_adv))) is y (0/1), over the successful
                         attacks (NaN otherwise);
  recon_attacked_class   Φ(G(Φ(x_adv))) is the attacked class Φ(x_adv),
                         over the successful attacks;
  images_attacked        how many images were attacked (exact).

When no image is classified correctly by every model ("correct"), only
images_attacked (0) is reported and the summary says so. The paper:
reconstructions of attacked images show the attacked class for the
standard model and stay close to the original for the robust one. ε = 0
changes nothing (attack_success 0, reconstruction_change 0). Figure
`adversarial.png`: per image, the original, then per model the attacked
image, the clean and the attacked image's reconstructions.
"""

from __future__ import annotations

from typing import Optional

import gin
import numpy as np
import tensorflow as tf

from logit_gan.analyses import common
from logit_gan.analyses import figures
from logit_gan.analyses import metrics
from logit_gan.analyses import results as results_lib
from logit_gan.classifiers import adversarial as attacks

NAME = "adversarial"
ATTACKS = ("fgsm", "pgd")
SELECTIONS = ("correct", "all")
NUMBERS = ("attack_success", "reconstruction_change",
           "recon_original_class", "recon_attacked_class")


def attack_images(model, images: np.ndarray, labels: np.ndarray, *,
                  attack: str, epsilon: float, pgd_steps: int,
                  seed: int) -> np.ndarray:
  """Adversarial images [N, R, R, 3] against `model`'s classifier, away
  from `labels` [N], in batches of model.batch_size."""
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
          step_size=epsilon / 4, steps=pgd_steps,
          seed=common.derive_seed(seed, NAME, "pgd", start))
    out.append(np.asarray(adversarial))
  return np.concatenate(out)


def _check(attack: str, select: str, epsilon: float, pgd_steps: int,
           labelled: bool) -> None:
  if attack not in ATTACKS or select not in SELECTIONS:
    raise ValueError(f"{NAME}: attack must be one of {ATTACKS} and select "
                     f"one of {SELECTIONS}, not {attack!r} and {select!r}.")
  if not epsilon >= 0 or pgd_steps < 1:
    raise ValueError(f"{NAME}: epsilon must be >= 0 and pgd_steps >= 1, "
                     f"not {epsilon!r} and {pgd_steps!r}.")
  if select == "correct" and not labelled:
    raise ValueError(f"{NAME} needs labelled test images to attack the "
                     "ones every model gets right (the paper's choice): "
                     "give a dataset, not image files, or set "
                     f"{NAME}.select = 'all'.")


def _model_numbers(model, images, original, noise, adversarial) -> dict:
  """Per-image numbers [N] of one model (module docstring), and the
  images of the figure under "_images"."""
  attacked_class = model.classify(adversarial).argmax(-1)
  clean = model.reconstruct(model.classify(images), noise)
  attacked = model.reconstruct(model.classify(adversarial), noise)
  recon_class = model.classify(attacked).argmax(-1)
  success = attacked_class != original
  only_successful = np.where(success, 1.0, np.nan)
  return {"attack_success": success.astype(np.float64),
          "reconstruction_change": metrics.rmse(clean, attacked),
          "recon_original_class": only_successful * (
              recon_class == original),
          "recon_attacked_class": only_successful * (
              recon_class == attacked_class),
          "_images": (adversarial, clean, attacked)}


@gin.configurable(NAME, denylist=["models", "examples"])
def run(models, examples, *, seed: int = 0, attack: str = "fgsm",
        epsilon: float = 0.2, pgd_steps: int = 10, select: str = "correct",
        num_images: Optional[int] = 500,
        grid_images: int = 6) -> results_lib.Result:
  """Attack, then reconstruct (module docstring). epsilon in [-1, 1] pixel
  units; `seed` seeds the noise, PGD's start and the bootstrap."""
  _check(attack, select, epsilon, pgd_steps, examples.labels is not None)
  result, examples = common.begin(NAME, models, examples, dict(
      seed=seed, attack=attack, epsilon=epsilon, pgd_steps=pgd_steps,
      select=select, num_images=num_images, grid_images=grid_images),
                                  num_images)
  predicted = {m.name: m.classify(examples.images).argmax(-1)
               for m in models}
  chosen = np.arange(len(examples))
  if select == "correct":
    chosen = np.where(np.all([p == examples.labels for p in
                              predicted.values()], axis=0))[0]
  result.settings["images_attacked"] = int(len(chosen))
  for model in models:
    result.add("images_attacked", model.name,
               results_lib.exact(len(chosen), len(examples)))
  if not len(chosen):
    result.summary = ("no test image is classified correctly by every "
                      f"model: nothing attacked ({NAME}.select = 'all' "
                      "attacks every image)")
    return result
  examples = examples.subset(chosen)
  result.examples = examples.describe()
  numbers = {}
  for model in models:
    original = predicted[model.name][chosen]
    adversarial = attack_images(model, examples.images, original,
                                attack=attack, epsilon=epsilon,
                                pgd_steps=pgd_steps, seed=seed)
    numbers[model.name] = _model_numbers(
        model, examples.images, original, model.sample_noise(
            len(examples), common.derive_seed(seed, NAME, "noise")),
        adversarial)
  common.add_numbers(result, numbers, NUMBERS, seed)
  result.figures["adversarial.png"] = _figure(examples.images[:grid_images],
                                              numbers)
  result.summary = "; ".join(
      f"{m}: success {result.get('attack_success', m)}, reconstruction "
      f"shows the attacked class {result.get('recon_attacked_class', m)}"
      for m in numbers)
  return result


def _figure(originals: np.ndarray, numbers: dict) -> bytes:
  """One row per image: the original, then per model the attacked image
  and the clean and attacked reconstructions."""
  count = len(originals)
  columns, labels = [originals], ["original"]
  for model_name, n in numbers.items():
    columns += [part[:count] for part in n["_images"]]
    labels += [f"{model_name} adv", "recon", "recon adv"]
  return figures.image_grid([np.stack(row) for row in zip(*columns)],
                            column_labels=labels)
