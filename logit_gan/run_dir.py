"""A run directory's file names and writers (minimal: the core helper owns
and extends this module; classifier training uses these four names)."""

from __future__ import annotations

import json
import os
from typing import Any

from logit_gan import files

CONFIG_FILE = "operative_config.gin"
METRICS_FILE = "metrics.json"


def write_config(directory: str, text: str) -> str:
  """Writes the operative gin config; returns its path."""
  return files.write_text(os.path.join(str(directory), CONFIG_FILE), text)


def write_metrics(directory: str, history: Any) -> str:
  """Writes metrics (a JSON value); returns the path."""
  return files.write_text(os.path.join(str(directory), METRICS_FILE),
                          json.dumps(history, indent=2))
