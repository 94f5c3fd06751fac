"""LogitGAN's training step on the tiny networks: updates and counters, the
EMA of G, classifier logits, MirroredStrategy against one device, standing
statistics and reconstruction, and the loss picked through gin.

Steps run eagerly on the default strategy (tracing a step costs ~10 s of
CPU here, an eager step ~1 s); the MirroredStrategy test runs the step in a
tf.function, as the trainer does.
"""

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from logit_gan import config
from logit_gan import gan
from logit_gan import losses
from logit_gan import noise
from logit_gan import trainer
from logit_gan.discriminator import Discriminator
from logit_gan.generator import Generator

N_C = 10
B = 4  # examples per discriminator sub-step


def build_gan(*bindings, classifier=None, **options):
  """The tiny networks (G ch 8 at 32x32, D ch 8) with Keras seeded at 0, so
  every model built here starts from the same weights; gin makes the
  networks, as the trainer does, and the GAN receives them."""
  config.parse(["tiny.gin"], list(bindings))
  keras.utils.set_random_seed(0)
  policy = options.get("mixed_precision")
  with gan.dtype_policy(policy if policy in gan.MIXED_PRECISION_POLICIES
                        else None):  # A bad name is for LogitGAN to refuse.
    # G built before D is made: the order (of seeds drawn) the weights the
    # assertions below were written against were made in.
    generator = Generator().build_for(N_C)
    discriminator = Discriminator()
  return gan.LogitGAN(N_C, classifier, generator=generator,
                      discriminator=discriminator,
                      **{**trainer.configured_step_functions(), **options})


def make_batch(disc_iters, seed=0, logits=True, resolution=32):
  """A step's batch: (disc_iters + 1) * B images in [-1, 1] (and their
  logits): one sub-batch per D update and one for G's."""
  rng = np.random.default_rng(seed)
  n = (disc_iters + 1) * B
  batch = {"images": tf.constant(
      rng.uniform(-1, 1, (n, resolution, resolution, 3)), tf.float32)}
  if logits:
    batch["logits"] = tf.constant(rng.normal(0, 3, (n, N_C)), tf.float32)
  return batch


def make_classifier():
  """A small frozen classifier with seeded initializers, independent of the
  global Keras seed."""
  init = lambda seed: keras.initializers.GlorotNormal(seed=seed)
  return keras.Sequential([
      keras.Input((32, 32, 3)),
      keras.layers.Conv2D(4, 4, strides=4, activation="relu",
                          kernel_initializer=init(1)),
      keras.layers.GlobalAveragePooling2D(),
      keras.layers.Dense(N_C, kernel_initializer=init(2),
                         bias_initializer="ones"),
  ])


def mirrored_strategy(devices, key_base=7_000_000):
  """A MirroredStrategy with collective keys of its own.

  Strategies in one process all number their collectives from group 1,
  instance 100; once one has run, another whose first all-reduces have other
  shapes aborts with "Shape mismatch in the collective instance 100"
  (tensorflow#62790; seen here with two strategies running GAN steps in
  one process). TF's own
  tests move the key base per strategy (strategy_combinations.py); so does
  this, restoring the class default for strategies made elsewhere."""
  cls = tf.distribute.MirroredStrategy
  default = cls._collective_key_base  # pylint: disable=protected-access
  cls._collective_key_base = key_base  # pylint: disable=protected-access
  try:
    return cls(devices)
  finally:
    cls._collective_key_base = default  # pylint: disable=protected-access


def values(variables):
  return [v.numpy() for v in variables]


def as_floats(metrics):
  return {name: float(value) for name, value in metrics.items()}


@pytest.fixture(scope="module")
def classifier():
  return make_classifier()


@pytest.fixture(scope="module")
def reference(classifier):
  """One hinge step, disc_iters 1, on images with the classifier's logits
  cached: the model and its metrics, for tests that change one thing."""
  images = make_batch(1, logits=False)["images"]
  model = build_gan(disc_iters=1)
  metrics = model.train_step({"images": images,
                              "logits": classifier(images)})
  return model, as_floats(metrics)


