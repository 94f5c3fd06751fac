"""The 2AFC rating page and its scorer: Wilson's interval against published
values and its defining equation, the pooled preferences of known answers,
bad answers files refused in one line, the page's trials balanced and
seeded, its images those the reconstructions experiment kept, and
bin/analyze --score_2afc. The page in a browser: test_report_browser.py."""

import json
import re
import statistics

from absl import app
import numpy as np
import pytest

from logit_gan.analyses import examples as examples_lib
from logit_gan.analyses import figures
from logit_gan.analyses import reconstructions
from logit_gan.analyses import results as results_lib
from logit_gan.analyses import stats
from logit_gan.analyses import two_afc
from logit_gan.report import two_afc as page_lib

import analysis_models
import cli_main

Z95 = 1.959963984540054  # The standard normal's 97.5% quantile.


# Wilson's interval.

@pytest.mark.parametrize("successes,trials,low,high", [
    # Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3.
    (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)])
def test_wilson_interval_matches_newcombe(successes, trials, low, high):
  interval = stats.wilson_interval(successes, trials)
  assert interval.mean == successes / trials and interval.n == trials
  assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)


def wilson_by_roots(successes, trials, z=Z95):
  """The interval's ends as the roots of its defining equation
  (p̂ - p)² = z² p (1 - p) / n, a quadratic in p."""
  share, ratio = successes / trials, z * z / trials
  roots = np.roots([1 + ratio, -(2 * share + ratio), share * share])
  return sorted(np.real(roots))


@pytest.mark.parametrize("successes,trials", [(48, 64), (224, 256),
                                              (196, 256), (3, 7)])
def test_wilson_interval_solves_its_score_equation(successes, trials):
  interval = stats.wilson_interval(successes, trials)
  low, high = wilson_by_roots(successes, trials)
  assert interval.low == pytest.approx(low, abs=1e-12)
  assert interval.high == pytest.approx(high, abs=1e-12)
  wider = stats.wilson_interval(successes, trials, confidence=0.99)
  assert wider.low < interval.low and wider.high > interval.high
  with pytest.raises(ValueError, match="0 <= successes <= trials"):
    stats.wilson_interval(trials + 1, trials)


def test_wilson_interval_matches_scipy():
  scipy_stats = pytest.importorskip("scipy.stats")
  for successes, trials in [(48, 64), (0, 10), (10, 10), (131, 256)]:
    ours = stats.wilson_interval(successes, trials)
    theirs = scipy_stats.binomtest(successes, trials).proportion_ci(
        confidence_level=0.95, method="wilson")
    assert (ours.low, ours.high) == pytest.approx(
        (theirs.low, theirs.high), abs=1e-10)


# Answers files.

MODELS = ["robust", "standard", "db"]


def answers(choices, *, models=MODELS, session="s1", page_id="p1"):
  """An answers file's content: choices [(image, left, right, chosen)]."""
  rank = {name: i for i, name in enumerate(models)}
  trials = [{"trial": k, "image": image,
             "pair": sorted([left, right], key=rank.__getitem__),
             "left": left, "right": right,
             "side": "left" if chosen == left else "right",
             "chosen": chosen, "seconds": 1.0 + k % 3, "input": "key"}
            for k, (image, left, right, chosen) in enumerate(choices)]
  return {"format": two_afc.FORMAT, "version": two_afc.VERSION,
          "session": session, "trials": trials,
          "page": {"id": page_id, "analysis_dir": "analysis", "images": 64,
                   "seed": 0, "question": two_afc.QUESTION,
                   "trials": len(trials),
                   "models": [{"name": m, "method": "logit_gan"}
                              for m in models]}}


def preferring(first, second, wins, count, start=0):
  """count trials of first vs second, first chosen in the first `wins`,
  sides alternating."""
  return [(start + i, *((first, second) if i % 2 else (second, first)),
           first if i < wins else second) for i in range(count)]


def saved(tmp_path, name, content):
  path = tmp_path / name
  path.write_text(content if isinstance(content, str)
                  else json.dumps(content))
  return str(path)


def test_48_of_64_preferences_score_0_75_with_the_wilson_interval(tmp_path):
  path = saved(tmp_path, "a.json", answers(
      preferring("robust", "standard", 48, 64)
      + preferring("db", "robust", 8, 64)))
  scores = two_afc.score_files([path])
  assert (scores["raters"], scores["trials"]) == (1, 128)
  first, second = scores["pairs"]
  assert first["models"] == ["robust", "standard"]
  assert second["models"] == ["robust", "db"]  # In the page's order.
  robust = first["preferred"]["robust"]
  assert (robust["count"], robust["share"]) == (48, 0.75)
  assert [robust["low"], robust["high"]] == pytest.approx(
      wilson_by_roots(48, 64), abs=1e-12)
  assert (round(robust["low"], 4), round(robust["high"], 4)) == (
      0.6318, 0.8399)
  standard = first["preferred"]["standard"]
  assert standard["count"] == 16 and standard["share"] == 0.25
  assert standard["low"] == pytest.approx(1 - robust["high"], abs=1e-12)
  assert second["preferred"]["robust"]["count"] == 56
  assert (first["trials"], first["raters"]) == (64, 1)
  assert first["median_seconds"] == statistics.median(
      1.0 + k % 3 for k in range(64))


