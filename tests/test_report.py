"""The report: findings' statuses from intervals, and the page written from
an analysis folder (self-contained, every experiment's section)."""

import datetime
import json
import os
import pathlib
import re
import shutil
import sys
from unittest import mock

import keras
import numpy as np
import pytest
import tensorflow as tf

from logit_gan.analyses import results as results_lib
from logit_gan.analyses import rotation
from logit_gan.analyses import examples as examples_lib
from logit_gan.report import findings
from logit_gan.report import html
from logit_gan.report import markup

import analysis_models


@pytest.mark.parametrize("low,high,sign,expected", [
    (0.1, 0.3, +1, findings.REPRODUCED),
    (-0.3, -0.1, +1, findings.NOT_REPRODUCED),
    (-0.1, 0.3, +1, findings.INCONCLUSIVE),
    (-0.3, -0.1, -1, findings.REPRODUCED),
    (-0.1, 0.3, 0, findings.REPRODUCED),
    (0.1, 0.3, 0, findings.NOT_REPRODUCED),
])
def test_status_follows_the_interval(low, high, sign, expected):
  assert findings.status({"mean": (low + high) / 2, "low": low,
                          "high": high}, sign) == expected
  assert findings.status(None, sign) == findings.NOT_MEASURED


def test_findings_match_difference_records_by_role():
  models = {"mini_robust": {"method": "logit_gan"},
            "mini_standard": {"method": "logit_gan"},
            "db": {"method": "dosovitskiy_brox"}}
  records = [
      {"experiment": "reconstructions", "number": "ssim", "params": {},
       "kind": "difference", "model": "mini_robust - mini_standard",
       "models": ["mini_robust", "mini_standard"], "mean": 0.1, "low": 0.05,
       "high": 0.15},
      {"experiment": "reconstructions", "number": "ssim", "params": {},
       "kind": "difference", "model": "mini_robust - db",
       "models": ["mini_robust", "db"], "mean": -0.1, "low": -0.15,
       "high": -0.05}]
  evaluated = {(f["number"], f["second"]): f["status"]
               for f in findings.evaluate(records, models)}
  assert evaluated[("ssim", "standard")] == findings.REPRODUCED
  assert evaluated[("ssim", "dosovitskiy_brox")] == findings.NOT_REPRODUCED
  assert evaluated[("smoothness", "standard")] == findings.NOT_MEASURED


def test_the_page_holds_every_section_inline(tmp_path):
  models = analysis_models.tiny_models()
  rng = np.random.default_rng(0)
  examples = examples_lib.Examples(
      rng.uniform(-1, 1, (8, 16, 16, 3)).astype(np.float32))
  result = rotation.run(models, examples, num_images=8)
  results_lib.write(result, str(tmp_path / "analysis"))
  page_file = html.write(str(tmp_path / "analysis"),
                         str(tmp_path / "report" / "index.html"))
  page = open(page_file).read()
  assert '<h2 id="rotation">' in page and "Section 13.1" in page
  assert "data:image/png;base64," in page
  assert not re.search(r"(src|href)=[\"']https?:", page)  # No network.
  assert "rmse_rotated" in page and "robust - standard" in page
  with pytest.raises(FileNotFoundError, match="bin/analyze"):
    html.write(str(tmp_path / "nothing"), str(tmp_path / "x.html"))


# report/metrics.json, the provenance and the optimization baseline's page
# (bin/report run in-process on a folder written by hand and by an
# experiment of the tiny models).

GAN = {"name": "mini_robust", "method": "logit_gan"}
STANDARD = {"name": "mini_standard", "method": "logit_gan"}
BASELINE = {"name": "optimization_mini_robust", "method": "optimization"}
# A finding's difference known by hand: robust keeps the class on 6 of 8
# images, standard on 2 (the same images), paired difference 0.5.
AGREEMENT = {"mini_robust": [1, 1, 1, 1, 1, 1, 0, 0],
             "mini_standard": [1, 1, 0, 0, 0, 0, 0, 0]}