# --- The step. ------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("disc_iters", [1, 2])
def test_two_steps_update_g_and_d_and_count(disc_iters):
  """Every trainable weight of G and D moves, and the counters and the
  optimizers' iterations count 2 G updates and 2 * disc_iters D updates."""
  model = build_gan(disc_iters=disc_iters)
  g0 = values(model.generator.trainable_variables)
  d0 = values(model.discriminator.trainable_variables)
  for step in range(2):
    metrics = as_floats(model.train_step(make_batch(disc_iters, seed=step)))
    assert set(metrics) == set(gan.METRICS)
    assert all(np.isfinite(v) for v in metrics.values()), metrics
  assert int(model.step) == 2
  assert int(model.d_updates) == 2 * disc_iters
  assert int(model.g_optimizer.iterations) == 2
  assert int(model.d_optimizer.iterations) == 2 * disc_iters
  for name, before, variables in [
      ("G", g0, model.generator.trainable_variables),
      ("D", d0, model.discriminator.trainable_variables)]:
    unchanged = [v.path for v, b in zip(variables, before)
                 if np.array_equal(v.numpy(), b)]
    assert not unchanged, f"{name} weights not updated: {unchanged}"


@pytest.mark.slow
def test_g_trains_on_logits_d_does_not_see():
  """D takes sub-batches 0..k-1 of a step and G the logits of sub-batch k
  (rows k, 2k + 1, ...), as compare_gan's TPU step: other logits there
  change G's update and not D's; other images there change nothing. With
  GAN.fresh_generator_batch = False a step takes k sub-batches and G the
  logits of D's last, so other logits there change both updates. (One
  model, reset to its initial state before each step: building is most of
  the time.)"""
  disc_iters = 2
  model = build_gan(disc_iters=disc_iters)
  state = [*model.generator.weights, *model.discriminator.weights,
           *model.ema_generator.weights, *model.g_optimizer.variables,
           *model.d_optimizer.variables, model.step, model.d_updates]
  initial = [v.numpy() for v in state]

  def after_one_step(batch):
    for variable, value in zip(state, initial):
      variable.assign(value)
    model.train_step(batch)
    return (values(model.generator.trainable_variables),
            values(model.discriminator.trainable_variables))

  def with_rows_changed(batch, rows, key, change):
    array = batch[key].numpy().copy()
    array[rows] = change(array[rows])
    return {**batch, key: tf.constant(array)}

  other_logits = lambda z: z[::-1] + 3.0
  batch = make_batch(disc_iters, seed=7)
  g_rows = np.arange(B) * (disc_iters + 1) + disc_iters
  g, d = after_one_step(batch)
  g_logits, d_logits = after_one_step(
      with_rows_changed(batch, g_rows, "logits", other_logits))
  g_images, d_images = after_one_step(
      with_rows_changed(batch, g_rows, "images", lambda x: -x))
  for ours, theirs in [(d, d_logits), (d, d_images), (g, g_images)]:
    for a, b in zip(ours, theirs):
      np.testing.assert_array_equal(a, b)
  assert any(not np.array_equal(a, b) for a, b in zip(g, g_logits))

  model.fresh_generator_batch = False
  assert model.batches_per_step == disc_iters
  batch = make_batch(disc_iters - 1, seed=7)  # k * B rows.
  last = np.arange(B) * disc_iters + disc_iters - 1
  g, d = after_one_step(batch)
  g_other, d_other = after_one_step(
      with_rows_changed(batch, last, "logits", other_logits))
  for ours, theirs in [(g, g_other), (d, d_other)]:
    assert any(not np.array_equal(a, b) for a, b in zip(ours, theirs))


@pytest.mark.slow
def test_ema_is_a_copy_of_g_before_ema_start_step():
  """With ema_start_step 2, the EMA generator equals G exactly (all weights)
  after steps 0 and 1; the third step (step 2) averages with decay 0.5."""
  model = build_gan(disc_iters=1, ema_start_step=2, ema_decay=0.5)
  for step in range(2):
    model.train_step(make_batch(1, seed=step))
    for ema, g in zip(model.ema_generator.weights, model.generator.weights):
      np.testing.assert_array_equal(ema.numpy(), g.numpy(), err_msg=g.path)
  g2 = values(model.generator.trainable_variables)
  model.train_step(make_batch(1, seed=2))
  g3 = values(model.generator.trainable_variables)
  ema = values(model.ema_generator.trainable_variables)
  for e, a, b in zip(ema, g2, g3):
    np.testing.assert_allclose(e, 0.5 * a + 0.5 * b, rtol=1e-6, atol=1e-7)
  assert max(np.abs(e - b).max() for e, b in zip(ema, g3)) > 1e-5


