#!/usr/bin/env bash
# Runs on every worker of a TPU VM (tpu_pod.sh calls it): venv on first run, then the command with the
# distributed runtime forced on.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/decompjax ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[tpu]"
fi
export DECOMPJAX_DISTRIBUTED=1
exec .venv/bin/decompjax "$@"
