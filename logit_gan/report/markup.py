"""HTML pieces the report's sections share: escaped text, a number with
its interval and n, and a table."""

from __future__ import annotations

from collections.abc import Sequence
import html
from typing import Optional


def escape(value) -> str:
  """str(value) with &, <, >, and quotes escaped."""
  return html.escape(str(value))


def interval(record: Optional[dict]) -> str:
  """'mean [low, high]' (4 significant digits) of a metrics.json record;
  the mean alone when it has no interval (or low == high == mean); '–'
  when there is no record or no mean."""
  if not record or record.get("mean") is None:
    return "–"
  low, high = record.get("low"), record.get("high")
  if low is None or high is None or low == high == record["mean"]:
    return f"{record['mean']:.4g}"
  return f"{record['mean']:.4g} [{low:.4g}, {high:.4g}]"


def interval_n(record: Optional[dict]) -> str:
  """`interval(record)` followed by its number of images, 'n=1000'."""
  text = interval(record)
  if record and record.get("n") is not None and text != "–":
    text += f" (n={record['n']})"
  return text


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
  """A <table>: header escaped; each row's cells are HTML already."""
  head = "".join(f"<th>{escape(name)}</th>" for name in header)
  body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row)
                 + "</tr>" for row in rows)
  return f"<table><tr>{head}</tr>{body}</table>"