@pytest.mark.slow
def test_ema_averages_from_ema_start_step():
  """With ema_start_step 0 and decay d, one step gives EMA = d * G_before +
  (1 - d) * G_after for trainable weights; the rest is G's."""
  decay = 0.75
  model = build_gan(disc_iters=1, ema_start_step=0, ema_decay=decay)
  before = values(model.generator.trainable_variables)
  for e, g in zip(values(model.ema_generator.weights),
                  values(model.generator.weights)):
    np.testing.assert_array_equal(e, g)  # the EMA starts as a copy of G
  model.train_step(make_batch(1))
  after = values(model.generator.trainable_variables)
  ema = values(model.ema_generator.trainable_variables)
  assert len(ema) == len(after) > 0
  for e, b, a in zip(ema, before, after):
    want = decay * b.astype(np.float64) + (1 - decay) * a.astype(np.float64)
    np.testing.assert_allclose(e, want, rtol=1e-6, atol=1e-7)
  # Not trivially G (or its initial weights): G moved by ~lr = 1e-4.
  assert max(np.abs(e - a).max() for e, a in zip(ema, after)) > 5e-5
  assert max(np.abs(e - b).max() for e, b in zip(ema, before)) > 1e-5
  for e, g in zip(model.ema_generator.non_trainable_weights,
                  model.generator.non_trainable_weights):
    np.testing.assert_array_equal(e.numpy(), g.numpy(), err_msg=g.path)


# --- Logits from a classifier. --------------------------------------------


@pytest.mark.slow
def test_classifier_computes_the_logits_of_uncached_batches(classifier,
                                                            reference):
  """A batch of images only, with the classifier given, trains exactly like
  the same images with the classifier's logits cached; the classifier stays
  frozen."""
  frozen = values(classifier.weights)
  model = build_gan(disc_iters=1, classifier=classifier)
  metrics = as_floats(model.train_step(make_batch(1, logits=False)))
  _, want = reference
  assert metrics == pytest.approx(want, rel=1e-5, abs=1e-6)
  for w, before in zip(classifier.weights, frozen):
    np.testing.assert_array_equal(w.numpy(), before)


@pytest.mark.slow
def test_batch_without_logits_needs_a_classifier(reference):
  model, _ = reference
  assert model.classifier is None
  step = int(model.step)
  with pytest.raises(ValueError, match="no logits"):
    model.train_step(make_batch(1, logits=False))
  assert int(model.step) == step


# --- Loss selection. ------------------------------------------------------


@pytest.mark.slow
def test_gin_loss_fn_changes_the_d_loss(classifier, reference):
  """`loss.fn = @wasserstein` on the same initial weights and batch: D's
  outputs are the reference's (hinge) ones, and d_loss is now
  -mean(d_real) + mean(d_fake) instead of the hinge loss."""
  _, hinge = reference
  images = make_batch(1, logits=False)["images"]
  model = build_gan("loss.fn = @wasserstein", disc_iters=1)
  metrics = as_floats(model.train_step({"images": images,
                                        "logits": classifier(images)}))
  assert metrics["d_real"] == pytest.approx(hinge["d_real"], abs=1e-6)
  assert metrics["d_fake"] == pytest.approx(hinge["d_fake"], abs=1e-6)
  assert metrics["d_loss_real"] == pytest.approx(-metrics["d_real"],
                                                 abs=1e-6)
  assert metrics["d_loss_fake"] == pytest.approx(metrics["d_fake"], abs=1e-6)
  assert metrics["d_loss"] == pytest.approx(
      metrics["d_loss_real"] + metrics["d_loss_fake"], abs=1e-6)
  # With D's outputs near 0 the hinge terms are near 1, the Wasserstein
  # ones near 0.
  assert abs(metrics["d_loss"] - hinge["d_loss"]) > 0.5


