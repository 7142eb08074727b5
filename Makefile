# Quick start: `make demo` (train + evaluate a beta-VAE on a generated SynTone grid), `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= runs/demo
# Tests and the demo never touch the network for data; pip does, for packages only.
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: demo test bench install install-test clean-demo demo-autodecompose demo-vqvae

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: $(VENV)/.installed
	$(VENV)/bin/decompjax demo --workdir=$(DEMO_DIR)

test: $(VENV)/.installed-test
	$(PY) -m pytest -q -n 2 --dist=loadfile --durations=10 tests

# Other families' demos on embedded data (the packaged ECG200 UCR set; generated SimVowels). `train` evaluates
# at the end; the Autodecompose demo leaves that to `probe`, which prints the table.
demo-vqvae: $(VENV)/.installed
	$(VENV)/bin/decompjax train --config=configs/vqvae_ucr.py --config.train.steps=300 \
	    --config.optim.decay_steps=300 --config.train.batch_size=96 --workdir=runs/demo-vqvae

demo-autodecompose: $(VENV)/.installed
	$(VENV)/bin/decompjax train --config=configs/autodecompose.py:demo --workdir=runs/demo-autodecompose \
	    --config.train.eval_at_end=false
	$(VENV)/bin/decompjax probe speaker --workdir=runs/demo-autodecompose

bench: $(VENV)/.installed
	$(PY) -m benchmarks.run_all

clean-demo:
	rm -rf $(DEMO_DIR)
