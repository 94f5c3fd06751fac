"""The BigGAN-PyTorch reference for `bench/train_step.py --shapes=bench32`.

Times one training iteration of ajbrock/BigGAN-PyTorch (its own
`train_fns.GAN_training_function`: 2 D steps, 1 G step, the EMA of G) at the
bench32 shape: 32x32, G_ch = D_ch = 32, n_classes 10, dim_z 120, batch 32 per
D step, no attention, shared embedding and hierarchical z (as its ImageNet
launch scripts), its spectral norm, Adam (0, 0.999), N02 init and lrs from
launch_cifar_ema.sh, float32, 2 threads. Random images and labels; data
loading, logging and sampling are outside the timed call, as in ours.

Not part of the package or of `make bench` (it needs PyTorch and a
BigGAN-PyTorch checkout): run it once per machine kind and pass its mean to
`bench/train_step.py --bench32_reference_s`.

    python3.11 -m venv /tmp/torchref && /tmp/torchref/bin/pip install \\
        torch==2.13.0 numpy
    git clone https://github.com/ajbrock/BigGAN-PyTorch /tmp/BigGAN-PyTorch
    /tmp/torchref/bin/python bench/biggan_pytorch_reference.py \\
        --biggan_pytorch_dir=/tmp/BigGAN-PyTorch

Measured (docs/results.md): 4.53 s mean, 4.22 s min, 8.8 CPU s per iteration on an
AMD EPYC Zen 3 (2 cores, AVX2), torch 2.13.0 CPU.
"""

import argparse
import statistics
import sys
import time
import types


def stub_unused_modules():
  """torchvision and the repo's datasets module serve only data loading and
  image saving, which the timed iteration does not use."""
  names = ["torchvision", "torchvision.transforms", "torchvision.utils",
           "torchvision.datasets", "datasets"]
  for name in names:
    module = types.ModuleType(name)

    def any_attribute(attr):
      if attr.startswith("__"):
        raise AttributeError(attr)
      return object

    module.__getattr__ = any_attribute
    sys.modules[name] = module
  sys.modules["torchvision"].transforms = sys.modules["torchvision.transforms"]


def biggan_config(ema: bool) -> dict:
  """utils.prepare_parser() defaults, launch_cifar_ema.sh's settings, then
  the bench32 shape."""
  return dict(
      G_param="SN", D_param="SN", D_wide=True, G_nl="relu", D_nl="relu",
      norm_style="bn", cross_replica=False, mybn=False, G_B1=0.0, D_B1=0.0,
      G_B2=0.999, D_B2=0.999, adam_eps=1e-8, BN_eps=1e-5, SN_eps=1e-8,
      num_G_SVs=1, num_D_SVs=1, num_G_SV_itrs=1, num_D_SV_itrs=1,
      D_ortho=0.0, toggle_grads=True, split_D=False, G_fp16=False,
      D_fp16=False, G_mixed_precision=False, D_mixed_precision=False,
      num_G_accumulations=1, num_D_accumulations=1, G_batch_size=0,
      ema_decay=0.9999, bottom_width=4, skip_init=False,
      G_lr=2e-4, D_lr=2e-4, G_ortho=0.0, G_attn="0", D_attn="0",
      G_init="N02", D_init="N02", ema=ema, use_ema=True, ema_start=1000,
      resolution=32, n_classes=10, G_ch=32, D_ch=32, dim_z=120,
      batch_size=32, num_D_steps=2,
      G_shared=True, hier=True, shared_dim=128)


def time_iterations(torch, train, state, networks, config, warmup: int,
                    iterations: int) -> tuple[list[float], list[float]]:
  """Wall and CPU seconds of each timed iteration, after `warmup` untimed
  ones, each on a fresh random batch as train.py's loader gives."""
  real_batch = config["batch_size"] * config["num_D_steps"]
  wall, cpu = [], []
  for i in range(warmup + iterations):
    images = torch.rand(real_batch, 3, 32, 32) * 2 - 1
    labels = torch.randint(0, config["n_classes"], (real_batch,))
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    state["itr"] += 1
    for network in networks:
      network.train()
    train(images, labels)
    if i >= warmup:
      wall.append(time.perf_counter() - start_wall)
      cpu.append(time.process_time() - start_cpu)
  return wall, cpu


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--biggan_pytorch_dir", required=True,
                      help="A checkout of ajbrock/BigGAN-PyTorch.")
  parser.add_argument("--warmup", type=int, default=2)
  parser.add_argument("--iterations", type=int, default=8)
  parser.add_argument("--no_ema", action="store_true")
  args = parser.parse_args()

  sys.path.insert(0, args.biggan_pytorch_dir)
  stub_unused_modules()
  import torch  # pylint: disable=g-import-not-at-top
  torch.set_num_threads(2)
  import BigGAN  # pylint: disable=g-import-not-at-top
  import train_fns  # pylint: disable=g-import-not-at-top
  import utils  # pylint: disable=g-import-not-at-top

  config = biggan_config(ema=not args.no_ema)
  config["G_activation"] = utils.activation_dict[config["G_nl"]]
  config["D_activation"] = utils.activation_dict[config["D_nl"]]
  torch.manual_seed(0)
  generator = BigGAN.Generator(**config)
  discriminator = BigGAN.Discriminator(**config)
  ema = ema_generator = None
  if config["ema"]:
    ema_generator = BigGAN.Generator(**{**config, "skip_init": True,
                                        "no_optim": True})
    ema = utils.ema(generator, ema_generator, config["ema_decay"],
                    config["ema_start"])
  pair = BigGAN.G_D(generator, discriminator)
  print("parameters: G %d, D %d" % (
      sum(p.numel() for p in generator.parameters()),
      sum(p.numel() for p in discriminator.parameters())))

  # Plain tensors with utils.Distribution's sample_(): the tensor subclass
  # adds Python overhead to every op in current torch.
  batch = config["batch_size"]
  z = torch.randn(batch, generator.dim_z)
  y = torch.zeros(batch, dtype=torch.int64)
  z.sample_ = lambda: z.normal_(0, 1.0)
  y.sample_ = lambda: y.random_(0, config["n_classes"])
  state = {"itr": 0}
  train = train_fns.GAN_training_function(generator, discriminator, pair,
                                          z, y, ema, state, config)
  networks = [n for n in (generator, discriminator, ema_generator)
              if n is not None]
  wall, cpu = time_iterations(torch, train, state, networks, config,
                              args.warmup, args.iterations)
  print("torch %s, %d threads, %d iterations: %.3f s mean, %.3f s min, "
        "%.3f CPU s per iteration" % (
            torch.__version__, torch.get_num_threads(), len(wall),
            statistics.mean(wall), min(wall), statistics.mean(cpu)))


if __name__ == "__main__":
  main()