# --- The networks it receives. -------------------------------------------


def test_copy_generator_is_built_from_the_config_not_gin():
  """The EMA copy has G's weights exactly, whatever gin holds when it is
  made (here: another width, which would not fit)."""
  config.parse(["tiny.gin"])
  generator = Generator().build_for(N_C)
  gin.clear_config()
  config.parse([], ["Generator.ch = 16", "Generator.z_dim = 60"])
  copy = gan.copy_generator(generator)
  assert copy is not generator
  assert copy.get_config() == {**generator.get_config(),
                               "initializer": "normal"}
  assert [w.path for w in copy.weights] == [w.path for w in generator.weights]
  for ours, theirs in zip(copy.weights, generator.weights):
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy(),
                                  err_msg=theirs.path)


def test_networks_constructed_outside_the_policy_compute_in_it():
  """Unbuilt float32 networks given to a mixed-precision GAN are made again
  from their config in its policy; built ones are refused by name."""
  config.parse(["tiny.gin"], ["Generator.resolution = 16"])
  model = gan.LogitGAN(N_C, generator=Generator(),
                       discriminator=Discriminator(),
                       mixed_precision="mixed_bfloat16")
  assert model.generator.dtype_policy.name == "mixed_bfloat16"
  assert model.discriminator.dtype_policy.name == "mixed_bfloat16"
  assert model.generator.get_config()["ch"] == 8
  with pytest.raises(ValueError, match="GAN.mixed_precision = "
                     "'mixed_bfloat16', and is built already"):
    gan.LogitGAN(N_C, generator=Generator().build_for(N_C),
                 discriminator=Discriminator(),
                 mixed_precision="mixed_bfloat16")


def test_jit_compile_is_a_public_switch():
  """The step calls the gradient methods themselves, or their XLA-compiled
  functions once `jit_compile` is set (made once, then reused)."""
  config.parse(["tiny.gin"], ["Generator.resolution = 16"])
  model = gan.LogitGAN(N_C, generator=Generator(),
                       discriminator=Discriminator())
  assert not model.jit_compile
  assert model.gradient_functions() == (model.discriminator_gradients,
                                        model.generator_gradients)
  model.jit_compile = True
  compiled = model.gradient_functions()
  assert all(isinstance(f, tf.types.experimental.PolymorphicFunction)
             for f in compiled)
  assert model.gradient_functions() == compiled


def test_evaluation_noise_is_named_not_read_from_gin():
  """The evaluation noise is the GAN's `eval_distribution` (recorded in its
  settings), whatever gin's eval_z binding holds when it draws; the entry
  point names gin's binding with noise.sampler_name."""
  config.parse(["tiny.gin"], ["Generator.resolution = 16"])
  model = gan.LogitGAN(N_C, generator=Generator(),
                       discriminator=Discriminator(),
                       eval_distribution="uniform")
  assert model.settings()["eval_distribution"] == "uniform"
  batches = [tf.zeros([B, N_C])]
  model.fill_standing_statistics(batches)
  first = model.reconstruct(tf.zeros([B, N_C])).numpy()
  # Read from gin, the noise would change here (normal, then uniform).
  config.parse([], ["eval_z.distribution_fn = @tf.random.stateless_uniform"])
  model.fill_standing_statistics(batches)
  np.testing.assert_array_equal(model.reconstruct(tf.zeros([B, N_C])),
                                first)
  assert noise.sampler_name(gin.get_bindings("eval_z")["distribution_fn"]
                            ) == "uniform"
  with pytest.raises(ValueError, match="'cauchy' is not one of"):
    gan.LogitGAN(N_C, generator=Generator(), discriminator=Discriminator(),
                 eval_distribution="cauchy")


# --- Mixed precision. -----------------------------------------------------


def stage_dtypes(generator, logits):
  dtypes = {}
  generator.forward(logits, tf.zeros([logits.shape[0], generator.z_dim]),
                    training=True,
                    on_stage=lambda name, h: dtypes.setdefault(name, h.dtype))
  return dtypes


