"""compare_gan's gin dialect, mapped onto logit_gan's names.

The paper's configuration (`gin_configs/compare_gan/paper.gin`, the file
printed in its supplementary material) is written for compare_gan:
`G.spectral_norm`, `resnet_biggan.Generator.embed_labels`,
`standardize_batch.use_moving_averages`, `weights.initializer`, ... This
module is the single place where those names are translated. Each binding of
such a file is either
  * translated to one or more of our bindings (`NETWORK_BINDINGS`,
    `TRAINING_BINDINGS`), or
  * checked against the one value we support (`FIXED_VALUES`).
Bindings whose compare_gan name is also ours pass through: `dataset.name`,
`loss.fn = @hinge`, `penalty.fn = @no_penalty`, `z.distribution_fn`,
`eval_z.distribution_fn` (see `losses` and `noise`). Anything else that is
not a native logit_gan binding is an error.
"""

from __future__ import annotations

from typing import Any, NamedTuple

# compare_gan binding -> the logit_gan bindings it sets.
NETWORK_BINDINGS: dict[str, tuple[str, ...]] = {
    "G.spectral_norm": ("Generator.spectral_norm",),
    "D.spectral_norm": ("Discriminator.spectral_norm",),
    "resnet_biggan.Generator.ch": ("Generator.ch",),
    "resnet_biggan.Generator.blocks_with_attention": (
        "Generator.blocks_with_attention",),
    "resnet_biggan.Generator.hierarchical_z": ("Generator.hierarchical_z",),
    "resnet_biggan.Generator.embed_labels": ("Generator.embed_labels",),
    "resnet_biggan.Generator.embed_y": ("Generator.embed_labels",),
    "resnet_biggan.Generator.embed_y_dim": ("Generator.embed_dim",),
    "resnet_biggan.Discriminator.ch": ("Discriminator.ch",),
    "resnet_biggan.Discriminator.blocks_with_attention": (
        "Discriminator.blocks_with_attention",),
    "resnet_biggan.Discriminator.project_labels": (
        "Discriminator.project_labels",),
    "resnet_biggan.Discriminator.project_y": ("Discriminator.project_labels",),
    "spectral_norm.singular_value": ("Generator.singular_value",
                                     "Discriminator.singular_value"),
    "weights.initializer": ("Generator.initializer",
                            "Discriminator.initializer"),
    "weights.stddev": ("Generator.init_stddev", "Discriminator.init_stddev"),
    "standardize_batch.decay": ("Generator.bn_decay",),
    "standardize_batch.epsilon": ("Generator.bn_epsilon",),
    "standardize_batch.use_moving_averages": (
        "Generator.use_moving_averages",),
    "standardize_batch.use_cross_replica_mean": (
        "Generator.use_cross_replica_mean",),
    "options.z_dim": ("Generator.z_dim",),
}


class Reference(NamedTuple):
  """A `@name` in a compare_gan file that names none of our configurables."""
  name: str
  evaluate: bool = False

  def __str__(self):
    return "@" + self.name + ("()" if self.evaluate else "")


# compare_gan bindings whose only supported value is the architecture we
# implement: (accepted values, why).
FIXED_VALUES: dict[str, tuple[tuple[Any, ...], str]] = {
    "G.batch_norm_fn": (
        (Reference("conditional_batch_norm"),),
        "the generator is conditioned on the logits through conditional "
        "batch norm"),
    "D.batch_norm_fn": ((None,), "the BigGAN discriminator has no batch norm"),
    "D.layer_norm": ((False,), "the BigGAN discriminator has no layer norm"),
    "resnet_biggan.Generator.embed_z": ((False,), "noise is not embedded"),
    "resnet_biggan.Generator.embed_bias": (
        (False,), "the logit embedding has no bias"),
    "options.architecture": (
        ("resnet_biggan_arch",), "the networks are BigGAN's ResNets"),
    "options.gan_class": (
        (Reference("ModularGAN"),), "the GAN is compare_gan's ModularGAN"),
    "ModularGAN.conditional": ((True,), "the GAN is conditional on logits"),
    "ModularGAN.d_inputs": ((["label"],), "D is conditioned on the logits"),
    "ModularGAN.g_inputs": ((["label"],), "G is conditioned on the logits"),
    "ModularGAN.d_optimizer_fn": (
        (Reference("tf.train.AdamOptimizer"),), "both networks use Adam"),
    "ModularGAN.g_optimizer_fn": (
        (Reference("tf.train.AdamOptimizer"),), "both networks use Adam"),
}

# compare_gan's training bindings -> ours (`gan.LogitGAN`, `trainer.train`).
TRAINING_BINDINGS: dict[str, tuple[str, ...]] = {
    "AdamOptimizer.beta1": ("GAN.beta1",),
    "AdamOptimizer.beta2": ("GAN.beta2",),
    "ModularGAN.d_lr": ("GAN.d_lr",),
    "ModularGAN.g_lr": ("GAN.g_lr",),
    "ModularGAN.g_use_ema": ("GAN.use_ema",),
    "ModularGAN.ema_decay": ("GAN.ema_decay",),
    "ModularGAN.ema_start_step": ("GAN.ema_start_step",),
    "options.disc_iters": ("GAN.disc_iters",),
    "options.lamba": ("GAN.penalty_weight",),
    "options.batch_size": ("train.batch_size",),
    "options.training_steps": ("train.training_steps",),
    "run_config.iterations_per_loop": ("train.iterations_per_loop",),
    "run_config.save_checkpoints_steps": ("train.save_checkpoints_steps",),
    "run_config.keep_checkpoint_max": ("train.keep_checkpoint_max",),
    "run_config.tf_random_seed": ("train.seed",),
}
BINDINGS = {**NETWORK_BINDINGS, **TRAINING_BINDINGS}

COMPARE_GAN_SELECTORS = frozenset(
    key.rsplit(".", 1)[0]
    for key in (*BINDINGS, *FIXED_VALUES))


def is_compare_gan_selector(selector: str) -> bool:
  return selector in COMPARE_GAN_SELECTORS


def translate(selector: str, arg_name: str, value: Any
              ) -> list[tuple[str, Any]]:
  """The logit_gan bindings `selector.arg_name = value` of compare_gan
  becomes (none for a checked fixed value)."""
  key = f"{selector}.{arg_name}"
  if key in BINDINGS:
    return [(target, value) for target in BINDINGS[key]]
  if key in FIXED_VALUES:
    accepted, why = FIXED_VALUES[key]
    if value not in accepted:
      shown = ", ".join(str(a) for a in accepted)
      raise ValueError(
          f"compare_gan binding {key} = {value} is not supported: {why}, so "
          f"the only accepted value is {shown}.")
    return []
  known = sorted(k for k in (*BINDINGS, *FIXED_VALUES)
                 if k.startswith(selector + "."))
  raise ValueError(
      f"Unknown compare_gan binding {key}. Known bindings of {selector}: "
      f"{known or 'none'}.")
