"""Scores raters' answers of the 2AFC rating page (report/two_afc.py): the
analogue of the paper's Table 1, "which reconstruction is closer to the
original?" (4 subjects x 64 images: ours over Dosovitskiy & Brox 87.5%,
robust over standard 76.5%).

An answers file (the page's download) is JSON:

  {"format": FORMAT, "version": VERSION, "session": a random hex id,
   "page": {"id", "analysis_dir", "models": [{"name", "method"}, ...],
            "images", "seed", "question", "trials"},
   "trials": [{"trial", "image", "pair": [a, b], "left", "right",
               "side": "left" | "right", "chosen", "seconds", "input"}]}

`pair` is the two models in the page's order; `left` and `right` say where
each was shown, `chosen` which the rater picked (the model on `side`),
`seconds` how long the trial took. Nothing in it names the rater.

`score_files(paths)` pools one or more files (one rater each) of pages of
the same models: per pair of models, how many trials preferred each, the
share with its Wilson score interval (stats.wilson_interval), the trials
and the raters. The interval treats every trial as independent; raters
who rated the same images share them, so with few raters it is narrower
than an interval over raters and images would be.
"""

from __future__ import annotations

from collections.abc import Sequence
import json
import os

import numpy as np
import tensorflow as tf

from logit_gan import files
from logit_gan.analyses import stats

FORMAT = "logit_gan 2afc answers"
SCORES_FORMAT = "logit_gan 2afc scores"
VERSION = 1
QUESTION = "Which reconstruction is closer to the original?"
SCORES_FILE = "2afc.json"
TRIAL_KEYS = ("image", "pair", "left", "right", "chosen", "seconds")
PAGE_KEYS = ("id", "models")


def read_answers(path: str) -> dict:
  """One answers file (module docstring), checked: a ValueError naming the
  file and what is wrong when it is not JSON, not the page's answers, or
  a trial is incomplete or contradicts itself."""
  if not files.is_file(path):
    raise FileNotFoundError(f"{path}: no such answers file (give the JSON "
                            "the 2AFC page's download saved).")
  try:
    answers = json.loads(files.read_text(path))
  except (json.JSONDecodeError, UnicodeDecodeError) as error:
    raise ValueError(f"{path} is not JSON ({error}); give the file the 2AFC "
                     "page's download saved, or the text it shows at the "
                     "end.") from None
  if not isinstance(answers, dict) or answers.get("format") != FORMAT:
    raise ValueError(f"{path} is not a 2AFC answers file (it lacks "
                     f'"format": "{FORMAT}"); give the file the 2AFC page '
                     "saved.")
  if answers.get("version") != VERSION:
    raise ValueError(f"{path} is of answers version "
                     f"{answers.get('version')!r}, this logit_gan reads "
                     f"version {VERSION}; score it with the logit_gan that "
                     "wrote the page.")
  _check_layout(path, answers)
  models = page_models(answers)
  for number, trial in enumerate(answers["trials"]):
    _check_trial(f"{path}: trial {number}", trial, models)
  return answers


def _check_layout(path: str, answers: dict) -> None:
  """The top-level keys and the page's: a ValueError naming what lacks."""
  page = answers.get("page")
  if not isinstance(page, dict):
    raise ValueError(f"{path} lacks the key 'page' (the page's metadata); "
                     "give the file the 2AFC page saved, unedited.")
  missing = [key for key in PAGE_KEYS if key not in page]
  if missing:
    raise ValueError(f"{path}: its 'page' lacks {missing}; give the file "
                     "the 2AFC page saved, unedited.")
  if not isinstance(answers.get("trials"), list):
    raise ValueError(f"{path} lacks the list 'trials'; give the file the "
                     "2AFC page saved, unedited.")
  names = page_models(answers) if isinstance(page["models"], list) else []
  if (len(names) < 2 or len(set(map(str, names))) < len(names)
      or not all(isinstance(name, str) for name in names)):
    raise ValueError(f"{path}: its page's models are {page['models']!r}, "
                     "not two or more named models [{\"name\": ...}, ...]; "
                     "give the file the 2AFC page saved, unedited.")


def page_models(answers: dict) -> list[str]:
  """The names of the models of the page the answers are of, in its
  order."""
  return [m.get("name") if isinstance(m, dict) else m
          for m in answers["page"]["models"]]


def _check_trial(where: str, trial, models: Sequence[str]) -> None:
  """A ValueError starting with `where` unless the trial has every key,
  two different models of the page, and chose the one on its side."""
  if not isinstance(trial, dict):
    raise ValueError(f"{where} is {trial!r}, not an object.")
  missing = [key for key in TRIAL_KEYS if key not in trial]
  if missing:
    raise ValueError(f"{where} lacks {missing}; give the file the 2AFC "
                     "page saved, unedited.")
  left, right, pair = trial["left"], trial["right"], trial["pair"]
  names = [left, right] + (pair if isinstance(pair, list) else [None])
  if (not all(isinstance(name, str) for name in names) or left == right
      or sorted(names[:2]) != sorted(pair) or not set(names) <= set(models)):
    raise ValueError(f"{where} shows {left!r} and {right!r} as pair "
                     f"{pair!r}: two different models of its page "
                     f"{list(models)} are needed.")
  if trial["chosen"] not in (left, right):
    raise ValueError(f"{where} chose {trial['chosen']!r}, which is neither "
                     f"its left ({left!r}) nor its right ({right!r}) "
                     "model.")


