"""The Dosovitskiy & Brox (2016a, "Generating images with perceptual
similarity metrics based on deep networks", DeePSiM) decoder: the paper's
learned baseline, which it retrained on robust ResNet-152 logits.

A deterministic decoder G (`decoder.DecoderGenerator`) maps the logits
z = Φ(x) of an image x to an image G(z), trained with DeePSiM's three losses
(their equation (1), L = λ_feat L_feat + λ_adv L_adv + λ_img L_img):

  pixel        L_img  = mean (G(z) − x)²        over the R·R·3 values;
  feature      L_feat = mean (C(G(z)) − C(x))²  over the features of a
               frozen comparator network C (`Comparator`): by default the
               inverted classifier's own penultimate features (the small
               ResNet's global pool), or a named layer, or any frozen Keras
               model;
  adversarial  L_adv  = the GAN loss of G against a discriminator that also
               sees the logits (theirs takes the features as an extra
               input; here the package's projection `Discriminator`).
Each is averaged over the batch.

Default weights, from the paper (section 4, "Training details": λ_adv 100,
λ_img 2e-6, λ_feat 0.01 with the AlexNet conv5 comparator they used in most
experiments). Their Caffe losses are per-image sums, halved (EuclideanLoss),
over 227x227x3 pixels on the 0-255 scale and 13x13x256 conv5 features; a
sum's weight does not carry over to other image sizes and feature widths,
so the weights here are theirs per value, on means:
  adversarial_loss_weight = 100      λ_adv;
  pixel_loss_weight ≈ 2513           λ_img · ½ · 227·227·3 · 127.5²
                                     ([-1, 1] pixels are 127.5 units);
  feature_loss_weight ≈ 216.3        λ_feat · ½ · 13·13·256 (a comparator's
                                     features have their own scale: retune
                                     it for another comparator).
Taken literally (sums over 16x16x3 values and 128 pooled features), their
weights leave the adversarial term 50 times the others and the decoder at
chance (docs/dosovitskiy_brox.md). Their adversarial loss is the
non-saturating cross-entropy (gin `loss.fn = @non_saturating`); D and G
alternate on the same batch (`GAN.disc_iters = 1`,
`GAN.fresh_generator_batch = False`), Adam (2e-4, β1 0.9, β2 0.999), no
EMA: gin_configs/shapes_mini/dosovitskiy_brox.gin sets these.

The model is `DosovitskiyBrox`, a `gan.LogitGAN` whose generator step adds
the pixel and feature terms (its step already sees the real images its
logits are of), so `bin/train`'s trainer trains it (gin
`train.method = 'dosovitskiy_brox'`: checkpoints, resume, summaries of each
term, evaluation), `bin/export` exports it with the GAN's signatures (noise
accepted and ignored; `describe` says method 'dosovitskiy_brox',
deterministic 1) and `trained.load` rebuilds it from run.json.

Deviations from the paper besides the decoder's (decoder.py): the
discriminator is the package's projection D with spectral norm; their
pause of D's training when its loss falls below a tenth of G's adversarial
loss is not implemented; the comparator is the inverted classifier (theirs
was AlexNet, which they also inverted).
"""

from __future__ import annotations

from typing import Callable, Optional

import gin
import keras
import numpy as np
import tensorflow as tf

from logit_gan import files
from logit_gan import gan as gan_lib
from logit_gan import losses
from logit_gan.classifiers.classifier import Classifier, shape_text

# The paper's weights per compared value (see the module docstring).
ADVERSARIAL_WEIGHT = 100.0
PIXEL_WEIGHT = 2e-6 * 0.5 * 227 * 227 * 3 * 127.5 ** 2
FEATURE_WEIGHT = 0.01 * 0.5 * 13 * 13 * 256


