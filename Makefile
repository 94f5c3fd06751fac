# Quick start: `make demo` and `make test` (`make test-fast` leaves out the
# tests marked slow: training, tracing a GAN step, exporting). Both create (or reuse) .venv and
# install what they need into it; nothing else on the machine is touched.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: demo demo10 test test-fast bench clean debian-packages demo-packages

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

# `make demo`: the paper's story end to end on `shapes_mini` (the offline
# 100-class miniature ImageNet), in a report to open in a browser
# (bin/demo, logit_gan/demo.py; docs/results.md, "make demo"): 1 build the
# datasets, 2 train the standard and robust classifiers at 16x16, 3 cache
# their logits, 4 train a GAN per classifier and the Dosovitskiy & Brox
# decoder, 5 export the three, 6 bin/analyze --all on them (with the
# optimization baseline on the first 64 test images), 7 write
# report/index.html. Each stage prints its expected time and the ETA;
# finished steps are skipped, an interrupted GAN resumes from its last
# checkpoint: after Ctrl-C or a failure, run `make demo` again.
# `make demo10` trains and inverts the 10-class `shapes` (docs/results.md).
RUNS := runs

EXPORTS := exports

demo: $(INSTALLED) demo-packages
	$(PY) bin/demo --runs=$(RUNS) --exports=$(EXPORTS) --analysis=analysis \
	    --report=report/index.html --num_images=1000

define invert
	$(PY) bin/train --gin_file=$(1)/robust.gin --model_dir=$(RUNS)/$(1)_robust
	test -d $(EXPORTS)/$(1)_robust/1 || $(PY) bin/export \
	    --model_dir=$(RUNS)/$(1)_robust --export_dir=$(EXPORTS)/$(1)_robust
	$(PY) bin/reconstruct --export_dir=$(EXPORTS)/$(1)_robust \
	    --images export/examples/*.png export/examples/*.jpg \
	    --num_samples=4 --out=$(RUNS)/$(1)_robust/examples_reconstructed.png
endef

demo10: $(RUNS)/classifiers/standard/metrics.json $(RUNS)/classifiers/robust/metrics.json | $(INSTALLED)
	$(call invert,shapes)

$(RUNS)/classifiers/%/metrics.json: | $(INSTALLED)
	$(PY) bin/train_classifier --gin_file=shapes/classifier_$*.gin --output_dir=$(RUNS)/classifiers/$*

# Debian packages the tests use when they can be had: the real
# Fashion-MNIST (idx files: tests/test_idx.py, the ood analysis) and a
# headless browser for the report's test. As root the missing ones are
# installed with apt-get; otherwise the tests that need them skip and say
# why.
DEBIAN_PACKAGES := dataset-fashion-mnist chromium chromium-driver
define install_debian
	@missing=$$(for p in $(1); do \
	  dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian packages: $$missing"; \
	  apt-get install -y -q $$missing >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && \
	    apt-get install -y -q $$missing >/dev/null; } || \
	  echo "note: could not apt-get install $$missing; $(2)"; \
	else echo "note: not root: $$missing not installed; $(2)"; fi
endef
debian-packages:
	$(call install_debian,$(DEBIAN_PACKAGES),their tests skip)

# The demo's `ood` analysis reads Debian's real Fashion-MNIST when it is
# installed (the report's out-of-distribution finding needs it).
demo-packages:
	$(call install_debian,dataset-fashion-mnist,the ood analysis leaves it out)

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