# Speed: every call of the GAN faster than every call of the baseline.
SPEED = {"images": 4, "repeats": 3, "models": {
    "mini_robust": {"method": "logit_gan", "seconds_per_image": 0.002,
                    "low": 0.0015, "high": 0.003},
    "optimization_mini_robust": {"method": "optimization",
                                 "seconds_per_image": 0.5, "low": 0.4,
                                 "high": 0.7}}}
OPERATIVE_CONFIG = "train.training_steps = 7000\nGenerator.ch = 16\n"


def _write_result(folder, experiment, per_model, models, number, **params):
  result = results_lib.Result(experiment, models=models,
                              summary=f"{experiment} by hand")
  result.add_per_image(number, per_model, **params)
  results_lib.write(result, str(folder))


class _Export:
  """What provenance.export_record reads of a bin/export SavedModel."""
  path = "/exports/mini_robust/3"
  info = {"method": "logit_gan", "classifier": "mini_robust_resnet",
          "training_step": 7000, "gin_config": OPERATIVE_CONFIG,
          "signatures": "long docs", "class_names": ["a", "b"]}

  def describe(self):
    return {**GAN, "num_classes": 100, "path": self.path}


@pytest.fixture(scope="module")
def analysis_dir(tmp_path_factory):
  """analysis/ with rotation (tiny models), reconstructions and
  iterative_stability by hand, speed.json, provenance.json of one run,
  and optimization/ with the baseline beside the GAN and its speed."""
  from logit_gan import files
  from logit_gan.analyses import provenance
  folder = tmp_path_factory.mktemp("analysis")
  rng = np.random.default_rng(0)
  examples = examples_lib.Examples(
      rng.uniform(-1, 1, (8, 16, 16, 3)).astype(np.float32))
  results_lib.write(rotation.run(analysis_models.tiny_models(), examples,
                                 num_images=8), str(folder))
  _write_result(folder, "reconstructions", AGREEMENT, [GAN, STANDARD],
                "top1_agreement")
  _write_result(folder, "iterative_stability", AGREEMENT, [GAN, STANDARD],
                "agreement_correct")
  files.write_text(str(folder / "speed.json"), json.dumps(
      {**SPEED, "models": {"mini_robust": SPEED["models"]["mini_robust"]}}))
  provenance.append(str(folder), provenance.run_record(
      flag_values={"all": True, "num_images": 8}, models=[_Export()],
      experiments=["rotation"], images=examples.describe(),
      gin_config="rotation.num_images = 8"))
  optimization = folder / "optimization"
  _write_result(optimization, "reconstructions",
                {"mini_robust": [1, 0, 1, 1],
                 "optimization_mini_robust": [1, 1, 1, 1]},
                [GAN, BASELINE], "top1_agreement")
  files.write_text(str(optimization / "speed.json"), json.dumps(SPEED))
  return folder


@pytest.fixture(scope="module")
def reported(analysis_dir, tmp_path_factory):
  """(bin/report's output, report/metrics.json, index.html's text, the
  report folder), bin/report run once in this process."""
  import cli_main
  out = tmp_path_factory.mktemp("report") / "index.html"
  command = ["bin/report", f"--analysis_dir={analysis_dir}", f"--out={out}"]
  with mock.patch.object(sys, "argv", command):  # As bin/report sees it.
    ran = cli_main.call("report", *command[1:])
  assert ran.code is None, ran.err
  metrics = json.loads((out.parent / "metrics.json").read_text())
  return ran.out, metrics, out.read_text(), out.parent


def _key(record):
  return json.dumps(record, sort_keys=True)


def test_metrics_json_holds_every_number_of_the_analysis(analysis_dir,
                                                         reported):
  _, metrics, page, _ = reported
  for folder, stored in ((analysis_dir, metrics),
                         (analysis_dir / "optimization",
                          metrics["optimization"])):
    independent = json.loads((folder / "metrics.json").read_text())
    assert independent and sorted(map(_key, stored["records"])) == sorted(
        map(_key, independent))
    speed = json.loads((folder / "speed.json").read_text())
    assert stored["speed"] == speed
    values = {r["model"]: r for r in stored["speed_records"]
              if r["kind"] == "value"}
    assert {m: (r["mean"], r["low"], r["high"], r["n"]) for m, r in
            values.items()} == {
                m: (e["seconds_per_image"], e["low"], e["high"], 4)
                for m, e in speed["models"].items()}
  # Every number of the analysis is on the page too, with its interval.
  for record in metrics["records"]:
    if record["experiment"] == "rotation" and record["kind"] == "value":
      assert markup.interval(record) in page, record


