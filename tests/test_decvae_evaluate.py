"""DecVAE latent analysis: aggregations, probes against chance, the re-split, latent responses, report files."""
from __future__ import annotations

import json
import os

import ml_collections
import numpy as np
import pytest

from decompjax.evaluation.report import write_report
from decompjax.families.decvae import evaluate, latent_response, latents as lat


def small_settings(**kw):
  base = dict(max_points=400, num_bins=10, dci_trees=10, rf_trees=20, kmeans_init=3, seed=0)
  return lat.AnalysisSettings(**{**base, **kw})


def synthetic(n=400, d=4, seed=0):
  """Z subspaces where OC1 encodes the vowel, OC2 the speaker, OC3 and X are noise."""
  rng = np.random.default_rng(seed)
  vowel, spk = rng.integers(0, 5, n), rng.integers(0, 4, n)
  onehot = lambda y, k: np.eye(k)[y]
  z = {"X": rng.normal(size=(n, d)),
       "OC1": 3 * onehot(vowel, 5)[:, :d] + 0.3 * rng.normal(size=(n, d)) + 3 * (vowel == 4)[:, None],
       "OC2": 3 * onehot(spk, 4) + 0.3 * rng.normal(size=(n, d)),
       "OC3": rng.normal(size=(n, d)),
       "OCs_proj": rng.normal(size=(n, 2))}
  return z, {"vowel": vowel, "speaker_frame": spk}


def test_aggregation_shapes():
  z, _ = synthetic(n=10)
  aggs = lat.aggregate(z)
  assert list(aggs) == ["X", "OC1", "OC2", "OC3", "OCs_joint", "OCs_proj", "all"]
  assert aggs["OCs_joint"].shape == (10, 12) and aggs["all"].shape == (10, 16) and aggs["OCs_proj"].shape == (10, 2)
  np.testing.assert_array_equal(aggs["all"][:, :4], z["X"])
  np.testing.assert_array_equal(aggs["all"][:, 12:], z["OC3"])
  assert list(lat.aggregate({"X": z["X"]})) == ["X"]  # FC-VAE: X only
  with pytest.raises(ValueError, match="unknown aggregation"):
    lat.aggregate(z, ("OCs",))


def test_probes_above_chance_on_signal_and_at_chance_on_noise():
  z, f = synthetic()
  rows = {r["aggregation"]: r for r in lat.analyse(lat.aggregate(z, ("OC_k",)), f, branch="z",
                                                   s=small_settings(metrics=False), strata="speaker_frame")}
  oc1, oc2, oc3 = rows["OC1"], rows["OC2"], rows["OC3"]
  for probe in ("lr", "rf", "kmeans"):
    assert oc1[f"vowel_{probe}"] > 0.8, (probe, oc1)
    assert oc2[f"speaker_frame_{probe}"] > 0.8, (probe, oc2)
  assert oc1["vowel_chance"] < 0.35 and oc2["speaker_frame_chance"] < 0.4
  assert oc3["vowel_lr"] < oc3["vowel_chance"] + 0.15
  assert oc3["speaker_frame_rf"] < oc3["speaker_frame_chance"] + 0.15
  assert oc1["speaker_frame_lr"] < oc1["speaker_frame_chance"] + 0.15  # OC1 holds no speaker


def test_metrics_columns_and_disentanglement_order():
  z, f = synthetic(n=400)
  rows = lat.analyse(lat.aggregate(z, ("OCs_joint", "X")), f, branch="z", s=small_settings())
  joint, x = rows
  for col, _ in lat.METRIC_COLUMNS:
    assert np.isfinite(joint[col]), col
  assert joint["I"] > 0.8 > x["I"]          # informativeness: OC1+OC2 predict both factors, noise does not
  assert joint["D"] > x["D"]


def test_greedy_cluster_mapping_and_resplit():
  labels = np.array([0, 0, 1, 1, 2, 2, 2])
  assert lat.greedy_cluster_accuracy(np.array([5, 5, 3, 3, 9, 9, 9]), labels) == 1.0
  assert lat.greedy_cluster_accuracy(np.array([1, 1, 1, 1, 1, 1, 1]), labels) == pytest.approx(3 / 7)
  spk = np.repeat(np.arange(5), 20)
  tr, te = lat.resplit(spk, test_fraction=0.2, seed=42)
  assert len(te) == 20 and set(spk[tr]) == set(spk[te]) == set(range(5))
  np.testing.assert_array_equal(np.bincount(spk[te]), np.full(5, 4))
  tr2, te2 = lat.resplit(spk, test_fraction=0.2, seed=42)
  np.testing.assert_array_equal(te, te2)  # seeded


