"""`report/2afc.html`: a two-alternative forced choice rating page, the
paper's Table 1 ("which reconstruction is closer to the original?") for
the models of one analysis. Self-contained: the images inline as PNG data
URIs, plain JavaScript, no network.

Each trial shows a test image (the original) between two models'
reconstructions of it, left and right; the rater picks one with the
keyboard (left arrow or 1, right arrow or 2; Backspace undoes the last
choice) or a click, and sees the progress ("12 / 64"). At the end the page
shows the answers (analyses/two_afc.py's format, scored by `bin/analyze
--score_2afc`) in a <pre> to copy, with a link that downloads them as a
JSON file.

The images are those the `reconstructions` experiment keeps in
<analysis_dir>/reconstructions/images.npz: the first K test images and
each model's first reconstruction (its `saved_images` setting, 64 by
default). The trials (`trials`): every pair of models, each on the first
`count` (<= K) images, each model on the left in half of a pair's trials
(one more for the first model when `count` is odd), in an order and with
sides drawn from `seed`; the page records the seed and the trials, and its
id hashes them with the models and the images.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
import hashlib
import html
import itertools
import json
import os

import numpy as np

from logit_gan import files
from logit_gan.analyses import figures
from logit_gan.analyses import reconstructions
from logit_gan.analyses import results as results_lib
from logit_gan.analyses import two_afc as answers_lib

# Where an image is drawn on the page (CSS pixels, pixels kept sharp).
SHOWN_PIXELS = 208


class Unavailable(ValueError):
  """The analysis cannot give a 2AFC page (no images.npz, one model)."""


def page_path(report_file: str) -> str:
  """The 2AFC page beside a report page: report/index.html ->
  report/2afc.html; report/optimization.html ->
  report/optimization_2afc.html."""
  folder, name = os.path.split(str(report_file))
  stem = os.path.splitext(name)[0]
  return os.path.join(folder, "2afc.html" if stem == "index"
                      else f"{stem}_2afc.html")


def trials(models: Sequence[str], count: int, seed: int) -> list[dict]:
  """The page's trials: for every pair (a, b) of `models` (in their order)
  and image 0 ... count-1, {"image", "pair": [a, b], "left", "right"};
  a on the left in ceil(count / 2) of the pair's trials, b in the rest;
  sides and order drawn from np.random.default_rng(seed)."""
  if count < 1 or len(models) < 2 or len(set(models)) < len(models):
    raise ValueError(f"2AFC trials need count >= 1 and two or more distinct "
                     f"models, not {count} and {list(models)}.")
  rng = np.random.default_rng(seed)
  made = []
  for a, b in itertools.combinations(models, 2):
    first_left = rng.permutation(np.arange(count) < (count + 1) // 2)
    made += [{"image": image, "pair": [a, b],
              "left": a if left else b, "right": b if left else a}
             for image, left in enumerate(first_left.tolist())]
  return [made[i] for i in rng.permutation(len(made)).tolist()]


def load_images(analysis_dir: str) -> dict:
  """images.npz of the analysis's `reconstructions` as {"originals": uint8
  [K, R, R, 3], "reconstructions": {model: uint8 [K, R, R, 3]}}; Unavailable
  when it is absent or holds fewer than two models."""
  experiment = reconstructions.NAME
  arrays = results_lib.read_arrays(analysis_dir, experiment,
                                   reconstructions.IMAGES_FILE)
  where = os.path.join(str(analysis_dir), experiment,
                       reconstructions.IMAGES_FILE)
  if arrays is None:
    raise Unavailable(f"{where} is absent: run bin/analyze "
                      f"--experiment={experiment} (reconstructions."
                      "saved_images > 0) with two or more models.")
  missing = {"originals", "reconstructions", "models"} - set(arrays)
  if missing:
    raise ValueError(f"{where} lacks {sorted(missing)}; rerun bin/analyze "
                     f"--experiment={experiment} --force.")
  names = [str(name) for name in arrays["models"]]
  if len(names) < 2:
    raise Unavailable(f"{where} holds the reconstructions of {names}; a "
                      "2AFC page compares two or more models: analyse "
                      "them together.")
  return {"originals": arrays["originals"],
          "reconstructions": dict(zip(names, arrays["reconstructions"]))}


def _data_uri(image: np.ndarray) -> str:
  return "data:image/png;base64," + base64.b64encode(
      figures.png(image)).decode()


def page_record(analysis_dir: str, images: dict, chosen: list[dict],
                count: int, seed: int) -> dict:
  """The page's metadata, copied into every answers file: the models (name,
  method), the analysis folder, the images and seed, the question, the
  number of trials and an id over the trials, models and pixels."""
  stored = results_lib.read_result(analysis_dir, reconstructions.NAME) or {}
  methods = {m.get("name"): m.get("method") for m in stored.get("models", [])}
  models = [{"name": name, "method": methods.get(name)}
            for name in images["reconstructions"]]
  digest = hashlib.sha256(json.dumps([models, chosen, seed]).encode())
  digest.update(images["originals"][:count].tobytes())
  for pixels in images["reconstructions"].values():
    digest.update(pixels[:count].tobytes())
  return {"id": digest.hexdigest()[:16], "models": models,
          "analysis_dir": (str(analysis_dir) if files.is_remote(analysis_dir)
                           else os.path.abspath(analysis_dir)),
          "images": count, "seed": seed, "question": answers_lib.QUESTION,
          "trials": len(chosen)}


def _json_script(element_id: str, value) -> str:
  """A <script type="application/json"> the page's JavaScript reads."""
  text = json.dumps(value).replace("</", "<\\/")
  return f'<script type="application/json" id="{element_id}">{text}</script>'


