"""House rules that a reader relies on (../shared/STYLE.md): no function in
the library longer than 60 lines, from its `def` line to its last line
(decorators not counted), with no exceptions listed here.

EXPECTED TO FAIL until issue #20's splits land: trainer.train,
classifiers/training.train, data/pipeline.dataset and Generator.__init__
are over the limit on branches that do not have them yet."""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "logit_gan"
MAX_FUNCTION_LINES = 60


def long_functions(path: pathlib.Path, root: pathlib.Path) -> list[str]:
  """`file:line name (N lines)` (file relative to `root`) for each
  function in `path` over the limit, nested functions and methods
  included."""
  tree = ast.parse(path.read_text(), str(path))
  found = []
  for node in ast.walk(tree):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
      length = node.end_lineno - node.lineno + 1
      if length > MAX_FUNCTION_LINES:
        found.append(f"{path.relative_to(root)}:{node.lineno} "
                     f"{node.name} ({length} lines)")
  return found


def test_the_rule_counts_from_def_to_last_line(tmp_path):
  body = "\n".join(f"  x{i} = {i}" for i in range(59))
  (tmp_path / "fits.py").write_text(f"def fits():\n{body}\n")
  (tmp_path / "over.py").write_text(
      f"@decorated\ndef over():\n{body}\n  y = 0\n")
  assert long_functions(tmp_path / "fits.py", tmp_path) == []
  assert long_functions(tmp_path / "over.py", tmp_path) == [
      "over.py:2 over (61 lines)"]


def test_no_library_function_is_over_60_lines():
  offenders = [finding for path in sorted(PACKAGE.rglob("*.py"))
               for finding in long_functions(path, PACKAGE.parent)]
  assert not offenders, (
      f"functions over {MAX_FUNCTION_LINES} lines (split them into named "
      "steps):\n" + "\n".join(offenders))