def pool(answer_sets: Sequence[tuple[str, dict]]) -> list[dict]:
  """The trials of every (path, answers) pair, each with its `file`; a
  ValueError when the pages are of different model sets or a session
  comes twice (the same rater's answers given twice)."""
  if not answer_sets:
    raise ValueError("No 2AFC answers to score: give --score_2afc=FILE.")
  first_path, first = answer_sets[0]
  sessions, trials = {}, []
  for path, answers in answer_sets:
    if sorted(page_models(answers)) != sorted(page_models(first)):
      raise ValueError(
          f"{path} answers a page of the models {page_models(answers)}, "
          f"but {first_path} one of {page_models(first)}: score the "
          "answers of one set of models together.")
    session = answers.get("session")
    if session is not None and session in sessions:
      raise ValueError(f"{path} repeats session {session} of "
                       f"{sessions[session]}: the same rater's answers are "
                       "given twice; give each file once.")
    sessions[session] = path
    trials += [dict(trial, file=path) for trial in answers["trials"]]
  return trials


def score(answer_sets: Sequence[tuple[str, dict]], *,
          confidence: float = 0.95) -> dict:
  """The Table 1 analogue of the pooled answers (`pool`): per pair of the
  page's models (in its order), the trials, the raters (files) with a trial
  of it, the median seconds per trial, and for each model of the pair the
  trials preferring it with the share and its Wilson interval."""
  trials = pool(answer_sets)
  models = page_models(answer_sets[0][1])
  rank = {name: i for i, name in enumerate(models)}
  pairs = {}
  for trial in trials:
    pair = tuple(sorted(trial["pair"], key=rank.__getitem__))
    pairs.setdefault(pair, []).append(trial)
  rows = [_pair_row(pair, pairs[pair], confidence)
          for pair in sorted(pairs, key=lambda p: (rank[p[0]], rank[p[1]]))]
  return {"format": SCORES_FORMAT, "question": QUESTION, "models": models,
          "files": [path for path, _ in answer_sets],
          "pages": sorted({a["page"]["id"] for _, a in answer_sets}),
          "raters": len(answer_sets), "trials": len(trials),
          "confidence": confidence, "interval": "wilson", "pairs": rows}


def _pair_row(pair: tuple[str, str], trials: list[dict],
              confidence: float) -> dict:
  """One pair's row of `score`."""
  preferred = {}
  for model in pair:
    count = sum(trial["chosen"] == model for trial in trials)
    interval = stats.wilson_interval(count, len(trials),
                                     confidence=confidence)
    preferred[model] = {"count": count, "share": interval.mean,
                        "low": interval.low, "high": interval.high}
  seconds = [float(t["seconds"]) for t in trials
             if isinstance(t["seconds"], (int, float))]
  return {"models": list(pair), "trials": len(trials),
          "raters": len({trial["file"] for trial in trials}),
          "preferred": preferred,
          "median_seconds": float(np.median(seconds)) if seconds else None}


def score_files(paths: Sequence[str], *, confidence: float = 0.95) -> dict:
  """`score` of the answers files at `paths` (each read with
  `read_answers`)."""
  return score([(path, read_answers(path)) for path in paths],
               confidence=confidence)


def table(scores: dict) -> str:
  """The scores as a text table: one line per model of each pair."""
  percent = round(scores["confidence"] * 100)
  header = (f"2AFC: {scores['question']} {scores['raters']} rater(s), "
            f"{scores['trials']} trials, {percent}% Wilson intervals.")
  lines = [("pair", "preferred", f"share [{percent}% CI]", "count",
            "trials", "raters")]
  for row in scores["pairs"]:
    first, second = row["models"]
    for i, model in enumerate(row["models"]):
      share = row["preferred"][model]
      lines.append((f"{first} vs {second}" if i == 0 else "", model,
                    f"{share['share']:.3f} [{share['low']:.3f}, "
                    f"{share['high']:.3f}]", str(share["count"]),
                    str(row["trials"]) if i == 0 else "",
                    str(row["raters"]) if i == 0 else ""))
  widths = [max(len(line[c]) for line in lines) for c in range(6)]
  return "\n".join([header] + [
      "  ".join(cell.ljust(width) if c < 3 else cell.rjust(width)
                for c, (cell, width) in enumerate(zip(line, widths)))
      .rstrip() for line in lines])


def write(scores: dict, out: str) -> str:
  """Writes the scores as out/2afc.json; returns its path."""
  tf.io.gfile.makedirs(str(out))
  path = os.path.join(str(out), SCORES_FILE)
  files.write_text(path, json.dumps(scores, indent=1))
  return path
