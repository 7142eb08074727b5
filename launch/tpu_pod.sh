#!/usr/bin/env bash
# From a workstation: copy this checkout's git-tracked files (never .venv/, runs/ or data) into a fresh directory
# ~/decompjax-runs/<run id> on every worker of a TPU VM pod, then run launch/run_tpu.sh there on all workers at once,
# each worker logging to ~/decompjax-runs/<run id>/logs/<hostname>.log.
#   TPU_NAME=my-v4-32 ZONE=us-central2-b launch/tpu_pod.sh [flags] [--] train --config=... --workdir=gs://bucket/run
# flags:
#   --dry-run   print every command it would run, in order, and run none
#   --detach    start the run in the background on every worker and return (follow it with the printed command)
#   --queued    first create the pod as a queued resource and wait until it is ACTIVE
#               (env ACCELERATOR_TYPE e.g. v4-32, RUNTIME_VERSION [tpu-ubuntu2204-base], QR_ID [$TPU_NAME], SPOT=1)
# env: TPU_NAME, ZONE (required), PROJECT (optional), RUN_ID (default: UTC time + commit + random).
# The code directory is new on every launch, so --workdir must be gs://... or an absolute path: resuming after a
# preemption is the same command again, reading the same workdir.
set -euo pipefail
DRY_RUN=0 DETACH=0 QUEUED=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1; shift ;;
    --detach) DETACH=1; shift ;;
    --queued) QUEUED=1; shift ;;
    --) shift; break ;;
    *) break ;;
  esac
done
die() { echo "tpu_pod.sh: $*" >&2; exit 2; }
source "$(dirname "${BASH_SOURCE[0]}")/dry_run.sh"  # run, run_sh, quote
[ -n "${TPU_NAME:-}" ] || die "set TPU_NAME (the TPU VM or queued resource node name)"
[ -n "${ZONE:-}" ] || die "set ZONE (e.g. us-central2-b)"
[ $# -gt 0 ] || die "give the decompjax command to run, e.g. -- train --config=configs/x.py --workdir=gs://b/run"
previous=""
for arg in "$@"; do
  [ "$previous" = --workdir ] && arg="--workdir=$arg"
  case "$arg" in
    --workdir=gs://*|--workdir=/*) ;;
    --workdir=*) die "--workdir must be gs://... or an absolute path (the code directory is fresh per run): $arg" ;;
  esac
  previous="$arg"
done
repo="$(cd "$(dirname "$0")/.." && pwd)"
git -C "$repo" rev-parse --git-dir >/dev/null 2>&1 || die "$repo is not a git checkout (only tracked files are copied)"
RUN_ID="${RUN_ID:-$(date -u +%Y%m%d-%H%M%S)-$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo nohead)-$RANDOM}"
remote_dir="decompjax-runs/$RUN_ID"  # relative to each worker's home
tarball="${TMPDIR:-/tmp}/decompjax-$RUN_ID.tgz"
gcloud_args=(--zone "$ZONE")
[ -n "${PROJECT:-}" ] && gcloud_args+=(--project "$PROJECT")

if [ "$QUEUED" = 1 ]; then
  [ -n "${ACCELERATOR_TYPE:-}" ] || die "--queued needs ACCELERATOR_TYPE (e.g. v4-32, v5litepod-16)"
  qr="${QR_ID:-$TPU_NAME}"
  spot=()
  [ "${SPOT:-0}" = 1 ] && spot=(--spot)
  run gcloud compute tpus queued-resources create "$qr" --node-id "$TPU_NAME" "${gcloud_args[@]}" \
    --accelerator-type "$ACCELERATOR_TYPE" --runtime-version "${RUNTIME_VERSION:-tpu-ubuntu2204-base}" "${spot[@]}"
  describe=(gcloud compute tpus queued-resources describe "$qr" "${gcloud_args[@]}" --format='value(state.state)')
  if [ "$DRY_RUN" = 1 ]; then
    run "${describe[@]}"
    echo "# (repeated every 30 s until the state is ACTIVE; FAILED or SUSPENDED stops here)"
  else
    while state="$("${describe[@]}")"; [ "$state" != ACTIVE ]; do
      case "$state" in FAILED|SUSPENDED) die "queued resource $qr is $state";; esac
      echo "tpu_pod.sh: queued resource $qr is ${state:-not ready}; waiting" >&2
      sleep 30
    done
  fi
fi

# Tracked files only (commit or `git add` new files first); local edits to tracked files are included.
run_sh "cd $(printf %q "$repo") && git ls-files -z | tar --null --ignore-failed-read -czf $(printf %q "$tarball") -T -"
run gcloud compute tpus tpu-vm scp "$tarball" "$TPU_NAME:/tmp/decompjax-$RUN_ID.tgz" "${gcloud_args[@]}" --worker=all
run rm -f "$tarball"
# `mkdir` without -p: a directory that already exists is an error, never a copy nested inside an old one.
run gcloud compute tpus tpu-vm ssh "$TPU_NAME" "${gcloud_args[@]}" --worker=all --command \
  "mkdir -p decompjax-runs && mkdir $remote_dir && mkdir $remote_dir/logs && tar -xzf /tmp/decompjax-$RUN_ID.tgz -C $remote_dir && rm /tmp/decompjax-$RUN_ID.tgz"
printf -v args '%q ' "$@"
log="$remote_dir/logs/\$(hostname).log"
if [ "$DETACH" = 1 ]; then
  start="cd $remote_dir && (nohup bash launch/run_tpu.sh $args > logs/\$(hostname).log 2>&1 < /dev/null &)"
else
  start="set -o pipefail; cd $remote_dir && bash launch/run_tpu.sh $args 2>&1 | tee logs/\$(hostname).log"
fi
run gcloud compute tpus tpu-vm ssh "$TPU_NAME" "${gcloud_args[@]}" --worker=all --command "$start"
echo "# run $RUN_ID: code in ~/$remote_dir, per-host logs ~/$log on every worker. Follow worker 0:" >&2
echo "#   gcloud compute tpus tpu-vm ssh $TPU_NAME --zone $ZONE --worker=0 --command 'tail -f ~/$remote_dir/logs/*.log'" >&2
