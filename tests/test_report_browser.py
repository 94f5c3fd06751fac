"""The report in a real browser (headless Chromium through chromedriver):
it loads from disk without network, every figure decodes, the findings
table is there, and the page fits a laptop screen without scrolling
sideways; its 2AFC rating page takes a rater's keys and clicks and gives
answers that score to what was clicked. Skipped, saying what to install,
when Chromium is absent."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import reconstructions
from logit_gan.analyses import results as results_lib
from logit_gan.analyses import rotation
from logit_gan.analyses import two_afc

import analysis_models

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="needs Debian's chromium and chromium-driver (`apt-get install "
           "chromium chromium-driver`; make test does it as root)")]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
  root = tmp_path_factory.mktemp("report")
  rng = np.random.default_rng(0)
  examples = examples_lib.Examples(
      rng.uniform(-1, 1, (8, 16, 16, 3)).astype(np.float32))
  models = analysis_models.tiny_models()
  results_lib.write(rotation.run(models, examples, num_images=8),
                    str(root / "analysis"))
  results_lib.write(reconstructions.run(
      models, examples, samples=1, lpips=False, distances=("rmse",)),
                    str(root / "analysis"))
  done = subprocess.run(
      [sys.executable, "bin/report", f"--analysis_dir={root / 'analysis'}",
       f"--out={root / 'report' / 'index.html'}", "--two_afc_images=4"],
      capture_output=True, text=True, timeout=300)
  assert done.returncode == 0, done.stderr[-2000:]
  assert "Report: " in done.stdout and "not measured" in done.stdout
  assert "1 pair(s) x 4 images = 4 trials" in done.stdout
  return root / "report" / "index.html"


@pytest.fixture(scope="module")
def browser():
  from selenium import webdriver  # pylint: disable=import-outside-toplevel
  from selenium.webdriver.chrome.service import Service  # pylint: disable=import-outside-toplevel
  options = webdriver.ChromeOptions()
  options.binary_location = CHROMIUM
  for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                   "--window-size=1366,768", "--disable-dev-shm-usage"):
    options.add_argument(argument)
  driver = webdriver.Chrome(service=Service(DRIVER), options=options)
  yield driver
  driver.quit()


def test_the_report_renders_offline_with_every_figure(report, browser):
  browser.get(report.as_uri())
  assert browser.title == "logit_gan report"
  images = browser.execute_script(
      "return Array.from(document.images).map(i => [i.complete, "
      "i.naturalWidth, i.alt]);")
  assert images and all(done and width > 0 for done, width, _ in images), (
      images)
  headings = browser.execute_script(
      "return Array.from(document.querySelectorAll('h2')).map(h => h.id);")
  assert headings[:3] == ["summary", "reconstructions", "rotation"]
  rows = browser.execute_script(
      "return document.querySelectorAll('#summary + table tr').length;")
  assert rows > 3  # The header and one row per finding.
  overflow = browser.execute_script(
      "return document.documentElement.scrollWidth - window.innerWidth;")
  assert overflow <= 0, f"the page is {overflow} px wider than the window"
  resources = browser.execute_script(
      "return performance.getEntriesByType('resource').map(r => r.name);")
  assert not [r for r in resources if r.startswith("http")], resources


def test_a_2afc_session_scores_to_what_was_clicked(report, browser,
                                                   tmp_path):
  from selenium.webdriver.common.by import By  # pylint: disable=import-outside-toplevel
  from selenium.webdriver.common.keys import Keys  # pylint: disable=import-outside-toplevel
  browser.get(report.as_uri())
  browser.find_element(By.LINK_TEXT, "Rate the reconstructions yourself: "
                       "which is closer to the original? (2AFC, the "
                       "paper's Table 1)").click()
  assert browser.current_url.endswith("/2afc.html")
  trials = browser.execute_script(
      "return JSON.parse(document.getElementById('trials').textContent);")
  assert len(trials) == 4
  images = browser.execute_script(
      "return Array.from(document.images).map(i => i.naturalWidth);")
  assert images == [16, 16, 16]
  unseen = browser.execute_script(
      "return [document.documentElement.scrollWidth - window.innerWidth, "
      "document.documentElement.scrollHeight - window.innerHeight];")
  assert max(unseen) <= 0, f"a trial needs scrolling: {unseen} px"
  body = browser.find_element(By.TAG_NAME, "body")
  chosen = []
  # Each step: (what to do, the side it chooses; None: undo).
  for action, side in ((Keys.ARROW_LEFT, "left"), ("2", "right"),
                       (Keys.BACKSPACE, None), ("1", "left"),
                       ("click right", "right"), (Keys.ARROW_RIGHT, "right")):
    progress = browser.find_element(By.ID, "progress").text
    assert progress == f"{len(chosen) + 1} / 4"
    if action == "click right":
      browser.find_element(By.ID, "right").click()
    else:
      body.send_keys(action)
    if side is None:
      chosen.pop()
    else:
      chosen.append(trials[len(chosen)][side])
  text = browser.find_element(By.ID, "answers").text
  link = browser.find_element(By.ID, "download")
  assert link.get_attribute("href").startswith("blob:")
  assert link.get_attribute("download").endswith(".json")
  answers = json.loads(text)
  assert [t["chosen"] for t in answers["trials"]] == chosen
  assert [t["input"] for t in answers["trials"]] == ["key", "key", "click",
                                                     "key"]
  assert all(t["seconds"] >= 0 for t in answers["trials"])
  path = tmp_path / "answers.json"
  path.write_text(text)
  (pair,) = two_afc.score_files([str(path)])["pairs"]
  assert pair["models"] == ["robust", "standard"] and pair["trials"] == 4
  assert pair["preferred"]["robust"]["count"] == chosen.count("robust")
  assert pair["preferred"]["robust"]["share"] == chosen.count("robust") / 4
