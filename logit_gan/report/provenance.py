"""Where the report's numbers come from, for metrics.json and the page's
collapsed provenance section:

  {"report":   {"date", "command": bin/report's argv, "machine"},
   "analysis_runs": bin/analyze's runs (analyses/provenance.py), oldest
                first ([] for an analysis written before they were
                recorded),
   "models":   {name: the model's record}: the latest run's export record
                (describe() fields, `operative_config`: the training run's
                operative gin config the export bundles, `recorded_in`),
                else its result.json describe() with the operative config
                read from the export's metadata file when it is still
                there (None otherwise; `recorded_in` names the file)}
"""

from __future__ import annotations

import json
import os
import sys
from typing import Optional

from logit_gan import files
from logit_gan import machine
from logit_gan.analyses import provenance as analysis_provenance
from logit_gan.report import analysis as analysis_lib
from logit_gan.report import markup


def _from_export(model: dict) -> dict:
  """A result.json describe() with the export's operative config, read
  from its metadata file when the export is still there."""
  record = dict(model)
  if not model.get("path"):
    return record
  metadata = os.path.join(model["path"], analysis_provenance.METADATA_FILE)
  record["recorded_in"] = metadata
  record["operative_config"] = None
  if files.is_file(metadata):
    try:
      stored = json.loads(files.read_text(metadata))
      record["operative_config"] = stored.get("gin_config") or None
    except json.JSONDecodeError:
      pass  # A damaged metadata file: the path says where to look.
  return record


def collect(analysis: analysis_lib.Analysis,
            command: Optional[list] = None) -> dict:
  """The module docstring's dict; `command` defaults to sys.argv."""
  runs = list((analysis.provenance or {}).get("runs") or [])
  recorded = {model.get("name"): model
              for run in runs for model in run.get("exports") or []}
  models = {name: recorded.get(name) or _from_export(model)
            for name, model in analysis.all_models().items()}
  return {"report": {"date": machine.now(),
                     "command": list(sys.argv if command is None
                                     else command),
                     "machine": machine.describe()},
          "analysis_runs": runs, "models": models}


def _pairs(values: dict) -> str:
  """A two-column table of a flat dict (nested values as JSON)."""
  return markup.table(["", ""], [
      [markup.escape(key), markup.escape(
          value if isinstance(value, str) else json.dumps(value))]
      for key, value in values.items()])


def _machine_line(described: Optional[dict]) -> str:
  """'Intel(R) Xeon(R), AVX-512 yes, 2 cores, TensorFlow 2.21.0, Keras
  3.15.1' of machine.describe()'s dict."""
  if not described:
    return "–"
  avx512 = {True: "yes", False: "no"}.get(described.get("avx512"), "?")
  return (f"{described.get('processor')}, AVX-512 {avx512}, "
          f"{described.get('cores')} cores, TensorFlow "
          f"{described.get('tensorflow')}, Keras {described.get('keras')}")


def _run_rows(runs: list[dict]) -> str:
  rows = [[markup.escape(run.get("date")),
           f"<code>{markup.escape(' '.join(run.get('command') or []))}"
           "</code>", markup.escape(", ".join(run.get("experiments") or [])),
           f"<code>{markup.escape(run.get('gin_config') or '')}</code>",
           markup.escape(_machine_line(run.get("machine")))]
          for run in runs]
  return markup.table(["date", "command", "experiments", "gin bindings",
                       "machine"], rows)


def _model_rows(models: dict) -> str:
  rows = []
  for name, model in models.items():
    config = model.get("operative_config")
    if config:
      shown = (f"<details><summary>operative config</summary><pre>"
               f"{markup.escape(config)}</pre></details>")
    elif model.get("recorded_in"):
      shown = markup.escape("not bundled in the export "
                            f"({model['recorded_in']}): see its training "
                            "run's operative_config.gin")
    else:  # Not an export: a baseline's settings, if any.
      shown = markup.escape(json.dumps(model.get("settings")) if
                            model.get("settings") else "–")
    rows.append([markup.escape(name), markup.escape(model.get("method")),
                 markup.escape(model.get("path") or ""),
                 markup.escape(model.get("training_step", "")),
                 markup.escape(model.get("classifier") or ""),
                 markup.escape(json.dumps(model.get("dataset"))), shown])
  return markup.table(["model", "method", "export", "training step",
                       "classifier", "dataset", "gin config"], rows)


def section(collected: dict) -> str:
  """The page's collapsed <details id="provenance"> section."""
  report = collected["report"]
  runs = collected["analysis_runs"]
  return ("<details id='provenance'><summary>Provenance: the commands, the "
          "models' gin configs, the machines</summary>"
          f"<h3>This report</h3><p>{markup.escape(report['date'])}: "
          f"<code>{markup.escape(' '.join(report['command']))}</code></p>"
          f"{_pairs(report['machine'])}"
          "<h3>bin/analyze runs</h3>" + (
              _run_rows(runs) if runs else
              "<p>Not recorded (the analysis predates provenance.json: "
              "run bin/analyze again to record it).</p>")
          + f"<h3>Models</h3>{_model_rows(collected['models'])}</details>")