@pytest.mark.slow
@pytest.mark.parametrize("policy,compute,roundoff,tolerance", [
    ("mixed_bfloat16", tf.bfloat16, 2.0 ** -8, 0.05),
    ("mixed_float16", tf.float16, 2.0 ** -11, 0.01)])
def test_mixed_precision_computes_the_float32_function(policy, compute,
                                                       roundoff, tolerance):
  """G and D compute in the policy's dtype but hold float32 weights, return
  float32 images and scores, and agree with the float32 networks built from
  the same seed; a training step gives finite losses; float16 scales its
  losses. Tolerances: the images within 3 units of the dtype's roundoff on
  average and 32 at most (measured: 1.2-1.3 and 11-17.5 units); D's scores
  within `tolerance` of their largest."""
  batch = make_batch(1, seed=5)
  images, logits = batch["images"][:B], batch["logits"][:B]
  mixed = build_gan(disc_iters=1, mixed_precision=policy)
  plain = build_gan(disc_iters=1)
  assert keras.config.dtype_policy().name == "float32"  # Restored.
  stages = stage_dtypes(mixed.generator, logits)
  assert stages["B1"] == compute and stages["output"] == tf.float32
  assert {w.dtype for w in mixed.generator.weights
          + mixed.discriminator.weights} == {"float32"}
  noise = tf.random.stateless_normal([B, mixed.z_dim], [1, 2])
  error = np.abs(mixed.generator(logits, noise, training=True).numpy()
                 - plain.generator(logits, noise, training=True).numpy())
  assert error.mean() < 3 * roundoff and error.max() < 32 * roundoff, (
      error.mean() / roundoff, error.max() / roundoff)
  d_mixed = mixed.discriminator(images, logits, training=False)
  d_plain = plain.discriminator(images, logits, training=False).numpy()
  assert d_mixed.dtype == tf.float32
  np.testing.assert_allclose(d_mixed.numpy(), d_plain,
                             atol=tolerance * np.abs(d_plain).max())
  metrics = as_floats(mixed.train_step(batch))
  assert all(np.isfinite(list(metrics.values())))
  scaled = isinstance(mixed.g_optimizer, keras.optimizers.LossScaleOptimizer)
  assert scaled == (policy == "mixed_float16")


def test_unknown_mixed_precision_policy_names_the_binding():
  with pytest.raises(ValueError, match="GAN.mixed_precision"):
    build_gan(mixed_precision="float16")


@pytest.mark.slow
def test_xla_with_several_replicas_is_refused_by_name():
  """Without the check, TensorFlow fails deep in spectral norm with a
  merge_call error that names neither XLA nor the binding."""
  strategy = mirrored_strategy(["/cpu:0", "/cpu:1"], key_base=9_000_000)
  with strategy.scope():
    model = build_gan("Generator.resolution = 16", jit_compile=True)
  with pytest.raises(ValueError, match="GAN.jit_compile = True with 2 "
                     "replicas.*Set GAN.jit_compile = False"):
    model.train_step(make_batch(2, resolution=16), strategy)


# --- MirroredStrategy. ----------------------------------------------------


