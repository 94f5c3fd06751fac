# Quick start: `make demo` and `make test`. Both create (or reuse) .venv and
# install what they need into it; nothing else on the machine is touched.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: demo test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall when the package's requirements change.
$(INSTALLED): setup.py | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(INSTALLED)
	$(PY) bin/describe_models --gin_file=compare_gan/paper.gin --num_classes=1000
	$(PY) bin/describe_models --gin_file=tiny.gin --num_classes=10

test: $(INSTALLED)
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile -p no:cacheprovider --durations=10 tests

clean:
	rm -rf $(VENV) build *.egg-info