def build(analysis_dir: str, *, count: int = 64, seed: int = 0,
          title: str = "logit_gan 2AFC") -> tuple[str, dict]:
  """(the page's HTML, its metadata `page_record`) for the first `count`
  images (fewer when the analysis keeps fewer)."""
  if count < 1:
    raise ValueError(f"A 2AFC page needs count >= 1 images, not {count!r}.")
  images = load_images(analysis_dir)
  count = min(count, len(images["originals"]))
  chosen = trials(list(images["reconstructions"]), count, seed)
  record = page_record(analysis_dir, images, chosen, count, seed)
  shown = {"originals": [_data_uri(x) for x in images["originals"][:count]],
           "reconstructions": {
               name: [_data_uri(x) for x in pixels[:count]]
               for name, pixels in images["reconstructions"].items()}}
  page = (f"<!doctype html><html><head><meta charset='utf-8'><title>"
          f"{html.escape(title)}</title><style>{STYLE}</style></head><body>"
          + BODY.format(title=html.escape(title),
                        question=html.escape(answers_lib.QUESTION))
          + _json_script("format", {"format": answers_lib.FORMAT,
                                    "version": answers_lib.VERSION})
          + _json_script("page", record) + _json_script("trials", chosen)
          + _json_script("images", shown)
          + f"<script>{SCRIPT}</script></body></html>")
  return page, record


def write(analysis_dir: str, out_file: str, *, count: int = 64,
          seed: int = 0) -> str:
  """Writes the page (`build`) to out_file; returns a line describing it
  (models, pairs, images, trials, path). Unavailable when the analysis
  has no images.npz of two or more models."""
  page, record = build(analysis_dir, count=count, seed=seed)
  files.write_text(out_file, page)
  models = len(record["models"])
  return (f"{models} models ({', '.join(m['name'] for m in record['models'])}"
          f"), {models * (models - 1) // 2} pair(s) x {record['images']} "
          f"images = {record['trials']} trials, seed {seed}: "
          f"{os.path.abspath(out_file)}")