def test_raters_pool_into_one_table(tmp_path):
  one = saved(tmp_path, "one.json", answers(
      preferring("robust", "standard", 48, 64)))
  two = saved(tmp_path, "two.json", answers(
      preferring("robust", "standard", 40, 64), session="s2", page_id="p2"))
  scores = two_afc.score_files([one, two])
  (pair,) = scores["pairs"]
  robust = pair["preferred"]["robust"]
  assert (robust["count"], pair["trials"], pair["raters"]) == (88, 128, 2)
  assert robust["share"] == 88 / 128
  assert [robust["low"], robust["high"]] == pytest.approx(
      wilson_by_roots(88, 128), abs=1e-12)
  assert scores["pages"] == ["p1", "p2"] and scores["files"] == [one, two]
  table = two_afc.table(scores)
  assert "2 rater(s), 128 trials, 95% Wilson intervals" in table
  assert re.search(r"robust vs standard\s+robust\s+0\.688 \[0\.603, "
                   r"0\.761\]\s+88\s+128\s+2", table), table
  assert re.search(r"\n\s+standard\s+0\.312 \[", table), table
  written = two_afc.write(scores, str(tmp_path / "out"))
  assert json.loads(open(written).read()) == scores


def bad_answers():
  good = answers(preferring("robust", "standard", 3, 4))
  no_chosen = json.loads(json.dumps(good))
  del no_chosen["trials"][2]["chosen"]
  wrong_choice = json.loads(json.dumps(good))
  wrong_choice["trials"][1]["chosen"] = "db"
  no_page = {k: v for k, v in good.items() if k != "page"}
  return [
      ("{not json", "is not JSON"),
      ({"trials": []}, "is not a 2AFC answers file"),
      (no_page, "lacks the key 'page'"),
      (no_chosen, r"trial 2 lacks \['chosen'\]"),
      (wrong_choice, "trial 1 chose 'db', which is neither its left"),
      (dict(good, version=7), "answers version 7"),
  ]


@pytest.mark.parametrize("content,problem", bad_answers())
def test_a_bad_answers_file_is_named_with_its_problem(tmp_path, content,
                                                      problem):
  path = saved(tmp_path, "bad.json", content)
  with pytest.raises(ValueError, match=re.escape(path) + ".*" + problem):
    two_afc.score_files([path])


def test_answers_of_other_models_or_twice_the_same_are_refused(tmp_path):
  first = saved(tmp_path, "a.json", answers(
      preferring("robust", "standard", 3, 4)))
  other = saved(tmp_path, "b.json", answers(
      preferring("robust", "inception", 3, 4),
      models=["robust", "inception"], session="s2"))
  with pytest.raises(ValueError, match=re.escape(other) + " answers a page "
                     r"of the models \['robust', 'inception'\], but "
                     + re.escape(first)):
    two_afc.score_files([first, other])
  with pytest.raises(ValueError, match="repeats session s1 of"):
    two_afc.score_files([first, first])
  with pytest.raises(FileNotFoundError, match="no such answers file"):
    two_afc.score_files([str(tmp_path / "missing.json")])


# bin/analyze --score_2afc.

def test_analyze_scores_answers_without_exports(tmp_path):
  one = saved(tmp_path, "one.json", answers(
      preferring("robust", "standard", 48, 64)))
  two = saved(tmp_path, "two.json", answers(
      preferring("robust", "standard", 40, 64), session="s2"))
  ran = cli_main.call("analyze", f"--score_2afc={one}",
                      f"--score_2afc={two}", f"--out={tmp_path / 'out'}")
  assert ran.code is None, ran.err
  assert "robust vs standard" in ran.out and "0.688" in ran.out
  written = json.loads((tmp_path / "out" / two_afc.SCORES_FILE).read_text())
  assert written["pairs"][0]["preferred"]["robust"]["count"] == 88
  broken = saved(tmp_path, "broken.json", "{")
  ran = cli_main.call("analyze", f"--score_2afc={broken}")
  assert ran.code == 2
  assert ran.err.startswith(f"error: {broken} is not JSON")
  assert len(ran.err.strip().splitlines()) == 1
  with pytest.raises(app.UsageError, match="without --export_dir"):
    cli_main.call("analyze", f"--score_2afc={one}", "--export_dir=x",
                  "--all")
  with pytest.raises(app.UsageError, match="--score_2afc=FILE"):
    cli_main.call("analyze", "--all")


# The page.