@pytest.mark.slow
def test_mirrored_strategy_matches_one_device():
  """Two replicas on two logical CPUs, each with half of the global batch,
  update G, D and the EMA of G as one device does with the whole batch.

  G's batch norm uses cross-replica statistics (so they are the global
  batch's), noise is drawn for the global batch and split, and losses are
  scaled by 1 / replicas. What remains is float reordering in the
  all-reduce. Adam with beta1 = 0 divides each gradient by its own RMS, so
  an update is ~lr * sign(gradient): a weight whose gradient is ~0 can move
  by up to ~lr differently on the two sides. Hence atol = 3 learning-rate
  steps per network (3e-4 for G, 1.5e-3 for D; measured on the AMD AVX2
  machine with oneDNN: 3.8e-5 for G, 6e-8 for D), also for the
  spectral-norm vectors, which are computed from those weights (measured
  earlier at 32x32: up to 1.3e-5). As G moves only ~1e-4 per step, that
  tolerance alone would pass a G that was never updated, so under 1% of
  the weights may differ by more than lr / 10 (measured: 0.04%) while over
  a quarter moved by more than lr / 2 (measured: 71% of G's, 95% of D's).
  The reported losses agree to 1e-4 (measured: 3.6e-7 here; 7.5e-5 at
  32x32 with oneDNN's kernels, which differ with the batch size).
  """
  disc_iters, g_lr, d_lr = 2, 1e-4, 5e-4
  # 16x16 without attention: fewer layers to trace (once per replica);
  # nothing here depends on the depth or on attention.
  binding = ("Generator.use_cross_replica_mean = True",
             "Generator.resolution = 16",
             "Generator.blocks_with_attention = ''",
             "Discriminator.blocks_with_attention = ''")
  batch = make_batch(disc_iters, resolution=16)
  nets = lambda m: {"G": m.generator, "D": m.discriminator,
                    "EMA": m.ema_generator}
  lrs = {"G": g_lr, "D": d_lr, "EMA": g_lr}

  # The EMA blends from step 1 (the second step), where it is averaged on
  # each replica; at step 0 it is a copy of G.
  ema = dict(ema_start_step=1, ema_decay=0.5)
  single = build_gan(*binding, disc_iters=disc_iters, g_lr=g_lr, d_lr=d_lr,
                     **ema)
  initial = {k: values(n.trainable_variables)
             for k, n in nets(single).items()}
  single_metrics = [as_floats(single.train_step(batch)) for _ in range(2)]

  strategy = mirrored_strategy(["/cpu:0", "/cpu:1"])
  assert strategy.num_replicas_in_sync == 2
  with strategy.scope():
    mirrored = build_gan(*binding, disc_iters=disc_iters, g_lr=g_lr,
                         d_lr=d_lr, **ema)
  for name, net in nets(mirrored).items():
    for w, w0 in zip(net.trainable_variables, initial[name]):
      np.testing.assert_array_equal(w.numpy(), w0)  # same initial weights
  dataset = tf.data.Dataset.from_tensors(batch).repeat()
  iterator = iter(strategy.experimental_distribute_dataset(dataset))
  step = tf.function(lambda b: mirrored.train_step(b, strategy))
  mirrored_metrics = [as_floats(step(next(iterator))) for _ in range(2)]

  for got, want in zip(mirrored_metrics, single_metrics):
    assert got == pytest.approx(want, abs=1e-4)
  assert int(mirrored.step.numpy()) == 2
  assert int(mirrored.d_updates.numpy()) == 2 * disc_iters
  for name in nets(single):
    lr = lrs[name]
    one = nets(single)[name]
    two = nets(mirrored)[name]
    for a, b in zip(one.weights, two.weights):
      replicas = strategy.experimental_local_results(b.value)
      assert len(replicas) == 2
      np.testing.assert_allclose(replicas[0].numpy(), replicas[1].numpy(),
                                 atol=1e-6, err_msg=b.path)
      np.testing.assert_allclose(b.numpy(), a.numpy(), atol=3 * lr,
                                 err_msg=f"{name} {b.path}")
    flat = lambda ws: np.concatenate([np.ravel(w) for w in ws])
    a = flat(values(one.trainable_variables))
    b = flat(values(two.trainable_variables))
    moved = np.abs(a - flat(initial[name]))
    assert np.mean(np.abs(a - b) > lr / 10) < 0.01, name
    assert np.mean(moved > lr / 2) > 0.25, name
  # Adam with beta1 = 0 keeps the last gradient as its momentum. The
  # weights hardly show a gradient's scale (an update is ~lr * sign), so
  # this is where gradients summed over replicas must equal the global
  # batch's, not a multiple of them: within 2% of each variable's largest
  # (the step-1 weights already differ by float reordering).
  for name, one, two in [("G", single.g_optimizer, mirrored.g_optimizer),
                         ("D", single.d_optimizer, mirrored.d_optimizer)]:
    momenta = [(a.numpy(), b.numpy(), b.path)
               for a, b in zip(one.variables, two.variables)
               if "momentum" in b.path]
    assert len(momenta) == len(nets(single)[name].trainable_variables)
    largest = max(np.abs(a).max() for a, _, _ in momenta)
    assert largest > 0
    for a, b, path in momenta:
      np.testing.assert_allclose(
          b, a, atol=0.02 * np.abs(a).max() + 1e-6 * largest, err_msg=path)


