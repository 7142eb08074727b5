#!/usr/bin/env bash
# Fails loudly (exit 3, one message) unless JAX in the given interpreter sees a GPU: a CUDA install that silently
# runs on the CPU is what this guards against (gpu_single.sh, `make install-cuda`, slurm_gpu.sbatch).
#   launch/check_gpu.sh [--dry-run] [PYTHON]      (default PYTHON: .venv/bin/python)
set -euo pipefail
DRY_RUN=0
if [ "${1:-}" = "--dry-run" ]; then DRY_RUN=1; shift; fi
PY="${1:-.venv/bin/python}"
here="$(cd "$(dirname "$0")" && pwd)"
if [ "$DRY_RUN" = 1 ]; then
  echo "+ $PY $here/check_gpu.py"
  exit 0
fi
exec "$PY" "$here/check_gpu.py"
