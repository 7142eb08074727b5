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


@pytest.fixture(scope="module")
def corpus(trained):
  """A LibriSpeech-layout folder: 2 speakers x 2 files of 4.2 s (4 crops each)."""
  root = trained[3] / "corpus"
  for spk, f0 in (("1", 120), ("2", 210)):
    for u in range(2):
      d = root / spk / "10"
      d.mkdir(parents=True, exist_ok=True)
      sf.write(d / f"{spk}-10-{u}.flac", _tone(4.2, f0, u), 16000)
  return root


def test_input_spec_describes_the_pipeline_batches(trained):
  from decompjax import input_pipeline
  from decompjax.families.autodecompose.family import AUTODECOMPOSE
  config = trained[0]
  first = input_pipeline.first_example_batch(AUTODECOMPOSE.make_dataset(config, "train"), 1)
  spec = AUTODECOMPOSE.input_spec(config)
  assert sorted(spec) == sorted(first)
  for key, s in spec.items():
    assert (s.shape, s.dtype) == (first[key].shape, first[key].dtype), key


def test_train_and_evaluate_on_simvowels(trained):
  from decompjax.evaluation import report
  from decompjax.registry import get_family
  config, state, workdir, _ = trained
  assert int(state.step) == config.train.steps
  assert os.path.isfile(os.path.join(workdir, "config.json"))
  results = report.evaluate_and_write(get_family("autodecompose"), config, state, workdir)
  assert np.isfinite(results["recon_mse"])
  assert results["eval_speakers"] == 5                        # SimVowels test split: unseen speakers
  for name in ("metrics.json", "speaker_probe.csv", "speaker_probe.md", "tsne_speakers.png", "augmentations.png"):
    assert os.path.isfile(os.path.join(workdir, "eval", name)), name
  saved = json.load(open(os.path.join(workdir, "eval", "metrics.json")))
  assert "speaker_f1_voice_2s" in saved and "speaker_f1_content_4s" in saved


def test_probe_and_embed_commands(trained, capsys):
  from decompjax.commands import embed as embed_cmd
  from decompjax.commands import probe as probe_cmd
  from decompjax.commands.embed import embed
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


def test_probe_of_a_corpus_given_as_a_config_override(trained, corpus, capsys):
  # --config.data.dir replaces the old --data.dir flag; a corpus is probed on all its files by default
  # (its 'test' split, every 10th file of a speaker, is empty for 2 files per speaker).
  from decompjax import cli
  _, _, workdir, base = trained
  out = base / "corpus_probe"
  assert cli.main(["probe", "speaker", f"--workdir={workdir}", f"--config.data.dir={corpus}", "--seeds=1",
                   "--seconds=1", f"--out={out}"]) == 0
  text = capsys.readouterr().out
  assert f"corpus {corpus} (all), 2 speakers" in text and "| E_s (voice) |" in text
  assert {p.name for p in out.iterdir()} == {"speaker_probe.csv", "speaker_probe.md", "tsne_speakers.png"}
  assert cli.main(["probe", "speaker", f"--workdir={workdir}", f"--data.dir={corpus}"]) == 2
  assert "unrecognized arguments: --data.dir" in capsys.readouterr().err


def test_embed_refuses_bad_requests_and_other_families(trained, tmp_path):
  from decompjax.commands.embed import embed
  from decompjax.errors import ConfigError
  wav = str(trained[3] / "clip.wav")
  with pytest.raises(ValueError, match="pool='max'"):  # before the workdir is even read
    embed(str(tmp_path / "no_such_run"), [wav], pool="max")
  (tmp_path / "config.json").write_text(json.dumps({"model": {"family": "vqvae"}}))
  with pytest.raises(ConfigError, match="holds a run of family 'vqvae', not 'autodecompose'"):
    embed(str(tmp_path), [wav])


def test_fine_tune_on_a_corpus_with_init_from(trained, corpus):
  config, state, workdir, base = trained
  ft = cfg_mod.get_config("smoke")
  ft.data.dir = str(corpus)
  ft.init_from = workdir
  ft.seed = 1                    # a different random init: equality below proves the params came from workdir
  ft.optim.lr = 0.0              # zero learning rate: the fine-tuned params must equal the source params
  ft.train.steps = 2
  ft.train.eval_at_end = False
  ft_state = train.train_and_evaluate(ft, str(base / "ft"))
  for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(ft_state.params)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b))


def test_prepare_data_generates_what_several_processes_then_read(tmp_path):
  from decompjax.families.autodecompose.family import AUTODECOMPOSE
  config = cfg_mod.get_config("smoke")
  config.data.cache_dir = str(tmp_path / "data")
  with pytest.raises(FileNotFoundError, match="not prepared"):  # a host of several never generates on its own
    AUTODECOMPOSE.make_dataset(config, "train", process_index=1, process_count=2)
  AUTODECOMPOSE.prepare_data(config)
  whole = list(AUTODECOMPOSE.make_dataset(config, "train").as_numpy_iterator())
  share = list(AUTODECOMPOSE.make_dataset(config, "train", process_index=1, process_count=2).as_numpy_iterator())
  assert len(share) == len(whole) // 2
  np.testing.assert_array_equal(share[0]["mel"], whole[len(whole) // 2]["mel"])  # process 1: the second block