STYLE = f"""
body{{font-family:system-ui,sans-serif;max-width:1000px;margin:1em auto;
padding:0 1em;color:#222;text-align:center}} h1{{font-size:22px}}
img{{width:min({SHOWN_PIXELS}px,28vw);aspect-ratio:1;
image-rendering:pixelated;border:4px solid #ccc}}
.choice img{{cursor:pointer}} .choice img:hover{{border-color:#36c}}
#original{{border-color:#222}}
.trial{{display:flex;justify-content:center;align-items:flex-end;gap:2em}}
#progress{{font-size:20px;font-weight:bold}} .hint{{color:#666}}
pre{{text-align:left;max-height:16em;overflow:auto;background:#f4f4f4;
font-size:11px}} #done{{display:none}}
"""
BODY = """<h1>{title}</h1><p><b>{question}</b></p>
<p class="hint">Left arrow or 1: the left one; right arrow or 2: the right
one; or click it. Backspace undoes the last choice.</p>
<div id="rating"><p id="progress"></p><div class="trial">
<div class="choice"><img id="left" alt="left"><br>1 (&larr;)</div>
<div><b>original</b><br><img id="original" alt="original"><br>&nbsp;</div>
<div class="choice"><img id="right" alt="right"><br>2 (&rarr;)</div>
</div></div>
<div id="done"><p>Done: thank you. Save your answers with the link, or copy
the text below, and hand them in (scored by <code>bin/analyze
--score_2afc=FILE</code>).</p><p><a id="download">Download the answers
(JSON)</a></p><pre id="answers"></pre></div>
"""
# The trials and images come from the JSON scripts above; nothing is
# random here but the session id (it tells two raters' files apart).
SCRIPT = r"""
const read = id => JSON.parse(document.getElementById(id).textContent);
const FORMAT = read('format'), PAGE = read('page'), TRIALS = read('trials');
const IMAGES = read('images');
const SESSION = Array.from(crypto.getRandomValues(new Uint8Array(8)),
                           b => b.toString(16).padStart(2, '0')).join('');
const answers = [];
let shownAt = 0;
const $ = id => document.getElementById(id);
function show() {
  if (answers.length === TRIALS.length) { finish(); return; }
  const trial = TRIALS[answers.length];
  $('original').src = IMAGES.originals[trial.image];
  $('left').src = IMAGES.reconstructions[trial.left][trial.image];
  $('right').src = IMAGES.reconstructions[trial.right][trial.image];
  $('progress').textContent = (answers.length + 1) + ' / ' + TRIALS.length;
  shownAt = performance.now();
}
function choose(side, input) {
  if (answers.length === TRIALS.length) return;
  const trial = TRIALS[answers.length];
  answers.push({trial: answers.length, image: trial.image, pair: trial.pair,
                left: trial.left, right: trial.right, side: side,
                chosen: trial[side], input: input,
                seconds: Math.round(performance.now() - shownAt) / 1000});
  show();
}
function finish() {
  // One trial a line: the <pre> stays short enough to read.
  const head = JSON.stringify(Object.assign(
      {}, FORMAT, {session: SESSION, page: PAGE}));
  const text = head.slice(0, -1) + ',"trials":[\n' +
      answers.map(answer => JSON.stringify(answer)).join(',\n') + '\n]}\n';
  $('rating').style.display = 'none';
  $('done').style.display = 'block';
  $('answers').textContent = text;
  const link = $('download');
  link.href = URL.createObjectURL(new Blob([text],
                                           {type: 'application/json'}));
  link.download = '2afc_' + PAGE.id + '_' + SESSION + '.json';
}
document.addEventListener('keydown', event => {
  if (event.repeat) return;
  const side = {ArrowLeft: 'left', '1': 'left', ArrowRight: 'right',
                '2': 'right'}[event.key];
  if (side) { event.preventDefault(); choose(side, 'key'); }
  if (event.key === 'Backspace' && answers.length < TRIALS.length &&
      answers.length) { event.preventDefault(); answers.pop(); show(); }
});
$('left').addEventListener('click', () => choose('left', 'click'));
$('right').addEventListener('click', () => choose('right', 'click'));
show();
"""
