"""`report/index.html` from a `bin/analyze` output folder: one
self-contained page (figures inlined as PNG data URIs, no network) that a
person reads on a laptop screen.

Layout: links (the optimization baseline's page, metrics.json); the
run's models; a summary table of the paper's findings (findings.py) with
this run's number, interval, n and status, the count of each status, and
the time per image of each method (speed.py); then one section per
experiment in the registry's order: what it measures (the first paragraph
of its module docstring), the paper's figures and, where the paper gives a
number, the paper's value beside ours with what differs (paper_values.py);
the one-line summary; a table of every number (model, parameters, value
[95% CI], n), paired differences after the models; the figures. Last, the
provenance (provenance.py), collapsed.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
import json
import os
import sys
from typing import Optional

import tensorflow as tf

from logit_gan import files
from logit_gan.analyses import registry
from logit_gan.analyses import results as results_lib
from logit_gan.report import analysis as analysis_lib
from logit_gan.report import findings as findings_lib
from logit_gan.report import markup
from logit_gan.report import paper_values
from logit_gan.report import provenance as provenance_lib
from logit_gan.report import speed as speed_lib
from logit_gan.report import two_afc_scores

# The paper's figures and numbers for each experiment (ImageNet 64x64,
# robust and standard ResNet-152, 1000 logits; ours: the run's data).
PAPER = {
    "reconstructions": ("Fig. 1; Table 2 (LPIPS, lower is better): robust "
                        "ours 0.3138, robust D&B 0.3092, standard ResNet "
                        "0.3755, Inception-V3 0.3881."),
    "noise_resampling": "Figs. 3, 4, 11, 12.",
    "noise_interpolation": "Figs. 5, 15, 16.",
    "logit_interpolation": "Figs. 9, 13, 14.",
    "logit_shift": "Fig. 8a: shifts -0.30...0.30 (robust), -0.1...0.1 "
                   "(standard).",
    "logit_scale": "Fig. 8b: scales 10^-0.3...10^0.3.",
    "logit_perturbation": "Fig. 8c: Gaussian noise, variance 0.55.",
    "class_clusters": ("Section 5.5: mean l2 distance to the class mean, "
                       "standard 42.33, robust 43.78 (1000 logits; raw l2 "
                       "grows with the logit scale and the width)."),
    "iterative_stability": ("Section 12: class kept by the reconstruction, "
                            "robust 54% (correct) / 35% (incorrect), "
                            "standard 49.3% / 29.9%, on 500 images of 50 "
                            "classes."),
    "logit_probe": "Beyond the paper (issue #21).",
    "misclassified": "Figs. 6, 17, 18: 'no qualitative difference'.",
    "adversarial": "Fig. 7: FGSM, epsilon 0.1 in [0, 1] pixels.",
    "ood": "Fig. 10: robust encodes CIFAR and MNIST more faithfully.",
    "brightness_fit": "Section 13, Figs. 19-22.",
    "sharpness_fit": "Section 13, Figs. 23-26.",
    "rotation": "Section 13.1, Fig. 27.",
    "factor_recovery": "Beyond the paper (issue #23).",
}
STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:1em auto;
padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}
th{background:#f2f2f2} .reproduced{background:#d8f5d8}
.not-reproduced{background:#f8d7d7} .inconclusive{background:#fff3cd}
.not-measured{color:#888} img{max-width:100%;image-rendering:pixelated;
margin:4px} details{margin:.3em 0} code{font-size:12px}
"""


_escape = markup.escape
_interval = markup.interval


def _png(path: str) -> str:
  with tf.io.gfile.GFile(path, "rb") as file:
    data = base64.b64encode(file.read()).decode()
  return f'<img alt="{_escape(os.path.basename(path))}" ' \
         f'src="data:image/png;base64,{data}">'


def _description(experiment: str) -> str:
  """The first paragraph of the experiment module's docstring (registered
  by "module:function" or as the function itself)."""
  try:
    function = registry.get(experiment)
  except (ImportError, ValueError):
    return ""
  doc = getattr(sys.modules.get(function.__module__), "__doc__", None)
  return (doc or "").strip().split("\n\n")[0]


def _numbers_table(numbers: list[dict]) -> str:
  rows = sorted(numbers, key=lambda r: (r.get("kind") == "difference",
                                        r["number"], r["model"]))
  body = "".join(
      f"<tr><td>{_escape(r['number'])}</td><td>{_escape(r['model'])}</td>"
      f"<td>{_escape(json.dumps(r.get('params') or {}))}</td>"
      f"<td>{_interval(r)}</td><td>{r.get('n', '')}</td></tr>"
      for r in rows)
  return ("<table><tr><th>number</th><th>model</th><th>parameters</th>"
          "<th>value [95% CI]</th><th>n</th></tr>" + body + "</table>")