def squared_error(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
  """mean (a − b)² over all values, i.e. over each example's values, then
  the batch. a, b: [B, ...] of one shape. A scalar."""
  a = tf.cast(a, tf.float32)
  b = tf.cast(b, tf.float32)
  if not a.shape.is_compatible_with(b.shape):
    raise ValueError(f"Squared error of tensors of different shapes "
                     f"{shape_text(a.shape)} and {shape_text(b.shape)}.")
  return tf.reduce_mean(tf.square(a - b))


def pixel_loss(real: tf.Tensor, fake: tf.Tensor) -> tf.Tensor:
  """L_img: the mean squared difference of images [B, R, R, 3] in [-1, 1]
  (0 for identical images)."""
  return squared_error(fake, real)


def feature_loss(comparator: "Comparator", real: tf.Tensor,
                 fake: tf.Tensor) -> tf.Tensor:
  """L_feat: the mean squared difference of the comparator C's features of
  images [B, R, R, 3] in [-1, 1]; gradients reach `fake` only."""
  return squared_error(comparator(fake), tf.stop_gradient(comparator(real)))


def _layer_model(model: keras.Model, layer: str) -> keras.Model:
  """A sub-model from `model`'s inputs to its layer `layer`'s output."""
  names = [each.name for each in model.layers]
  if layer not in names:
    raise ValueError(
        f"The comparator {model.name!r} has no layer {layer!r}, so it cannot "
        f"give that layer's features; its layers are {names}. Set "
        "comparator.layer to one of them, or leave it unset (the "
        "classifier's penultimate features; another model's output).")
  try:
    output = model.get_layer(layer).output
    return keras.Model(_inputs(model), output, name=f"{model.name}_{layer}")
  except (AttributeError, ValueError) as error:
    raise ValueError(
        f"Layer {layer!r} of the comparator {model.name!r} has no single "
        f"output reachable from the model's inputs ({error}); choose a "
        "layer of a functional model, used once.") from None


class Comparator:
  """The frozen network C of the feature loss: images [B, R, R, 3] in
  [-1, 1] -> float32 features [B, ...], differentiable in the images.

  Args:
    model: any Keras model (frozen here: `trainable = False`).
    layer: the name of the layer whose output are the features; None: the
      model's output.
    prepare: images in [-1, 1] -> the model's input; None: resized
      bilinearly to the model's square input size, if it has one (a user's
      model then takes the package's [-1, 1] images as they are).
    name: for messages; default the model's.
  `Comparator.of_classifier` makes the default: the inverted classifier.
  """

  def __init__(self, model: keras.Model, *, layer: Optional[str] = None,
               prepare: Optional[Callable[[tf.Tensor], tf.Tensor]] = None,
               name: Optional[str] = None):
    if not isinstance(model, keras.Model):
      raise ValueError(f"A comparator is a keras.Model, not "
                       f"{type(model).__name__}.")
    model.trainable = False
    self.name = name or model.name
    self.layer = layer
    self.model = model if layer is None else _layer_model(model, layer)
    self._prepare = prepare or _resize_for(model)

  @classmethod
  def of_classifier(cls, classifier: Classifier,
                    layer: Optional[str] = None) -> "Comparator":
    """The classifier's own features: its layer `layer`, or (None) the
    input of its last layer (the penultimate features: the small ResNet's
    global pool), after the classifier's resizing and preprocessing."""
    model = classifier.keras_model
    if model is None:
      raise ValueError(
          f"The classifier {classifier.name!r} is not a Keras model (a "
          "SavedModel), so its layers cannot be read: set comparator.path "
          "to a Keras model file whose features the feature loss compares.")
    if layer is None:
      last = model.layers[-1]
      layer = _producer(last.input) or last.name
      features = keras.Model(_inputs(model), last.input,
                             name=f"{model.name}_penultimate")
      comparator = cls(features, prepare=classifier.network_input,
                       name=f"{classifier.name}/{layer}")
      comparator.layer = layer
      return comparator
    return cls(model, layer=layer, prepare=classifier.network_input,
               name=f"{classifier.name}/{layer}")

  def __call__(self, images: tf.Tensor) -> tf.Tensor:
    features = self.model(self._prepare(tf.cast(images, tf.float32)),
                          training=False)
    if isinstance(features, (list, tuple, dict)):
      raise ValueError(
          f"The comparator {self.name!r} gives {len(features)} outputs; the "
          "feature loss compares one tensor: set comparator.layer.")
    return tf.cast(features, tf.float32)

  def feature_shape(self, resolution: int) -> tuple:
    """Its features' shape [B, ...] for images [B, R, R, 3], R =
    `resolution`; a clear error if it cannot take them."""
    try:
      features = self(tf.zeros([1, resolution, resolution, 3]))
    except (ValueError, TypeError, tf.errors.InvalidArgumentError) as error:
      raise ValueError(
          f"The comparator {self.name!r} cannot take the decoder's images "
          f"[B, {resolution}, {resolution}, 3] in [-1, 1]: "
          f"{str(error).splitlines()[0][:300]}") from None
    return (None,) + tuple(features.shape[1:])


def _inputs(model: keras.Model):
  """The model's symbolic input, alone when it has one (a sub-model then
  takes a tensor, not a list of one)."""
  inputs = model.inputs
  return inputs[0] if len(inputs) == 1 else inputs


def _producer(tensor) -> Optional[str]:
  """The name of the layer that made a symbolic Keras tensor, if known."""
  history = getattr(tensor, "_keras_history", None)
  return getattr(history[0], "name", None) if history else None


def _resize_for(model: keras.Model) -> Callable[[tf.Tensor], tf.Tensor]:
  shape = getattr(model, "input_shape", None)
  if not (isinstance(shape, tuple) and len(shape) == 4 and shape[1]
          and shape[1] == shape[2]):
    return lambda images: images
  size = int(shape[1])
  return lambda images: (images if images.shape[1] == size else
                         tf.image.resize(images, [size, size], "bilinear"))


@gin.configurable("comparator", denylist=["classifier"])
def configured_comparator(classifier: Classifier, *,
                          path: Optional[str] = None,
                          layer: Optional[str] = None) -> Comparator:
  """The comparator gin `comparator.*` describes, read at the entry point.

  path: None, the inverted classifier; else a Keras model file (`.keras`,
    local or remote) of any frozen model, given the [-1, 1] images resized
    to its input size.
  layer: the layer whose output the feature loss compares; None: the
    classifier's penultimate features, or the file's model's output.
  """
  if path is None:
    return Comparator.of_classifier(classifier, layer)
  path = files.expand_user(path)
  if not files.is_file(path):
    raise FileNotFoundError(f"comparator.path = {path!r}: no such file; "
                            "give a Keras model file (model.save('x.keras')) "
                            "or unset it to compare the classifier's "
                            "features.")
  return Comparator(keras.models.load_model(path, compile=False),
                    layer=layer)


def configured_arguments(classifier: Classifier) -> dict:
  """The keywords `DosovitskiyBrox` takes from the entry point besides the
  GAN's: the comparator (build it in the strategy's scope)."""
  return {"comparator": configured_comparator(classifier)}


@gin.configurable("DosovitskiyBrox", denylist=[
    "num_classes", "classifier", "comparator", "generator", "discriminator",
    "loss_fn", "penalty_fn", "train_distribution", "eval_distribution"])
class DosovitskiyBrox(gan_lib.LogitGAN):
  """D&B's decoder trained with their three losses, as a `LogitGAN`.

  Args (gin `DosovitskiyBrox.*`; the rest are `LogitGAN`'s, gin `GAN.*`):
    comparator: the `Comparator` of the feature loss; None (loading for
      inference) allows no training step with a feature weight above 0.
    pixel_loss_weight, feature_loss_weight, adversarial_loss_weight: the
      weights of the three terms (defaults: the paper's; module docstring).
  D trains as the GAN's does. The generator should be a `DecoderGenerator`:
  `deterministic` is its (a noise-driven generator would be a GAN with
  reconstruction losses, not this baseline).
  """

  method = "dosovitskiy_brox"
  metric_names = gan_lib.METRICS + ("g_adversarial", "g_pixel", "g_feature")

  def __init__(self, num_classes: int, classifier=None, *,
               comparator: Optional[Comparator] = None,
               pixel_loss_weight: float = PIXEL_WEIGHT,
               feature_loss_weight: float = FEATURE_WEIGHT,
               adversarial_loss_weight: float = ADVERSARIAL_WEIGHT,
               **gan_arguments):
    weights = {"pixel_loss_weight": pixel_loss_weight,
               "feature_loss_weight": feature_loss_weight,
               "adversarial_loss_weight": adversarial_loss_weight}
    for key, value in weights.items():
      if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"DosovitskiyBrox.{key} = {value}: a weight must "
                         "be finite and >= 0.")
    if not any(weights.values()):
      raise ValueError("DosovitskiyBrox: every loss weight is 0; the "
                       "decoder would not train.")
    generator = gan_arguments.get("generator")
    if comparator is not None and generator is not None:
      # Before anything is built: a comparator that cannot compare fails
      # now, not at the first step.
      comparator.feature_shape(generator.resolution)
    super().__init__(num_classes, classifier, **gan_arguments)
    self.pixel_loss_weight = float(pixel_loss_weight)
    self.feature_loss_weight = float(feature_loss_weight)
    self.adversarial_loss_weight = float(adversarial_loss_weight)
    self.comparator = comparator

  @property
  def deterministic(self) -> bool:
    return bool(getattr(self.generator, "deterministic", False))

  def settings(self) -> dict:
    """`LogitGAN.settings` and the three weights (run.json); the
    comparator is in the operative config (gin `comparator.*`)."""
    return {**super().settings(),
            "pixel_loss_weight": self.pixel_loss_weight,
            "feature_loss_weight": self.feature_loss_weight,
            "adversarial_loss_weight": self.adversarial_loss_weight}

  def loss_terms(self, images, fake, logits) -> dict[str, tf.Tensor]:
    """The unweighted terms for real images [B, R, R, 3], the decoder's
    images of their logits and the logits [B, n_c]: "adversarial" (the GAN
    loss's generator term, D seeing the logits), "pixel", "feature"."""
    d_fake = self.discriminator(fake, logits, training=True)
    terms = {"adversarial": losses.compute_losses(d_fake, d_fake,
                                                  self.loss_fn).g_loss,
             "pixel": pixel_loss(images, fake),
             "feature": tf.constant(0.0)}
    if self.feature_loss_weight:
      if self.comparator is None:
        raise ValueError(
            f"DosovitskiyBrox.feature_loss_weight = "
            f"{self.feature_loss_weight} needs a comparator to train (the "
            "trainer passes the gin `comparator.*` one); pass comparator=, "
            "or set the weight to 0.")
      terms["feature"] = feature_loss(self.comparator, images, fake)
    return terms

  def weighted_loss(self, terms: dict[str, tf.Tensor]) -> tf.Tensor:
    """λ_adv L_adv + λ_img L_img + λ_feat L_feat."""
    return (self.adversarial_loss_weight * terms["adversarial"]
            + self.pixel_loss_weight * terms["pixel"]
            + self.feature_loss_weight * terms["feature"])

  def generator_gradients(self, logits, epsilon, scale, images=None):
    """The decoder's gradients and losses on logits [B, n_c] of `images`
    [B, R, R, 3] (noise [B, z_dim] ignored by the decoder), the loss
    multiplied by `scale`. Metrics: g_loss (weighted) and each term."""
    if images is None:
      raise ValueError("The Dosovitskiy & Brox step compares the decoder's "
                       "images with the real ones: pass images.")
    with tf.GradientTape() as tape:
      fake = self.generator(logits, epsilon, training=True)
      terms = self.loss_terms(tf.cast(images, tf.float32), fake, logits)
      loss = self.weighted_loss(terms)
      scaled = self.g_optimizer.scale_loss(loss * scale)
    gradients = tape.gradient(scaled, self.generator.trainable_variables)
    return gradients, {"g_loss": loss,
                       **{f"g_{name}": value for name, value in terms.items()}}