def test_metrics_json_holds_the_findings_with_status_number_and_ci(
    reported):
  printed, metrics, page, _ = reported
  found = {f["claim"]: f for f in metrics["findings"]}
  assert list(found) == [f.claim for f in findings.FINDINGS]
  keeps = found[findings.FINDINGS[0].claim]
  # 6/8 - 2/8 = 0.5 over the same 8 images, its CI above 0: reproduced.
  assert keeps["record"]["mean"] == pytest.approx(0.5)
  assert keeps["record"]["n"] == 8 and keeps["record"]["low"] > 0
  assert keeps["status"] == findings.REPRODUCED
  assert f"{findings.REPRODUCED:>30}: {keeps['claim']}" in printed
  # The speed finding, from the baseline's speed.json: 2 ms - 500 ms,
  # every GAN call faster than every baseline call.
  speed = next(f for f in metrics["findings"]
               if f["experiment"] == "speed")
  assert speed["status"] == findings.REPRODUCED
  assert speed["record"]["mean"] == pytest.approx(0.002 - 0.5)
  assert speed["record"]["high"] == pytest.approx(0.003 - 0.4)
  ratio = next(r for r in metrics["optimization"]["speed_records"]
               if r["number"] == "time_ratio")
  assert ratio["mean"] == pytest.approx(250.0)
  assert "250×" in page and "range of 3 timed calls" in page
  assert found[findings.FINDINGS[1].claim]["status"] == (
      findings.NOT_MEASURED)  # No SSIM in this analysis.
  counts = {s: sum(f["status"] == s for f in metrics["findings"])
            for s in (findings.REPRODUCED, findings.NOT_MEASURED)}
  assert f"{counts[findings.REPRODUCED]} reproduced" in page


def test_the_paper_value_stands_beside_ours(reported):
  _, metrics, page, _ = reported
  beside = metrics["paper_values"]["iterative_stability"]
  assert {(r["model"], r["paper"]) for r in beside} == {
      ("mini_robust", 0.54), ("mini_standard", 0.493)}
  section = page.split('<h2 id="iterative_stability">')[1].split("<h2")[0]
  assert "0.54" in section and "0.75 [" in section and "(n=8)" in section
  assert "compare the gaps" in section  # What differs from the paper.


def test_provenance_is_this_machine_and_the_analysis_runs(reported):
  _, metrics, page, _ = reported
  provenance = metrics["provenance"]
  machine = provenance["report"]["machine"]
  cpuinfo = pathlib.Path("/proc/cpuinfo")
  if cpuinfo.exists():
    text = cpuinfo.read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    assert machine["processor"] == (model.group(1).strip() if model
                                    else machine["processor"])
    assert machine["avx512"] == bool(re.search(r"\bavx512f\b", text))
  assert machine["cores"] == os.cpu_count()
  assert machine["tensorflow"] == tf.__version__
  assert machine["keras"] == keras.__version__
  date = datetime.datetime.fromisoformat(provenance["report"]["date"])
  assert abs((datetime.datetime.now().astimezone() - date).total_seconds()
             ) < 600
  assert provenance["report"]["command"][0] == "bin/report"
  assert provenance["report"]["command"][1].startswith("--analysis_dir=")
  (run,) = provenance["analysis_runs"]
  assert run["flags"] == {"all": True, "num_images": 8}
  assert run["gin_config"] == "rotation.num_images = 8"
  assert run["machine"]["cores"] == os.cpu_count()
  (export,) = run["exports"]
  assert export["operative_config"] == OPERATIVE_CONFIG
  assert export["training_step"] == 7000
  assert "signatures" not in export and "class_names" not in export
  assert provenance["models"]["mini_robust"] == export
  # The baseline is described by its result.json.
  assert provenance["models"]["optimization_mini_robust"]["method"] == (
      "optimization")
  details = page.split("<details id='provenance'>")[1]
  assert "Generator.ch = 16" in details and "rotation.num_images" in details
  assert page.index("<details id='provenance'>") > page.index(
      '<h2 id="rotation">')  # At the bottom, collapsed (no `open`).


