"""The report of an analysis (bin/report; build.py writes it): the folder
read once (analysis.py), the paper's findings checked on its numbers
(findings.py), the paper's values beside ours (paper_values.py), the time
per image (speed.py), the provenance (provenance.py), one self-contained
HTML page per folder (html.py, with markup.py's pieces) and metrics.json
(numbers.py)."""
