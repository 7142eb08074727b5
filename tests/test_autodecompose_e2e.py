"""End to end: train on tiny SimVowels through the generic trainer, evaluate, probe and embed (CLI and Python),
then fine-tune on a tiny LibriSpeech-layout corpus with `init_from`."""
import json
import os

import jax
import numpy as np
import pytest
import soundfile as sf

from configs import autodecompose as cfg_mod
from decompjax import train

pytestmark = pytest.mark.slow


def _tone(seconds, f0, seed, sr=16000):
  rng = np.random.default_rng(seed)
  t = np.arange(int(seconds * sr)) / sr
  return (0.3 * np.sin(2 * np.pi * f0 * t) + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  base = tmp_path_factory.mktemp("ad_e2e")
  config = cfg_mod.get_config("smoke")
  config.data.cache_dir = str(base / "data")
  config.train.eval_at_end = False  # the tests below evaluate it themselves
  workdir = str(base / "run")
  state = train.train_and_evaluate(config, workdir)
  return config, state, workdir, base


def test_train_and_evaluate_on_simvowels(trained):
  from decompjax.registry import get_family
  config, state, workdir, _ = trained
  assert int(state.step) == config.train.steps
  assert os.path.isfile(os.path.join(workdir, "config.json"))
  results = get_family("autodecompose").evaluate(config, state, workdir)
  assert np.isfinite(results["recon_mse"])
  assert results["eval_speakers"] == 5                        # SimVowels test split: unseen speakers
  for name in ("metrics.json", "speaker_probe.csv", "speaker_probe.md", "tsne_speakers.png", "augmentations.png"):
    assert os.path.isfile(os.path.join(workdir, "eval", name)), name
  saved = json.load(open(os.path.join(workdir, "eval", "metrics.json")))
  assert "speaker_f1_voice_2s" in saved and "speaker_f1_content_4s" in saved


def test_probe_and_embed_commands(trained, capsys):
  from decompjax.autodecompose import embed
  from decompjax.commands import embed as embed_cmd
  from decompjax.commands import probe as probe_cmd
  config, _, workdir, base = trained
  assert probe_cmd.main(["speaker", f"--workdir={workdir}", "--seeds=1", "--seconds=2"]) == 0
  out = capsys.readouterr().out
  assert "| E_s (voice) |" in out and "| E_c (content) |" in out and "| raw mel |" in out
  wav = base / "clip.wav"
  sf.write(wav, _tone(2.5, 200, 0), 16000)                    # 157 frames -> 2 crops
  assert embed_cmd.main([f"--workdir={workdir}", "--encoder=voice", f"--out={base / 'emb'}", str(wav)]) == 0
  saved = np.load(base / "emb" / "clip.voice.npy")
  assert saved.shape == (2, 64, config.model.emb_dim)
  direct = embed(workdir, [str(wav)], encoder="voice")
  np.testing.assert_allclose(direct, saved, atol=1e-6)
  content = embed(workdir, [str(wav)], encoder="content", pool="file")
  assert content.shape == (1, config.model.emb_dim) and not np.allclose(content[0], saved.mean((0, 1)))
  short = base / "short.wav"
  sf.write(short, _tone(0.4, 200, 1), 16000)
  with pytest.raises(ValueError, match="too-short"):
    embed(workdir, [str(short)], encoder="voice")


def test_fine_tune_on_a_corpus_with_init_from(trained):
  config, state, workdir, base = trained
  root = base / "corpus"
  for spk, f0 in (("1", 120), ("2", 210)):
    for u in range(2):
      d = root / spk / "10"
      d.mkdir(parents=True, exist_ok=True)
      sf.write(d / f"{spk}-10-{u}.flac", _tone(4.2, f0, u), 16000)
  ft = cfg_mod.get_config("smoke")
  ft.data.dir = str(root)
  ft.init_from = workdir
  ft.seed = 1                    # a different random init: equality below proves the params came from workdir
  ft.optim.lr = 0.0              # zero learning rate: the fine-tuned params must equal the source params
  ft.train.steps = 2
  ft.train.eval_at_end = False
  ft_state = train.train_and_evaluate(ft, str(base / "ft"))
  for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(ft_state.params)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b))