def test_the_optimization_page_is_written_and_linked(analysis_dir,
                                                     reported, tmp_path):
  import cli_main
  printed, _, page, folder = reported
  optimization = (folder / "optimization.html").read_text()
  assert page.index('href="optimization.html"') < page.index(
      "<h2 id='summary'>")
  assert 'href="metrics.json"' in page
  assert 'href="index.html"' in optimization
  assert "optimization_mini_robust" in optimization
  assert '<h2 id="reconstructions">' in optimization
  assert f"The optimization baseline: {folder / 'optimization.html'}" in (
      printed)
  # Without the baseline's folder: no page, no link, a stale page removed.
  plain = tmp_path / "analysis"
  shutil.copytree(analysis_dir, plain)
  shutil.rmtree(plain / "optimization")
  (tmp_path / "report").mkdir()
  (tmp_path / "report" / "optimization.html").write_text("stale")
  ran = cli_main.call("report", f"--analysis_dir={plain}",
                      f"--out={tmp_path / 'report' / 'index.html'}")
  assert ran.code is None, ran.err
  assert not (tmp_path / "report" / "optimization.html").exists()
  assert "optimization.html" not in (
      tmp_path / "report" / "index.html").read_text()
  metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
  assert metrics["optimization"] is None


def test_machine_reads_lscpu_and_says_when_it_does_not_know():
  from logit_gan import machine
  lscpu = "Model name:            AMD EPYC 7B13\nFlags: fpu sse avx2 fma\n"
  assert machine.cpu_model(lscpu) == "AMD EPYC 7B13"
  assert machine.has_avx512(lscpu) is False
  assert machine.has_avx512(lscpu.replace("avx2", "avx512f")) is True
  assert machine.has_avx512("Model name: something\n") is None


def test_a_damaged_provenance_file_is_named_with_the_fix(tmp_path):
  from logit_gan.analyses import provenance
  (tmp_path / "provenance.json").write_text("{")
  with pytest.raises(ValueError, match=r"provenance.json is not valid JSON "
                     r".*run bin/analyze again"):
    provenance.read(str(tmp_path))
  (tmp_path / "provenance.json").write_text("[]")
  with pytest.raises(ValueError, match="has no list of runs"):
    provenance.read(str(tmp_path))


def test_results_md_has_a_row_per_headline_number_and_the_command(
    analysis_dir, reported):
  from logit_gan.analyses import results as results_lib_
  from logit_gan.report import markdown
  text = (reported[3] / markdown.RESULTS_FILE).read_text()
  assert "\nbin/analyze" in text  # The recorded run's command.
  records = results_lib_.read_metrics(str(analysis_dir))
  rows = [line for line in text.splitlines() if line.startswith("| ")][1:]
  headline = {(r["experiment"], r["number"], json.dumps(r["params"]))
              for r in records if markdown.is_headline(r)}
  assert len(rows) == len(headline) > 0
  # Each model's number and the paired difference, as metrics.json has them.
  agreement = {r["model"]: r for r in records
               if r["number"] == "top1_agreement"}
  row = next(line for line in rows if "| top1_agreement |" in line)
  cells = [cell.strip() for cell in row.strip("|").split("|")]
  names = markdown.columns(records)
  assert len(cells) == 2 + len(names) and set(agreement) <= set(names)
  for name, cell in zip(names, cells[2:]):
    record = agreement.get(name)
    assert cell == (f"{record['mean']:.3g} [{record['low']:.3g}, "
                    f"{record['high']:.3g}]" if record else "–")


