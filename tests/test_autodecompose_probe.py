"""Few-shot speaker-ID protocol: splits, F1 on informative vs uninformative features, tables."""
import logging
import math
import os

import numpy as np
import pytest

from decompjax.evaluation import few_shot as probe
from decompjax.families.autodecompose.evaluate import CROP_SECONDS


def _toy(n_speakers=4, utts=12, crops_per_utt=3, seed=0):
  rng = np.random.default_rng(seed)
  speaker = np.repeat(np.arange(n_speakers), utts * crops_per_utt)
  group = np.repeat(np.arange(n_speakers * utts), crops_per_utt)
  centres = rng.normal(0, 4, (n_speakers, 6))
  informative = centres[speaker] + rng.normal(0, 1, (len(speaker), 6))
  noise = rng.normal(0, 1, (len(speaker), 6))
  return {"good": informative, "noise": noise}, speaker, group


def test_split_keeps_utterances_on_one_side():
  _, speaker, group = _toy()
  test, pools = probe.split_indices(speaker, group, seed=1, test_fraction=0.3)
  train = np.concatenate(list(pools.values()))
  assert not set(group[test]) & set(group[train])
  assert len(test) + len(train) == len(speaker)
  for s, pool in pools.items():
    assert (speaker[pool] == s).all()
    n_test = np.sum(speaker[test] == s)
    assert 0.3 * 36 <= n_test <= 0.3 * 36 + 3


def test_f1_separates_informative_from_noise_and_marks_missing_cells():
  feats, speaker, group = _toy()
  crop = CROP_SECONDS
  rows = probe.few_shot_f1(feats, speaker, group, seconds=(2, 10, 40), seeds=3, crop_seconds=crop)
  cell = {(r["feature"], r["seconds"]): r for r in rows}
  assert cell[("good", 10)]["f1_mean"] > 90
  assert cell[("noise", 10)]["f1_mean"] < 50          # chance is 25 %
  assert cell[("good", 2)]["crops_per_speaker"] == math.ceil(2 / crop)
  # 40 s needs 40 crops per speaker but each has only ~25 labelled: missing, not silently smaller
  assert cell[("good", 40)]["runs"] == 0 and np.isnan(cell[("good", 40)]["f1_mean"])
  assert cell[("good", 10)]["runs"] == 3


def test_tables(tmp_path):
  feats, speaker, group = _toy()
  rows = probe.few_shot_f1(feats, speaker, group, seconds=(2, 40), seeds=2, crop_seconds=CROP_SECONDS)
  csv_path, md_path = probe.write_table(rows, str(tmp_path))
  md = open(md_path).read()
  assert md.startswith("| features | 2 s | 40 s |") and "| good |" in md and "n/a" in md
  assert open(csv_path).read().splitlines()[0] == "feature,seconds,crops_per_speaker,f1_mean,f1_std,runs"


def test_one_speaker_is_an_error():
  with pytest.raises(ValueError, match="at least 2 speakers"):
    probe.few_shot_f1({"x": np.zeros((4, 2))}, np.zeros(4, int), np.arange(4), seconds=(1,), seeds=1,
                      crop_seconds=CROP_SECONDS)


def _tone(seconds, f0, seed, sr=16000):
  rng = np.random.default_rng(seed)
  t = np.arange(int(seconds * sr)) / sr
  return (0.3 * np.sin(2 * np.pi * f0 * t) + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.mark.parametrize("n", [2, 5, 12, 29])
def test_tsne_figure_handles_fewer_points_than_its_pca_width(tmp_path, n):
  # Under 30 points the 30-component PCA before t-SNE used to fail; few points fall back to a PCA scatter.
  rng = np.random.default_rng(n)
  emb = {"E_s": rng.normal(size=(n, 128)), "E_c": rng.normal(size=(n, 128))}
  path = probe.tsne_figure(emb, np.arange(n) % 2, str(tmp_path / "t.png"))
  assert os.path.getsize(path) > 0
  fig = probe.speaker_scatter_figure(emb, np.arange(n) % 2)
  method = "t-SNE" if n >= probe.MIN_TSNE_POINTS else "PCA"
  panels = [ax for ax in fig.axes if ax.collections]
  assert [ax.get_title().split(" of ")[0] for ax in panels] == [method, method]
  assert all(sum(len(c.get_offsets()) for c in ax.collections) == n for ax in panels)


def test_probe_on_a_corpus_of_few_crops_writes_table_and_figure(tmp_path, caplog):
  """`probe speaker` on an 8-crop corpus: the table and a (PCA fallback) figure, no crash after the table."""
  import jax
  import soundfile as sf

  from configs import autodecompose as cfg_mod
  from decompjax.evaluation import report
  from decompjax.families.autodecompose import data
  from decompjax.families.autodecompose import evaluate as ad_evaluate
  from decompjax.families.autodecompose.family import AUTODECOMPOSE
  for spk, f0 in (("1", 120), ("2", 210)):
    for u in range(2):
      d = tmp_path / "corpus" / spk / "10"
      d.mkdir(parents=True, exist_ok=True)
      sf.write(d / f"{spk}-10-{u}.flac", _tone(2.2, f0, u), 16000)   # 2 crops per file
  config = cfg_mod.get_config("smoke")
  config.data.dir = str(tmp_path / "corpus")
  config.model.emb_dim = 32        # wider than the t-SNE's 30-component PCA, as every non-smoke preset
  crops = data.load_crops(config, "all")
  assert len(crops.mel) == 8
  state = AUTODECOMPOSE.init_state(config, jax.random.key(0), {"mel": crops.mel[:1]})
  with caplog.at_level(logging.INFO, logger="decompjax"):
    rep = ad_evaluate.speaker_probe(config, state, crops, seconds=(1,), seeds=1, tsne_points=40, batch_size=8)
  assert {k.rsplit("_", 1)[0] for k in rep.metrics} == {"speaker_f1_voice", "speaker_f1_content", "speaker_f1_mel"}
  for name in ("E_s (voice)", "E_c (content)", "raw mel"):
    assert f"| {name} |" in rep.tables["speaker_probe.md"]
  report.write_report(rep, str(tmp_path), process_index=0)
  for name in ("speaker_probe.csv", "speaker_probe.md", "tsne_speakers.png"):
    assert (tmp_path / "eval" / name).is_file(), name
  assert "too few" in caplog.text and "PCA" in caplog.text
