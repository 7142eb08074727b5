"""The DecVAE ablation end to end at smoke size: two trained runs + the PCA baseline -> the §5.1 table."""
from __future__ import annotations

import csv
import math
import json
import os

import pytest

from decompjax.experiments import decvae

# Small analysis settings for every run (the smoke preset's eval block, made cheaper still).
FAST = (("eval.dci_trees", "5"), ("eval.rf_trees", "10"), ("eval.kmeans_init", "2"), ("eval.figures", "false"),
        ("eval.traversal_step", "20"), ("train.steps", "2"), ("train.ckpt_every", "2"))


@pytest.fixture(scope="module")
def ablation(tmp_path_factory):
  out = tmp_path_factory.mktemp("decvae_ablation")
  a = decvae.Ablation(workdir=str(out), preset="smoke", methods=("fd",), nocs=(3,), seeds=1,
                      models=("DecVAE", "VAE"), baselines=("PCA",), extra=FAST)
  return a, decvae.run_ablation(a)


def test_table_has_the_paper_columns(ablation):
  a, out = ablation
  with open(out["tables"]["markdown"], encoding="utf-8") as f:
    text = f.read()
  header = next(line for line in text.splitlines() if line.startswith("| model"))
  assert [c.strip() for c in header.strip("|").split("|")] == \
      ["model", "method", "NoC", "seeds"] + [name for name, _ in decvae.COLUMNS]
  body = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| model")]
  assert [line.split("|")[1].strip() for line in body] == ["DecVAE", "VAE", "PCA"]
  with open(out["tables"]["runs"], encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
  assert [r["model"] for r in rows] == ["DecVAE", "VAE", "PCA"]
  for r in rows:
    assert 0.0 <= float(r["vowel_lr"]) <= 1.0 and 0.0 <= float(r["speaker_frame_kmeans"]) <= 1.0
    assert r["D"] != ""


def test_runs_write_their_evaluation_and_are_reused(ablation):
  a, out = ablation
  rundir = os.path.join(a.workdir, "runs", "DecVAE_fd_noc3_seed0")
  with open(os.path.join(rundir, "eval", "metrics.json"), encoding="utf-8") as f:
    metrics = json.load(f)
  assert "z/all/D" in metrics and "s/X/speaker_seq_lr" in metrics and "response/OC1/v/eta2_mean" in metrics
  with open(os.path.join(rundir, "config.json"), encoding="utf-8") as f:
    assert json.load(f)["model"]["beta_z"] == 1.0
  assert os.path.isfile(os.path.join(a.workdir, "baselines", "pca", "eval", "analysis.csv"))
  # The smoke preset's full model (both branches) trained finite through the trainer.
  with open(os.path.join(rundir, "metrics.jsonl"), encoding="utf-8") as f:
    train_records = [r for r in map(json.loads, f) if "train/loss" in r]
  assert [r["step"] for r in train_records][-1] == 2
  assert all(math.isfinite(r["train/loss"]) for r in train_records)
  again = decvae.run_ablation(a)  # finished runs come back from their result.json
  assert [r["results"]["D"] for r in again["records"][:2]] == [r["results"]["D"] for r in out["records"][:2]]