def test_the_trials_are_balanced_and_seeded():
  made = page_lib.trials(MODELS, 7, seed=3)
  assert len(made) == 3 * 7
  for a, b in [("robust", "standard"), ("robust", "db"),
               ("standard", "db")]:
    pair = [t for t in made if t["pair"] == [a, b]]
    assert sorted(t["image"] for t in pair) == list(range(7))
    assert sum(t["left"] == a for t in pair) == 4  # ceil(7 / 2).
    assert all({t["left"], t["right"]} == {a, b} for t in pair)
  even = page_lib.trials(MODELS[:2], 64, seed=0)
  assert sum(t["left"] == "robust" for t in even) == 32
  assert page_lib.trials(MODELS, 7, seed=3) == made
  assert page_lib.trials(MODELS, 7, seed=4) != made
  # Shuffled across pairs and images, not in the order they were made.
  assert [t["pair"] for t in made[:7]] != [made[0]["pair"]] * 7
  assert [t["image"] for t in even] != sorted(t["image"] for t in even)
  with pytest.raises(ValueError, match="two or more distinct models"):
    page_lib.trials(["robust", "robust"], 4, seed=0)


@pytest.fixture
def analysis(tmp_path):
  """An analysis folder whose reconstructions kept 6 of 8 images of a
  perfect model and of one that returns another image."""
  rng = np.random.default_rng(0)
  images = rng.uniform(-1, 1, (8, 4, 4, 3)).astype(np.float32)
  shuffle = np.roll(np.arange(8), 1)
  models = [analysis_models.MemoryModel(images, "perfect"),
            analysis_models.MemoryModel(images, "other", shuffle)]
  result = reconstructions.run(models, examples_lib.Examples(images),
                               samples=1, lpips=False, saved_images=6,
                               distances=("rmse",))
  results_lib.write(result, str(tmp_path / "analysis"))
  return tmp_path / "analysis", images, shuffle


def test_reconstructions_keep_the_pages_images(analysis):
  folder, images, shuffle = analysis
  kept = results_lib.read_arrays(str(folder), "reconstructions",
                                 reconstructions.IMAGES_FILE)
  assert kept["originals"].dtype == np.uint8
  np.testing.assert_array_equal(kept["originals"],
                                figures.to_uint8(images[:6]))
  np.testing.assert_array_equal(kept["reconstructions"], np.stack(
      [figures.to_uint8(images[:6]), figures.to_uint8(images[shuffle[:6]])]))
  assert kept["models"].tolist() == ["perfect", "other"]
  stored = results_lib.read_result(str(folder), "reconstructions")
  assert stored["arrays"] == [reconstructions.IMAGES_FILE]
  assert stored["settings"]["saved_images"] == 6


def scripts(page):
  """{id: the JSON of each <script type="application/json">}."""
  return {found[0]: json.loads(found[1].replace("<\\/", "</")) for found in
          re.findall(r'<script type="application/json" id="(\w+)">(.*?)'
                     r"</script>", page)}


def test_the_page_holds_its_trials_and_images_inline(analysis, tmp_path):
  folder, _, _ = analysis
  out = tmp_path / "report" / "2afc.html"
  line = page_lib.write(str(folder), str(out), count=99, seed=5)
  assert "1 pair(s) x 6 images = 6 trials, seed 5" in line  # 6 kept.
  page = out.read_text()
  assert not re.search(r"(src|href)=[\"']https?:", page)  # No network.
  found = scripts(page)
  assert found["trials"] == page_lib.trials(["perfect", "other"], 6, 5)
  assert found["page"]["models"] == [
      {"name": "perfect", "method": "memory"},
      {"name": "other", "method": "memory"}]
  assert found["format"] == {"format": two_afc.FORMAT,
                             "version": two_afc.VERSION}
  uris = found["images"]["reconstructions"]["other"]
  assert len(found["images"]["originals"]) == len(uris) == 6
  assert found["images"]["reconstructions"]["perfect"] == found["images"][
      "originals"]  # The perfect model's PNGs are the originals'.
  again, record = page_lib.build(str(folder), count=6, seed=5)
  assert record["id"] == found["page"]["id"] and again == page
  assert page_lib.build(str(folder), count=6, seed=6)[1]["id"] != record["id"]


def test_no_page_without_kept_images_of_two_models(tmp_path):
  with pytest.raises(page_lib.Unavailable, match="images.npz is absent"):
    page_lib.build(str(tmp_path))
  images = np.zeros((2, 4, 4, 3), np.float32)
  images[1] += 0.5
  one = reconstructions.run([analysis_models.MemoryModel(images)],
                            examples_lib.Examples(images), samples=1,
                            lpips=False, distances=("rmse",))
  results_lib.write(one, str(tmp_path))
  with pytest.raises(page_lib.Unavailable,
                     match=r"holds the reconstructions of \['memory'\]"):
    page_lib.build(str(tmp_path))
  none = reconstructions.run([analysis_models.MemoryModel(images)],
                             examples_lib.Examples(images), samples=1,
                             lpips=False, distances=("rmse",),
                             saved_images=0)
  assert not none.arrays
  (tmp_path / "reconstructions" / "images.npz").write_bytes(b"PK\x03\x04x")
  with pytest.raises(ValueError, match="not a readable NumPy archive"):
    page_lib.build(str(tmp_path))
  assert page_lib.page_path("report/index.html") == "report/2afc.html"
  assert page_lib.page_path("r/optimization.html") == (
      "r/optimization_2afc.html")
