"""The report of an analysis: the paper's findings checked on its numbers
(findings.py) and one self-contained HTML page (html.py)."""