def _section(analysis_dir: str, experiment: str, beside: str = "") -> str:
  """One experiment's section; `beside`: the paper's values beside this
  run's (paper_values.table)."""
  stored = results_lib.read_result(analysis_dir, experiment)
  if stored is None:
    return (f'<h2 id="{experiment}">{experiment}</h2><p class="not-measured">'
            "Not run (bin/analyze --experiment=" f"{experiment}).</p>")
  figures = "".join(_png(os.path.join(analysis_dir, experiment, name))
                    for name in stored.get("figures", []))
  return (f'<h2 id="{experiment}">{_escape(experiment)}</h2>'
          f"<p>{_escape(_description(experiment))}</p>"
          f"<p><b>Paper:</b> {_escape(PAPER.get(experiment, ''))}</p>"
          f"<p><b>This run:</b> {_escape(stored.get('summary', ''))}</p>"
          f"{beside}"
          f"<details><summary>settings and images</summary><code>"
          f"{_escape(json.dumps(stored.get('settings'), default=str))}<br>"
          f"{_escape(json.dumps(stored.get('examples'), default=str))}"
          f"</code></details>"
          f"{figures}<details open><summary>numbers</summary>"
          f"{_numbers_table(stored.get('numbers', []))}</details>")


def _findings_table(evaluated: list[dict]) -> str:
  rows = "".join(
      f'<tr class="{f["status"].split(" (")[0].replace(" ", "-")}">'
      f"<td>{_escape(f['claim'])}</td><td>{_escape(f['paper'])}</td>"
      f"<td>{_escape(f['experiment'])}: {_escape(f['number'])} "
      f"{_escape(f['first'])} − {_escape(f['second'])}</td>"
      f"<td>{markup.interval_n(f['record'])}{_range_note(f['record'])}"
      f"</td><td>{_escape(f['status'])}</td></tr>" for f in evaluated)
  counts = ", ".join(
      f"{sum(f['status'] == s for f in evaluated)} {s}" for s in (
          findings_lib.REPRODUCED, findings_lib.NOT_REPRODUCED,
          findings_lib.INCONCLUSIVE, findings_lib.NOT_MEASURED))
  return ("<table><tr><th>the paper's finding</th><th>where</th>"
          "<th>measured as</th><th>this run [95% CI] (n)</th>"
          "<th>status</th></tr>" + rows + f"</table><p>{counts}.</p>")


def _range_note(record: Optional[dict]) -> str:
  """What a record's interval is when it is not a 95% CI (speed.py)."""
  return f" ({_escape(record['interval'])})" if record and record.get(
      "interval") else ""


def _speed_tables(analysis: analysis_lib.Analysis) -> str:
  """Time per image of the exports, then of the first beside the
  optimization baseline (speed.json of each folder)."""
  models = analysis.all_models()
  tables = [speed_lib.table(analysis.speed_records(), models, "speed.json")]
  if analysis.optimization:
    tables.append(speed_lib.table(analysis.optimization.speed_records(),
                                  models, "optimization/speed.json"))
  return "".join(tables)


def _links(links: Sequence[tuple[str, str]]) -> str:
  return "<p>" + " · ".join(
      f'<a href="{_escape(href)}">{_escape(text)}</a>'
      for text, href in links) + "</p>" if links else ""


def write(analysis_dir: str, out_file: str, *,
          title: str = "logit_gan report",
          links: Sequence[tuple[str, str]] = (),
          provenance: Optional[dict] = None) -> str:
  """Writes the report of analysis_dir to out_file; returns its path.
  links: (text, href) pairs shown under the title; provenance:
  report/provenance.py's dict, shown collapsed at the bottom."""
  analysis = analysis_lib.read(analysis_dir)
  experiments, models = analysis.experiments, analysis.models
  every_model = analysis.all_models()
  evaluated = findings_lib.evaluate(analysis.all_records(), every_model)
  model_list = "".join(
      f"<li><b>{_escape(name)}</b>: {_escape(m.get('method'))}, "
      f"{_escape(m.get('num_classes'))} logits, {_escape(m.get('resolution'))}"
      f"px, {_escape(m.get('path') or '')}</li>" for name, m in models.items())
  contents = " · ".join(f'<a href="#{e}">{e}</a>' for e in experiments)
  page = (f"<!doctype html><html><head><meta charset='utf-8'><title>"
          f"{_escape(title)}</title><style>{STYLE}</style></head><body>"
          f"<h1>{_escape(title)}</h1>{_links(links)}<ul>{model_list}</ul>"
          f"<h2 id='summary'>The paper's findings in this run</h2>"
          f"{_findings_table(evaluated)}{_speed_tables(analysis)}"
          f"{two_afc_scores.section(analysis_dir, every_model)}"
          f"<p>{contents}</p>"
          + "".join(_section(analysis_dir, e, paper_values.table(
              e, paper_values.beside(e, analysis.records, every_model)))
                    for e in experiments)
          + (provenance_lib.section(provenance) if provenance else "")
          + "</body></html>")
  files.write_text(out_file, page)
  return out_file