def test_results_md_leaves_out_curves_and_keeps_summaries():
  from logit_gan.report import markdown
  def record(experiment, number, model, kind="value", **params):
    return {"experiment": experiment, "number": number, "model": model,
            "params": params, "mean": 0.5, "low": 0.4, "high": 0.6,
            "kind": kind}
  records = [record("logit_shift", "brightness", "a", shift=0.1),
             record("logit_shift", "brightness_slope", "a"),
             record("ood", "rmse", "a", source="fashion_mnist_idx"),
             record("ood", "rmse", "b", source="fashion_mnist_idx"),
             record("ood", "rmse", "a - b", "difference",
                    source="fashion_mnist_idx")]
  assert markdown.columns(records) == ["a", "b", "a - b"]
  text = markdown.table(records)
  assert "brightness (shift=0.1)" not in text
  assert "| logit_shift | brightness_slope | 0.5 [0.4, 0.6] | – | – |" in text
  assert ("| ood | rmse (source=fashion_mnist_idx) | 0.5 [0.4, 0.6] | "
          "0.5 [0.4, 0.6] | 0.5 [0.4, 0.6] |") in text
  assert "| experiment | number | a | b | a − b |" in text
  assert markdown.table([]) == ""


def test_results_md_follows_the_experiments_order():
  from logit_gan.report import markdown
  records = [{"experiment": name, "number": "x", "model": "a", "params": {},
              "mean": 1.0, "low": 1.0, "high": 1.0, "kind": "value"}
             for name in ("ood", "reconstructions", "unknown")]
  rows = markdown.table(records, order=["reconstructions", "ood"])
  assert [line.split("|")[1].strip() for line in rows.splitlines()[2:]] == [
      "reconstructions", "ood", "unknown"]


def test_scored_2afc_ratings_show_as_table_1_with_the_papers_share(
    analysis_dir, tmp_path):
  """Ratings scored into the analysis folder (bin/analyze --score_2afc
  --out=<analysis_dir>) appear on the page and in metrics.json, the
  paper's 76.5% beside robust over standard."""
  from logit_gan.analyses import two_afc
  from logit_gan.report import build
  folder = tmp_path / "analysis"
  shutil.copytree(analysis_dir, folder)
  models = ["mini_robust", "mini_standard"]
  trials = [{"trial": k, "image": k, "pair": models, "left": models[k % 2],
             "right": models[1 - k % 2], "side": "left",
             "chosen": models[0] if k < 12 else models[1], "seconds": 1.0,
             "input": "key"} for k in range(16)]
  for trial in trials:
    trial["side"] = "left" if trial["chosen"] == trial["left"] else "right"
  answers = {"format": two_afc.FORMAT, "version": two_afc.VERSION,
             "session": "s", "trials": trials,
             "page": {"id": "p", "models": [{"name": m, "method": "logit_gan"}
                                            for m in models]}}
  two_afc.write(two_afc.score([("a.json", answers)]), str(folder))
  written = build.write(str(folder), str(tmp_path / "report" / "index.html"))
  page = pathlib.Path(written.index).read_text()
  interval = two_afc.stats.wilson_interval(12, 16)
  low, high = interval.low, interval.high
  assert "Human ratings" in page and "12 / 16" in page
  assert f"0.750 [{low:.3f}, {high:.3f}]" in page and "76.5%" in page
  rows = json.loads(pathlib.Path(written.metrics).read_text())["two_afc"]
  robust = next(row for row in rows if row["model"] == "mini_robust")
  assert (robust["count"], robust["trials"], robust["paper"]) == (12, 16, 0.765)
  assert next(row for row in rows if row["model"] == "mini_standard")[
      "paper"] == pytest.approx(0.235)
  # Without the file: no section, and null in metrics.json.
  (folder / two_afc.SCORES_FILE).unlink()
  written = build.write(str(folder), str(tmp_path / "report" / "index.html"))
  assert "Human ratings" not in pathlib.Path(written.index).read_text()
  assert json.loads(pathlib.Path(written.metrics).read_text())[
      "two_afc"] is None
