"""`Classifier`: the frozen classifier Phi(x) whose logits are inverted.

A `Classifier` is a frozen, differentiable callable from images
[B, H, W, 3] float32 in [-1, 1] (the package's range; any H, W) to logits
[B, n_c], pre-softmax. It carries the wrapped network's own preprocessing
(`preprocessing.py`), so callers never need to know what range, size or
channels the network expects. The constructors live beside it:
`applications.py` (keras.applications), `saved_model.py` (SavedModel and
TF-Hub), `keras_file.py` (a `.keras` file: the package's own or a user's),
`small_resnet.py` (the package's trainable ResNet); `zoo.py` chooses one by
name for gin.

Input size. The paper says only that its images are 64x64; how they reach
classifiers trained at 224x224 (ResNet-152 V2) and 299x299 (Inception V3) is
this package's choice: `Classifier` resizes any input to the network's native
size, bilinearly (antialiased when shrinking). Non-square images are resized
to the square input without cropping.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, Optional, Sequence

from absl import logging
import keras
import tensorflow as tf

Network = Callable[[tf.Tensor], Any]
Preprocess = Callable[[tf.Tensor], tf.Tensor]


def _identity(images: tf.Tensor) -> tf.Tensor:
  return images


def _module_name(name: str) -> str:
  """tf.Module names must be Python identifiers."""
  name = re.sub(r"\W", "_", name)
  return name if re.match(r"[A-Za-z_]", name) else f"classifier_{name}"


def shape_text(shape) -> str:
  """'[B, 8, 8, 3]' for a shape whose batch dimension is unknown."""
  return "[" + ", ".join("B" if d is None else str(d) for d in shape) + "]"


def select_output(outputs: Any, output_key: Optional[str], source: str):
  """The logits tensor out of a network's (possibly structured) output."""
  if isinstance(outputs, Mapping):
    keys = sorted(outputs)
    if output_key is not None:
      if output_key not in outputs:
        raise ValueError(f"{source} has outputs {keys}, not {output_key!r} "
                         "(output_key or layer); choose one of them.")
      return outputs[output_key]
    if len(keys) == 1:
      return outputs[keys[0]]
    raise ValueError(f"{source} has outputs {keys}; pass output_key= to say "
                     "which one holds the logits.")
  if output_key is not None:
    raise ValueError(f"{source} returns a single tensor, so output_key="
                     f"{output_key!r} names nothing; leave it unset.")
  if isinstance(outputs, (list, tuple)):
    if len(outputs) != 1:
      raise ValueError(f"{source} returns {len(outputs)} outputs; a "
                       "classifier must return one logits tensor [B, n_c].")
    return outputs[0]
  return outputs


def check_logits_shape(shape, source: str,
                       num_classes: Optional[int] = None) -> int:
  """Returns n_c from a logits shape [B, n_c]; raises on anything else."""
  shape = tuple(shape)
  if len(shape) != 2 or shape[1] is None:
    raise ValueError(
        f"{source} returns a {len(shape)}-D output of shape "
        f"{shape_text(shape)}; a classifier must return logits [B, n_c] "
        "(2-D, pre-softmax). Wrap a network whose last layer is the "
        "classification layer (for keras.applications: include_top=True), "
        "or choose a layer after pooling or flattening (classifier.layer).")
  if num_classes is not None and shape[1] != num_classes:
    raise ValueError(f"{source} returns {shape[1]} logits; expected "
                     f"num_classes={num_classes}.")
  return int(shape[1])


def keras_input_shape(model: keras.Model) -> tuple:
  """The model's input shape [B, H, W, C], or () if it has none."""
  try:
    return tuple(model.input_shape)
  except (AttributeError, ValueError):
    return ()


def _keras_input_size(model: keras.Model) -> int:
  shape = keras_input_shape(model)
  if len(shape) == 4 and shape[1] is not None and shape[1] == shape[2]:
    return int(shape[1])
  raise ValueError(f"Model {model.name!r} has no fixed square input "
                   f"({shape or 'unknown'}); pass input_size=.")


def _keras_channels(model: keras.Model) -> int:
  shape = keras_input_shape(model)
  return int(shape[3]) if len(shape) == 4 and shape[3] is not None else 3


