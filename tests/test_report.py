"""The report: findings' statuses from intervals, and the page written from
an analysis folder (self-contained, every experiment's section)."""

import re

import numpy as np
import pytest

from logit_gan.analyses import results as results_lib
from logit_gan.analyses import rotation
from logit_gan.analyses import examples as examples_lib
from logit_gan.report import findings
from logit_gan.report import html

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
