"""The report in a real browser (headless Chromium through chromedriver):
it loads from disk without network, every figure decodes, the findings
table is there, and the page fits a laptop screen without scrolling
sideways. Skipped, saying what to install, when Chromium is absent."""

import shutil
import subprocess
import sys

import numpy as np
import pytest

from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import results as results_lib
from logit_gan.analyses import rotation

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
  results_lib.write(rotation.run(analysis_models.tiny_models(), examples,
                                 num_images=8), str(root / "analysis"))
  done = subprocess.run(
      [sys.executable, "bin/report", f"--analysis_dir={root / 'analysis'}",
       f"--out={root / 'report' / 'index.html'}"],
      capture_output=True, text=True, timeout=300)
  assert done.returncode == 0, done.stderr[-2000:]
  assert "Report: " in done.stdout and "not measured" in done.stdout
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
  assert headings[:2] == ["summary", "rotation"]
  rows = browser.execute_script(
      "return document.querySelectorAll('#summary + table tr').length;")
  assert rows > 3  # The header and one row per finding.
  overflow = browser.execute_script(
      "return document.documentElement.scrollWidth - window.innerWidth;")
  assert overflow <= 0, f"the page is {overflow} px wider than the window"
  resources = browser.execute_script(
      "return performance.getEntriesByType('resource').map(r => r.name);")
  assert not [r for r in resources if r.startswith("http")], resources