class Classifier(tf.Module):
  """A frozen classifier: images [B, H, W, 3] in [-1, 1] -> logits [B, n_c].

  Resizes to `input_size`, applies the network's own preprocessing, runs the
  network in inference mode and returns float32 logits. Differentiable with
  respect to the images and usable inside tf.function. Build one with the
  constructors of this package (see the module docstring) or
  `Classifier.from_keras`.

  Args:
    network: preprocessed images [B, S, S, C] -> logits [B, n_c], or a
      dict or one-element list holding them.
    name: a short name (logged, and recorded by the logit cache).
    input_size: S, the side the network takes.
    num_classes: n_c; with `keras_model`, inferred; otherwise from a probe.
    preprocess: images at [B, S, S, 3] in [-1, 1] -> the network's input
      [B, S, S, C].
    output_key: which output of a dict-valued network holds the logits.
    keras_model: the Keras model behind `network`, if any (frozen here).
    channels: C, the channels the network takes after `preprocess` (1 for
      a greyscale network whose `preprocess` takes the luminance).
    variables: the network's variables, for `variables`.
    owner: what `network` needs kept alive (a loaded SavedModel); tracked,
      so that exporting the classifier exports it.
  """

  def __init__(self, network: Network, *, name: str, input_size: int,
               num_classes: Optional[int] = None,
               preprocess: Optional[Preprocess] = None,
               keras_model: Optional[keras.Model] = None,
               output_key: Optional[str] = None, channels: int = 3,
               variables: Sequence[tf.Variable] = (), owner: Any = None):
    super().__init__(name=_module_name(name))
    self._owner = owner
    self._output_key = output_key
    if int(input_size) < 1:
      raise ValueError(f"input_size must be positive, not {input_size}.")
    self._network = network
    self._input_size = int(input_size)
    self._preprocess = preprocess or _identity
    self._keras_model = keras_model
    self._network_variables = tuple(variables)
    if keras_model is not None:
      keras_model.trainable = False
      spec = keras_model.compute_output_spec(keras.KerasTensor(
          (None, self._input_size, self._input_size, int(channels))))
      logits_shape = select_output(spec, output_key, self._source).shape
    else:
      logits_shape = self._probe_shape()
    self._num_classes = check_logits_shape(logits_shape, self._source,
                                           num_classes)
    logging.info("Classifier %s: images resized to %dx%d, %d logits.",
                 self.name, self._input_size, self._input_size,
                 self._num_classes)

  @classmethod
  def from_keras(cls, model: keras.Model, *, name: Optional[str] = None,
                 input_size: Optional[int] = None,
                 preprocess: Optional[Preprocess] = None,
                 output_key: Optional[str] = None,
                 num_classes: Optional[int] = None) -> "Classifier":
    """Wraps (and freezes: `model.trainable = False`) a Keras model.

    `input_size` defaults to the model's square input size; `preprocess`
    (default: none) maps [-1, 1] RGB images to what the model was trained on
    (and to its channels: a greyscale model needs one that takes the
    luminance, `preprocessing.declared(channels=1)`); `output_key` picks the
    logits of a model with dict outputs; `num_classes`, if given, is checked
    against the model's output width.
    """
    if not isinstance(model, keras.Model):
      raise ValueError(f"Expected a keras.Model, got {type(model).__name__}.")
    if input_size is None:
      input_size = _keras_input_size(model)
    return cls(lambda images: model(images, training=False),
               name=name or model.name, input_size=input_size,
               num_classes=num_classes, preprocess=preprocess,
               output_key=output_key, keras_model=model,
               channels=_keras_channels(model),
               variables=[weight.value for weight in model.weights])

  @property
  def num_classes(self) -> int:
    return self._num_classes

  @property
  def input_size(self) -> int:
    return self._input_size

  @property
  def keras_model(self) -> Optional[keras.Model]:
    """The wrapped Keras model (frozen), or None for a SavedModel."""
    return self._keras_model

  @property
  def variables(self) -> tuple[tf.Variable, ...]:
    """The network's variables: a Keras model's weights, or those a
    SavedModel lists (`keras.export` archives do; tf.Modules may not)."""
    return tuple(self._network_variables)

  @property
  def trainable_variables(self) -> tuple[tf.Variable, ...]:
    return ()  # Frozen: nothing here is trained through the logits.

  @property
  def _source(self) -> str:
    return f"Classifier {self.name!r}"

  def __call__(self, images) -> tf.Tensor:
    """Logits [B, n_c] float32 of images [B, H, W, 3] float in [-1, 1]."""
    outputs = self._network(self.network_input(images))
    logits = select_output(outputs, self._output_key, self._source)
    check_logits_shape(logits.shape, self._source, self._num_classes)
    return tf.cast(logits, tf.float32)

  def network_input(self, images) -> tf.Tensor:
    """What the network takes for images [B, H, W, 3] float in [-1, 1]:
    resized to [B, S, S, 3], then preprocessed (e.g. by a comparator that
    reads an inner layer of `keras_model`)."""
    return self._preprocess(self._resize(self._check_images(images)))

  def _check_images(self, images) -> tf.Tensor:
    images = tf.convert_to_tensor(images)
    if not images.dtype.is_floating:
      raise ValueError(
          f"{self._source}: images have dtype {images.dtype.name}; expected "
          "float32 in [-1, 1] (map uint8 pixels with "
          "logit_gan.data.pipeline.to_model_range).")
    shape = images.shape
    if shape.rank != 4 or shape[-1] != 3:
      got = "unknown rank" if shape.rank is None else shape_text(shape)
      raise ValueError(f"{self._source}: images have shape {got}; expected "
                       "[B, H, W, 3] (NHWC, RGB).")
    return tf.cast(images, tf.float32)

  def _resize(self, images: tf.Tensor) -> tf.Tensor:
    size = self._input_size
    height, width = images.shape[1], images.shape[2]
    if height == size and width == size:
      return images
    shrinking = height is None or width is None or max(height, width) > size
    return tf.image.resize(images, [size, size], method="bilinear",
                           antialias=shrinking)

  def _probe_shape(self) -> tf.TensorShape:
    """The output shape on a zero batch of 2 (catches dropped batch dims)."""
    probe = tf.zeros([2, self._input_size, self._input_size, 3])
    try:
      outputs = self._network(self._preprocess(probe))
    except (ValueError, TypeError, tf.errors.InvalidArgumentError) as error:
      raise ValueError(
          f"{self._source} fails on a probe batch [2, {self._input_size}, "
          f"{self._input_size}, 3]: {error}. Check input_size, channels and "
          "the signature.") from error
    logits = select_output(outputs, self._output_key, self._source)
    check_logits_shape(logits.shape, self._source)
    if logits.shape[0] != 2:
      raise ValueError(f"{self._source} returns logits of shape "
                       f"{shape_text(logits.shape)} for a batch of 2; "
                       "expected [2, n_c].")
    return logits.shape