def test_collect_drops_invalid_and_overlap_frames():
  n, frames = 3, 4
  arrays = {"frames": np.zeros((n, frames, 2, 8), np.float32),
            "frame_valid": np.array([[1, 1, 0, 1], [1, 1, 1, 1], [0, 0, 0, 0]], np.float32),
            "overlap": np.array([[0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], np.float32),
            "vowel": np.array([[0, 1, 2, -1], [3, 4, 0, 1], [0, 0, 0, 0]], np.int32),
            "speaker": np.array([7, 8, -1], np.int32)}

  def encode(batch):  # a known encoder: frame index and utterance id pass straight through
    b = len(batch["frames"])
    zx = np.broadcast_to(np.arange(frames, dtype=np.float32)[None, :, None], (b, frames, 2))
    return {"z": {"X": zx}, "s": {"X": batch["frame_valid"].sum(1, keepdims=True)}}

  enc = evaluate.encode_arrays(encode, arrays, batch_size=2)
  assert enc["z"]["X"].shape == (3, 4, 2) and enc["s"]["X"].shape == (3, 1)
  z, s, fz, fs = evaluate.collect(enc, arrays, ("vowel", "speaker_frame"), ("speaker_seq",))
  # kept: utt0 frame 0 (frame 1 overlaps, 2 invalid, 3 unlabelled); utt1 all four; utt2 none
  np.testing.assert_array_equal(z["X"][:, 0], [0, 0, 1, 2, 3])
  np.testing.assert_array_equal(fz["vowel"], [0, 3, 4, 0, 1])
  np.testing.assert_array_equal(fz["speaker_frame"], [7, 8, 8, 8, 8])
  np.testing.assert_array_equal(fs["speaker_seq"], [7, 8])  # utterance 2 has no speaker label
  assert s["X"].shape == (2, 1)
  with pytest.raises(Exception, match="no 'emotion' labels"):
    evaluate.collect(enc, arrays, ("vowel",), ("emotion",))


def test_latent_response_of_a_known_linear_encoder():
  v = np.repeat(np.round(np.arange(0.70, 1.29, 0.05) + 0.005, 3), 5)
  vowel = np.tile(np.arange(5), len(v) // 5)
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=3), rng.normal(size=(5, 3))
  a[2], b[:, 0] = 0.0, 0.0                        # dim 0: v only; dim 2: vowel only
  mu = v[:, None] * a + b[vowel]
  levels, m = latent_response.response_matrix(mu, v)
  np.testing.assert_allclose(levels, np.unique(v))
  np.testing.assert_allclose(m, levels[:, None] * a + b.mean(0), atol=1e-12)  # balanced grid: exact
  eta_v, eta_vowel = latent_response.explained_variance(mu, v), latent_response.explained_variance(mu, vowel)
  np.testing.assert_allclose([eta_v[0], eta_vowel[0], eta_v[2], eta_vowel[2]], [1, 0, 0, 1], atol=1e-12)
  resp = latent_response.responses({"OC1": mu}, {"v": v, "vowel": vowel})
  assert np.asarray(resp["OC1"]["vowel"]["matrix"]).shape == (5, 3)
  fig = latent_response.response_figure(resp, "v")
  assert len(fig.axes) == 2


def eval_cfg(**kw):
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.eval = evaluate.eval_config()
  c.eval.update(dict(max_points=300, num_bins=10, dci_trees=5, rf_trees=10, kmeans_init=2, tsne_points=60), **kw)
  return c


def test_analysis_report_files(tmp_path):
  z, f = synthetic(n=300)
  rng = np.random.default_rng(1)
  s = {"X": rng.normal(size=(40, 3)), "OC1": rng.normal(size=(40, 3))}
  fs = {"speaker_seq": np.repeat(np.arange(4), 10)}
  report = evaluate.analysis_report(eval_cfg(), z, s, f, fs)
  paths = write_report(report, str(tmp_path), process_index=0)
  names = {os.path.basename(p) for p in paths}
  assert {"metrics.json", "analysis.csv", "analysis.md", "tsne_z_all_vowel.png", "tsne_s_all_speaker_seq.png"} <= names
  csv_lines = (tmp_path / "eval" / "analysis.csv").read_text().splitlines()
  assert csv_lines[0].startswith("branch,aggregation,dim,n,MI,GCN,D,C,I,Ex,Mod,IRS")
  assert len(csv_lines) == 1 + 7 + 4  # z: X OC1-3 joint proj all; s: X OC1 joint all
  metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
  assert metrics["z/OC1/vowel_lr"] > 0.8 and "s/all/speaker_seq_kmeans" in metrics


def test_baseline_features_fit_on_real_train_frames():
  from decompjax.errors import ConfigError
  from decompjax.families.decvae import baselines
  rng = np.random.default_rng(0)
  arrays = lambda n: {"frames": rng.normal(size=(n, 6, 4, 20)).astype(np.float32),  # noqa: E731
                      "frame_valid": np.ones((n, 6), np.float32)}
  train, test = arrays(10), arrays(3)
  pca = baselines.baseline_features("pca", train, test, dims=5, seed=0)
  assert pca.shape == (3, 6, 5)
  assert baselines.baseline_features("ica", train, test, dims=3, seed=0).shape == (3, 6, 3)
  np.testing.assert_array_equal(baselines.baseline_features("raw", train, test, dims=0, seed=0),
                                test["frames"][:, :, 0, :])
  with pytest.raises(ConfigError, match="dims=99"):
    baselines.baseline_features("pca", train, test, dims=99, seed=0)


def test_fc_vae_config_rejects_bad_values():
  from decompjax import config_utils
  from decompjax.errors import ConfigError
  with pytest.raises(ConfigError, match="model.beta"):
    config_utils.build_config("configs/decvae_fc_vae.py:smoke", [("model.beta", "-1")])
  with pytest.raises(ConfigError, match="model.hidden"):
    config_utils.build_config("configs/decvae_fc_vae.py:smoke", [("model.hidden", "(0,)")])
