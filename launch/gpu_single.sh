#!/usr/bin/env bash
# One GPU host: JAX with CUDA in .venv, checked to see a GPU, then `decompjax <command>` on it.
#   launch/gpu_single.sh [--dry-run] train --config=configs/syntone_beta_vae.py --workdir=runs/bvae
# A .venv made by `make install` / `make demo` holds CPU-only JAX; the CUDA extra is added to it once (marker
# .venv/.installed-cuda). If JAX then sees no GPU the script stops (exit 3) instead of training on the CPU, and the
# run itself gets JAX_PLATFORMS=cuda,cpu, so a GPU that fails later is an error, never a CPU fallback.
# --dry-run prints every command it would run, in order, and runs none.
# Env: PYTHON (default python3.11; Python >= 3.11), VENV (default .venv).
set -euo pipefail
DRY_RUN=0
if [ "${1:-}" = "--dry-run" ]; then DRY_RUN=1; shift; fi
source "$(dirname "${BASH_SOURCE[0]}")/dry_run.sh"  # run, run_sh, quote
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  run "$PYTHON" -c 'import sys; sys.exit("decompjax needs Python >= 3.11, this is " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
  run "$PYTHON" -m venv "$VENV"
  run "$VENV/bin/pip" install -q --upgrade pip
fi
if [ ! -f "$VENV/.installed-cuda" ]; then
  run "$VENV/bin/pip" install -q -e ".[cuda]"
  run touch "$VENV/.installed-cuda"
fi
if [ "$DRY_RUN" = 1 ]; then
  bash launch/check_gpu.sh --dry-run "$VENV/bin/python"
else
  bash launch/check_gpu.sh "$VENV/bin/python"
fi
run exec env "JAX_PLATFORMS=${JAX_PLATFORMS:-cuda,cpu}" "$VENV/bin/decompjax" "$@"
