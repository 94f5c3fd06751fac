"""Reconstructs image files with an exported model (SavedModel alone).

  bin/reconstruct --export_dir=exports/shapes_robust/1 \
      --images a.png b.jpg --num_samples=4 --out=grid.png

--images takes files and folders: a folder's images are read in name
order, and its other files are skipped with a note. Each image (PNG,
JPEG, GIF or BMP; any size, mode and bit depth: greyscale, RGBA and
16-bit images are made 8-bit RGB) is centre-cropped to a square
and resized to the model's resolution (area averaging when shrinking,
bilinear when enlarging), classified by the bundled classifier, and
reconstructed from its logits with --num_samples noise draws (seeds
--seed, --seed + 1, ...). The grid has one row per image: the resized
original, then its reconstructions. Needs an export with the classifier
(bin/export's default). --export_dir may name the version folder or the
folder of versions (the highest is used).
"""

from __future__ import annotations

import sys

from absl import app
from absl import flags

from logit_gan.cli import common

flags.DEFINE_string("export_dir", None, "A bin/export version folder, or "
                    "the folder holding versions.", required=True)
flags.DEFINE_multi_string("images", None, "Image files or folders of "
                          "images; repeat the flag or list them after "
                          "--images.", required=True)
flags.DEFINE_integer("num_samples", 4, "Reconstructions per image.")
flags.DEFINE_integer("seed", 0, "Seed of the first noise sample.")
flags.DEFINE_string("out", "reconstructed.png", "The grid PNG written.")


def reconstruct_files(model, paths, *, resolution: int, num_samples: int,
                      seed: int):
  """(originals uint8 [N, R, R, 3], list of num_samples reconstructions
  uint8 [N, R, R, 3], predicted classes [N])."""
  import tensorflow as tf
  if "reconstruct" not in model.signatures:
    raise ValueError("This export has no classifier, so it cannot read "
                     "pixels; export again with bin/export "
                     "--with_classifier.")
  from logit_gan import image_files
  originals = tf.stack([image_files.read(p, resolution) for p in paths])
  result = model.signatures["reconstruct"](images=originals)
  logits = result["logits"]
  samples = []
  for sample in range(num_samples):
    seeds = tf.fill([len(paths)], tf.constant(seed + sample, tf.int64))
    samples.append(model.signatures["reconstruct_from_logits_seeded"](
        logits=logits, seed=seeds)["images"])
  return originals, samples, result["predicted_class"].numpy()


def main(argv):
  flag = flags.FLAGS
  if flag.num_samples < 1:
    raise app.UsageError("--num_samples must be at least 1.")
  from logit_gan import image_files
  paths = image_files.expand_folders(
      list(flag.images) + list(argv[1:]),  # --images a.png b.jpg
      note=lambda text: print(text, file=sys.stderr))
  from logit_gan import evaluation
  from logit_gan import export
  from logit_gan.data import pipeline
  version = export.find_version(flag.export_dir)
  model = export.load(version)
  info = model.describe()
  originals, samples, classes = reconstruct_files(
      model, paths, resolution=int(info["resolution"]),
      num_samples=flag.num_samples, seed=flag.seed)
  to_range = pipeline.to_model_range
  grid = evaluation.reconstruction_grid(to_range(originals),
                                        [to_range(s) for s in samples])
  evaluation.write_png(grid, flag.out)
  names = info.get("class_names")
  names = [n.decode() for n in names.numpy()] if names is not None else None
  for path, predicted in zip(paths, classes):
    name = f" ({names[predicted]})" if names else ""
    print(f"{path}: predicted class {predicted}{name}")
  print(f"Wrote {flag.out}: {len(paths)} rows (original | "
        f"{flag.num_samples} reconstructions) from {version}.")


def run():
  common.run(main, __name__)


if __name__ == "__main__":
  run()
