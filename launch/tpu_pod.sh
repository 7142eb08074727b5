#!/usr/bin/env bash
# From a workstation: copy this repository to every worker of an existing TPU VM pod and run
# `launch/run_tpu.sh <decompjax command>` on all of them at once.
#   TPU_NAME=my-v4-32 ZONE=us-central2-b launch/tpu_pod.sh train --config=configs/x.py --workdir=gs://b/run
set -euo pipefail
: "${TPU_NAME:?set TPU_NAME}" "${ZONE:?set ZONE}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
remote_dir="decompjax"
gcloud compute tpus tpu-vm scp --recurse "$repo" "$TPU_NAME:~/$remote_dir" --zone "$ZONE" --worker=all
printf -v args '%q ' "$@"
gcloud compute tpus tpu-vm ssh "$TPU_NAME" --zone "$ZONE" --worker=all \
  --command "cd ~/$remote_dir && bash launch/run_tpu.sh $args"
