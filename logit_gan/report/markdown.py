"""`report/results.md`: the analysis's headline numbers as one Markdown
table, to paste into docs or a paper's notes.

One row per (experiment, number, parameters) with a column per model
('mean [low, high]', the 95% interval of metrics.json) and a column per
paired difference ('A − B' over the same images). The rows are every number without parameters, plus the
parameterised ones that summarise an experiment (`HEADLINE_PARAMETERISED`:
iterative stability per round, ood per source, factor recovery per
factor, the misclassified group difference); the other parameterised
numbers (every shift of a curve, every probe) stay in metrics.json.
"""

from __future__ import annotations

from collections.abc import Sequence

from logit_gan import files

RESULTS_FILE = "results.md"
# (experiment, number) pairs whose parameterised rows are headlines.
HEADLINE_PARAMETERISED = {
    ("iterative_stability", "agreement"),
    ("misclassified", "rmse"),
    ("ood", "rmse"),
    ("factor_recovery", "fraction_kept"),
}
_MISSING = "–"


def _cell(record) -> str:
  """'mean [low, high]' (3 significant digits), or the mean alone."""
  if record is None or record.get("mean") is None:
    return _MISSING
  low, high = record.get("low"), record.get("high")
  if low is None or high is None:
    return f"{record['mean']:.3g}"
  return f"{record['mean']:.3g} [{low:.3g}, {high:.3g}]"


def _label(record: dict) -> str:
  params = record.get("params") or {}
  inside = ", ".join(f"{key}={value}" for key, value in sorted(
      params.items()))
  return f"{record['number']} ({inside})" if inside else record["number"]


def is_headline(record: dict) -> bool:
  """Whether `record` (a metrics.json record) gets a row."""
  return (not record.get("params")
          or (record["experiment"], record["number"])
          in HEADLINE_PARAMETERISED)


def columns(records: Sequence[dict]) -> list[str]:
  """The models in order of first appearance, then the paired differences
  ('A - B') in order of first appearance."""
  def named(kind):
    return list(dict.fromkeys(r["model"] for r in records
                              if r.get("kind") == kind))
  return named("value") + named("difference")


def table(records: Sequence[dict], order: Sequence[str] = ()) -> str:
  """The Markdown table of the headline records (module docstring), the
  experiments in `order` first (the registry's), the rest as they come;
  '' when there are none."""
  rank = {name: index for index, name in enumerate(order)}
  records = [r for r in records if is_headline(r)]
  if not records:
    return ""
  names = columns(records)
  records.sort(key=lambda r: rank.get(r["experiment"], len(rank)))
  rows: dict = {}
  for record in records:
    key = (record["experiment"], _label(record))
    rows.setdefault(key, {})[record["model"]] = record
  header = ["experiment", "number"] + [n.replace(" - ", " − ")
                                       for n in names]
  lines = ["| " + " | ".join(header) + " |",
           "|" + "---|" * len(header)]
  for (experiment, label), by_model in rows.items():
    cells = [experiment, label] + [_cell(by_model.get(n)) for n in names]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines) + "\n"


def write(records: Sequence[dict], path: str, *, title: str, command: str,
          order: Sequence[str] = ()) -> str:
  """Writes the table (`table(records, order)`) under a title and the
  command that made the numbers to `path` (atomically); returns the
  path."""
  text = (f"# {title}\n\nEvery number: mean [95% interval] over the test "
          "images; the differences are paired (the same images and noise)."
          f"\n\n```\n{command}\n```\n\n{table(records, order)}")
  files.write_text(path, text)
  return path
