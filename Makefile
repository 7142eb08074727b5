# Quick start: `make demo` (train + evaluate a beta-VAE on a generated SynTone grid), `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= runs/demo
# Tests and the demo never touch the network for data; pip does, for packages only.
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: demo test bench install install-test clean-demo demo-autodecompose demo-vqvae demo-separate demo-decvae

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

# GPU host: JAX with CUDA, then a check that JAX sees a GPU; it fails loudly (exit 3) rather than leave a venv that
# silently trains on the CPU. launch/gpu_single.sh does the same on its own. `make -n install-cuda` prints the steps.
.PHONY: install-cuda
$(VENV)/.installed-cuda: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[cuda]"
	bash launch/check_gpu.sh $(PY)
	touch $@

install-cuda: $(VENV)/.installed-cuda

demo: $(VENV)/.installed
	$(VENV)/bin/decompjax demo --workdir=$(DEMO_DIR)

test: $(VENV)/.installed-test
	$(PY) -m pytest -q -n 2 --dist=loadfile --durations=30 tests

# Other families' demos on embedded data (the packaged ECG200 UCR set; generated SimVowels). `train` evaluates
# at the end; the Autodecompose demo leaves that to `probe`, which prints the table.
demo-vqvae: $(VENV)/.installed
	$(VENV)/bin/decompjax train --config=configs/vqvae_ucr.py --config.train.steps=300 \
	    --config.optim.decay_steps=300 --config.train.batch_size=96 --workdir=runs/demo-vqvae

demo-autodecompose: $(VENV)/.installed
	$(VENV)/bin/decompjax train --config=configs/autodecompose.py:demo --workdir=runs/demo-autodecompose \
	    --config.train.eval_at_end=false
	$(VENV)/bin/decompjax probe speaker --workdir=runs/demo-autodecompose

# Voice/music separation: train a small ConVAE-BSS on generated mixtures (data made on the first run, minutes on
# 2 cores; evaluated at the end), separate a test mixture, print the BSS Eval table and where the WAVs went.
SEP_DIR ?= runs/demo-separate
demo-separate: $(VENV)/.installed
	$(VENV)/bin/decompjax train --config=configs/convae_bss_synmix.py:demo --workdir=$(SEP_DIR)
	$(VENV)/bin/decompjax separate --workdir=$(SEP_DIR) --out=$(SEP_DIR)/separated $(SEP_DIR)/eval/track0_mixture.wav
	@cat $(SEP_DIR)/eval/bss_eval.md
	@echo "separated WAVs: $(SEP_DIR)/separated/track0_mixture/{voice,music}.wav; per-track scores, figures and" \
	    "more WAVs: $(SEP_DIR)/eval/"

bench: $(VENV)/.installed
	$(PY) -m benchmarks.run_all

clean-demo:
	rm -rf $(DEMO_DIR)

# DecVAE on SimVowels, the CPU preset (spec §8): decompose (FD, NoC 3) -> train -> latent analysis.
DECVAE_DIR ?= runs/demo-decvae
demo-decvae: $(VENV)/.installed
	$(VENV)/bin/decompjax data prepare --config=configs/decvae_simvowels.py:demo
	$(VENV)/bin/decompjax train --config=configs/decvae_simvowels.py:demo --workdir=$(DECVAE_DIR) \
	    --config.train.eval_at_end=false
	$(VENV)/bin/decompjax eval --workdir=$(DECVAE_DIR)
	@echo "tables: $(DECVAE_DIR)/eval/analysis.md and analysis.csv (one row per branch x aggregation)"
	@echo "figures: $$(ls $(DECVAE_DIR)/eval/*.png | tr '\n' ' ')"
	@echo "metrics (incl. latent-response matrices): $(DECVAE_DIR)/eval/metrics.json"
