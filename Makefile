# Quick start: `make demo` and `make test` (`make test-fast` leaves out the
# tests marked slow: training, tracing a GAN step, exporting). Both create (or reuse) .venv and
# install what they need into it; nothing else on the machine is touched.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: demo demo10 test test-fast bench clean debian-packages

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall when the package's requirements change.
# Loading tests also need tensorflow-hub and tensorflow-serving-api. They
# (through tf-keras) require the full `tensorflow` package, a second
# TensorFlow beside tensorflow-cpu; --no-deps keeps them on tensorflow-cpu.
SERVING_TEST_PACKAGES := 'tensorflow-hub==0.16.1' 'tf-keras~=2.21.0' \
	'tensorflow-serving-api~=2.21.0'

$(INSTALLED): setup.py | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip install --quiet --no-deps $(SERVING_TEST_PACKAGES)
	touch $@

# The offline main job: build `shapes_mini` (the 100-class miniature
# ImageNet, on first use), train its standard and robust classifiers at
# 16x16, invert the robust one with the GAN, export it and reconstruct the
# example images from the export alone. Finished stages are skipped; an
# interrupted GAN run resumes from its last checkpoint. `make demo10` is
# the same on the 10-class `shapes` (the numbers in docs/results.md).
RUNS := runs

EXPORTS := exports

define invert
	$(PY) bin/train --gin_file=$(1)/robust.gin --model_dir=$(RUNS)/$(1)_robust
	test -d $(EXPORTS)/$(1)_robust/1 || $(PY) bin/export \
	    --model_dir=$(RUNS)/$(1)_robust --export_dir=$(EXPORTS)/$(1)_robust
	$(PY) bin/reconstruct --export_dir=$(EXPORTS)/$(1)_robust \
	    --images export/examples/*.png export/examples/*.jpg \
	    --num_samples=4 --out=$(RUNS)/$(1)_robust/examples_reconstructed.png
endef

demo: $(RUNS)/classifiers/mini_standard/metrics.json $(RUNS)/classifiers/mini_robust/metrics.json | $(INSTALLED)
	$(call invert,shapes_mini)

demo10: $(RUNS)/classifiers/standard/metrics.json $(RUNS)/classifiers/robust/metrics.json | $(INSTALLED)
	$(call invert,shapes)

$(RUNS)/classifiers/mini_%/metrics.json: | $(INSTALLED)
	$(PY) bin/train_classifier --gin_file=shapes_mini/classifier_$*.gin --output_dir=$(RUNS)/classifiers/mini_$*

$(RUNS)/classifiers/%/metrics.json: | $(INSTALLED)
	$(PY) bin/train_classifier --gin_file=shapes/classifier_$*.gin --output_dir=$(RUNS)/classifiers/$*

# Debian packages the tests use when they can be had: the real
# Fashion-MNIST (idx files: tests/test_idx.py, the ood analysis) and a
# headless browser for the report's test. As root the missing ones are
# installed with apt-get; otherwise the tests that need them skip and say
# why.
DEBIAN_PACKAGES := dataset-fashion-mnist chromium chromium-driver
debian-packages:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian packages: $$missing"; \
	  apt-get install -y -q $$missing >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && \
	    apt-get install -y -q $$missing >/dev/null; } || \
	  echo "note: could not apt-get install $$missing; their tests skip"; \
	else echo "note: not root: $$missing not installed; their tests skip"; fi

PYTEST := $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile \
	-p no:cacheprovider --durations=10

test: $(INSTALLED) debian-packages
	$(PYTEST) tests

# Parameter counts, layers, losses, compat, noise, checks, imports and the
# commands' argument errors: the tests not marked `slow` (pytest.ini).
test-fast: $(INSTALLED) debian-packages
	$(PYTEST) -m "not slow" tests

# Seconds per training iteration (XLA off and on) at the 32x32 benchmark
# shape and the paper's 64x64 networks; see bench/train_step.py. Then time
# per reconstructed image: the exported GAN against optimization-based
# inversion of the same classifier; see bench/inversion_speed.py.
bench: $(INSTALLED)
	$(PY) bench/train_step.py
	$(PY) bench/inversion_speed.py

clean:
	rm -rf $(VENV) build *.egg-info
