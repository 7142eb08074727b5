#!/usr/bin/env bash
# Runs on every worker of a TPU VM pod, from the fresh copy tpu_pod.sh made (~/decompjax-runs/<run id>):
#  1. Python >= 3.11 (TPU VM images ship 3.10: python3.11 is installed from the deadsnakes PPA when missing);
#  2. a venv kept across runs (~/.decompjax-venv, or $DECOMPJAX_VENV) with whatever is missing installed
#     (`pip install -e ".[tpu]"` adds only what is not there and points decompjax at this copy);
#  3. stale processes that still hold the TPU (an earlier run, a crashed one) are killed;
#  4. `decompjax <command>` with DECOMPJAX_DISTRIBUTED=1 (a failed cluster start is an error, never a lone run).
#   bash launch/run_tpu.sh [--dry-run] train --config=configs/x.py --workdir=gs://bucket/run
# --dry-run prints every command it would run, in order, and runs none. Env: PYTHON (skip the search), DECOMPJAX_VENV.
set -euo pipefail
DRY_RUN=0
if [ "${1:-}" = "--dry-run" ]; then DRY_RUN=1; shift; fi
source "$(dirname "${BASH_SOURCE[0]}")/dry_run.sh"  # run, run_sh, quote
cd "$(dirname "$0")/.."
VENV="${DECOMPJAX_VENV:-$HOME/.decompjax-venv}"
new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }

PYTHON="${PYTHON:-}"
if [ -n "$PYTHON" ] && ! new_enough "$PYTHON"; then
  echo "run_tpu.sh: PYTHON=$PYTHON is not Python >= 3.11" >&2
  exit 2
fi
if [ -z "$PYTHON" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && new_enough "$candidate"; then PYTHON="$candidate"; break; fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "run_tpu.sh: no Python >= 3.11 on $(hostname); installing python3.11 (deadsnakes PPA)" >&2
  run sudo add-apt-repository -y ppa:deadsnakes/ppa
  run sudo apt-get install -y -q python3.11 python3.11-venv
  PYTHON=python3.11
fi
if [ ! -x "$VENV/bin/python" ] || ! new_enough "$VENV/bin/python"; then
  run rm -rf "$VENV"
  run "$PYTHON" -m venv "$VENV"
  run "$VENV/bin/pip" install -q --upgrade pip
fi
run "$VENV/bin/pip" install -q -e ".[tpu]"
# Only one process can own a TPU: kill leftovers of earlier runs ([b]in/... does not match this command itself).
run_sh "sudo pkill -9 -f '[b]in/decompjax ' || true"
run_sh "sudo lsof -t /dev/accel* /dev/vfio/* 2>/dev/null | xargs -r sudo kill -9 || true"
run exec env DECOMPJAX_DISTRIBUTED=1 "$VENV/bin/decompjax" "$@"