# --- Inference. -----------------------------------------------------------


@pytest.mark.slow
def test_reconstruct_after_standing_statistics(reference):
  """Before standing statistics, inference refuses; after them, images are
  [B, 32, 32, 3] in [-1, 1], the same for the same seed and different for
  another."""
  model, _ = reference
  logits = make_batch(1, seed=5)["logits"][:B]
  if not model.inference_generator.use_moving_averages:
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="standing batch-norm statistics are empty"):
      model.reconstruct(logits)
  logit_batches = [make_batch(2, seed=s)["logits"] for s in range(4)]
  assert model.fill_standing_statistics(logit_batches, num_batches=3) == 3
  images = model.reconstruct(logits, seed=1).numpy()
  assert images.shape == (B, 32, 32, 3)
  assert np.all(np.isfinite(images))
  assert images.min() >= -1.0 and images.max() <= 1.0
  assert images.std() > 1e-3  # not a constant image
  np.testing.assert_array_equal(images,
                                model.reconstruct(logits, seed=1).numpy())
  other = model.reconstruct(logits, seed=2).numpy()
  assert np.abs(images - other).max() > 1e-3


def test_loss_scaling_skips_an_overflow_on_any_replica():
  """Under mixed_float16's LossScaleOptimizer, a gradient that overflowed on
  the second replica only skips the step and halves the scale, as one on
  the first does (Keras alone applies it: the weights became NaN)."""
  strategy = mirrored_strategy(["/cpu:0", "/cpu:1"], key_base=8_000_000)
  with strategy.scope():
    weights = keras.Variable([1.0, 1.0])
    optimizer = keras.optimizers.LossScaleOptimizer(
        keras.optimizers.Adam(1e-3))
    optimizer.build([weights])
  scale = float(optimizer.dynamic_scale.numpy())

  def replica_step():
    context = tf.distribute.get_replica_context()
    gradient = tf.where(context.replica_id_in_sync_group == 0,
                        tf.constant([1.0, 1.0]),
                        tf.constant([float("inf"), 1.0]))
    gradients = gan.shared_overflow([gradient], optimizer, context)
    optimizer.apply_gradients(zip(gradients, [weights]))

  tf.function(lambda: strategy.run(replica_step))()
  np.testing.assert_array_equal(weights.numpy(), [1.0, 1.0])
  assert float(optimizer.dynamic_scale.numpy()) == scale / 2


def test_step_functions_are_read_from_gin_once_at_the_entry():
  """`loss.fn`, `penalty.fn`, `z.distribution_fn` and
  `eval_z.distribution_fn` are read by trainer.configured_step_functions
  (the entry) and held by the GAN: bindings made later change nothing."""
  config.parse([], ["loss.fn = @wasserstein", "penalty.fn = @r1_penalty",
                    "z.distribution_fn = @tf.random.uniform",
                    "eval_z.distribution_fn = @tf.random.truncated_normal"])
  functions = trainer.configured_step_functions()
  assert functions["loss_fn"] is losses.wasserstein
  assert functions["penalty_fn"] is losses.r1_penalty
  assert functions["train_distribution"] == "uniform"
  assert functions["eval_distribution"] == "truncated_normal"
  config.parse(["tiny.gin"], ["Generator.resolution = 16"])
  model = gan.LogitGAN(N_C, generator=Generator(),
                       discriminator=Discriminator(), **functions)
  gin.clear_config()
  config.parse([], ["loss.fn = @hinge",
                    "z.distribution_fn = @tf.random.normal"])
  assert model.loss_fn is losses.wasserstein
  assert model.settings()["train_distribution"] == "uniform"
  with pytest.raises(ValueError, match="train_distribution 'cauchy'"):
    gan.LogitGAN(N_C, generator=Generator(), discriminator=Discriminator(),
                 train_distribution="cauchy")
