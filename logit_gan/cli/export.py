"""Exports a trained run's EMA generator as a versioned SavedModel.

  bin/export --model_dir=runs/shapes_robust --export_dir=exports/shapes_robust

writes exports/shapes_robust/1/ (2/, 3/, ... on later exports; earlier
versions are left alone): the EMA generator with standing statistics filled
and, unless --nowith_classifier, the frozen classifier, so the model goes
from pixels to reconstruction. Signatures: see logit_gan/export.py or
`saved_model_cli show --dir exports/shapes_robust/1 --all`. A baseline's
run (train.method = 'dosovitskiy_brox') exports its decoder the same way;
`describe` then says method 'dosovitskiy_brox', deterministic 1.
"""

from __future__ import annotations

from absl import app
from absl import flags
from absl import logging

from logit_gan.cli import common

flags.DEFINE_string("model_dir", None, "A bin/train model_dir.",
                    required=True)
flags.DEFINE_string("export_dir", None, "Where version folders (1, 2, ...) "
                    "are written.", required=True)
flags.DEFINE_string("checkpoint", None, "A checkpoint prefix in model_dir "
                    "(e.g. runs/x/ckpt-2000); default: the latest.")
flags.DEFINE_boolean("with_classifier", None, "Bundle the frozen classifier "
                     "(adds the `reconstruct` signature: pixels in). "
                     "Default: bundled when it can be exported.")
flags.DEFINE_multi_string("gin_bindings", [], "Overrides of the run's "
                          "config, e.g. a classifier path that moved.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  from logit_gan import export
  from logit_gan import trained
  flag = flags.FLAGS
  run = trained.load(flag.model_dir, checkpoint=flag.checkpoint,
                     gin_bindings=flag.gin_bindings)
  metadata = export.run_metadata(run)
  generator = run.model.inference_generator
  bundled = flag.with_classifier is not False
  try:
    version = export.export(generator, flag.export_dir, metadata=metadata,
                            classifier=run.classifier if bundled else None,
                            eval_distribution=run.model.eval_distribution)
  except (ValueError, AssertionError) as error:
    if flag.with_classifier:
      raise
    logging.warning("The classifier %s cannot be exported (%s); exporting "
                    "the generator alone.", run.classifier.name, error)
    bundled = False
    version = export.export(generator, flag.export_dir, metadata=metadata,
                            eval_distribution=run.model.eval_distribution)
  print(f"Exported step {run.step} of {flag.model_dir} to {version} "
        f"(classifier {run.classifier.name} "
        f"{'bundled' if bundled else 'not bundled'}). Signatures: "
        f"saved_model_cli show --dir {version} --all")


def run():
  common.run(main, __name__)


if __name__ == "__main__":
  run()
