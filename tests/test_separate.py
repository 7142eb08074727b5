"""`decompjax separate`: long files in 50%-overlapped windows with a Hann cross-fade, any rate / mono or stereo in,
voice.wav + music.wav out at the input's rate and length; the errors a user meets."""
from __future__ import annotations

import json
import os

import jax.numpy as jnp
import numpy as np
import pytest
import soundfile as sf

from decompjax import cli
from decompjax.audio.stft import istft_complex, stft_complex
from decompjax.errors import ConfigError, DataError, MissingInputError
from decompjax.families.convae_bss import separate as sep

N_FFT, HOP = 512, 128


def stft_mask_fn(seed: int = 0):
  """A separator as the model's: soft masks that sum to 1 (here random, fixed per bin) on the complex mixture
  STFT, inverted with the mixture phase. Any such pair of estimates sums back to the window's mixture."""
  rng = np.random.default_rng(seed)
  masks = None

  def fn(windows: np.ndarray) -> np.ndarray:
    nonlocal masks
    spec = stft_complex(jnp.asarray(windows), N_FFT, HOP, "hann")  # [B, F, T]
    if masks is None:
      voice = rng.uniform(0, 1, spec.shape[1:]).astype(np.float32)
      masks = np.stack([voice, 1 - voice])
    est = istft_complex(spec[:, None] * masks[None], windows.shape[-1], N_FFT, HOP, "hann")
    return np.asarray(est)

  return fn


def tone_mix(seconds: float, rate: int, channels: int) -> np.ndarray:
  """Band-limited (< 4 kHz) stereo/mono test audio: survives the 16 kHz round trip."""
  t = np.arange(int(seconds * rate)) / rate
  left = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 2 * t)) + 0.2 * np.sin(2 * np.pi * 1250 * t)
  right = 0.25 * np.sin(2 * np.pi * 330 * t) + 0.15 * np.sin(2 * np.pi * 2900 * t + 1.0)
  audio = np.stack([left, right], axis=1)[:, :channels]
  return audio.astype(np.float32)


def test_crossfade_window_sums_to_one_at_half_overlap():
  w = sep.crossfade_window(1000)
  np.testing.assert_allclose(w[:500] + w[500:], 1.0, atol=1e-6)
  with pytest.raises(ValueError):
    sep.crossfade_window(999)


@pytest.mark.parametrize("length", [100, 8000, 20_001])
def test_overlap_add_of_an_identity_separator_is_the_input(length):
  x = np.random.default_rng(1).standard_normal(length).astype(np.float32)
  calls = []

  def fn(w):
    calls.append(w.shape)
    return np.stack([w, 0 * w], axis=1)

  out = sep.overlap_add_separate(x, fn, 4000, batch_size=3, progress=False)
  assert out.shape == (2, length)
  np.testing.assert_allclose(out[0], x, atol=1e-5)  # the cross-fade neither boosts nor dips anywhere
  assert np.all(out[1] == 0)
  assert set(calls) == {(3, 4000)}  # fixed batch shape: a jitted separator compiles once
  assert len(calls) == -(-sep.num_windows(length, 4000) // 3)


def test_soft_masks_summing_to_one_reconstruct_the_mixture_through_overlap_add():
  x = np.random.default_rng(2).standard_normal(3 * 4096 + 77).astype(np.float32)
  out = sep.overlap_add_separate(x, stft_mask_fn(), 4096, batch_size=2, progress=False)
  np.testing.assert_allclose(out.sum(axis=0), x, atol=1e-4)
  assert np.abs(out[0] - out[1]).max() > 0.1  # the masks did split it


def test_separate_files_stereo_44k_longer_than_a_crop(tmp_path):
  audio = tone_mix(2.3, 44100, 2)
  path = tmp_path / "song.wav"
  sf.write(path, audio, 44100, subtype="FLOAT")
  (result,) = sep.separate_files([str(path)], str(tmp_path / "out"), stft_mask_fn(), 8000, batch_size=4,
                                 progress=False)
  assert result["voice"] == str(tmp_path / "out" / "song" / "voice.wav")
  voice, rv = sf.read(result["voice"], dtype="float32")
  music, rm = sf.read(result["music"], dtype="float32")
  assert rv == rm == 44100 and voice.shape == music.shape == (audio.shape[0],)
  mono = audio.mean(axis=1)
  err = voice + music - mono
  # 16-bit outputs and the polyphase filters' edges: compare away from the first/last 10 ms
  assert np.sqrt(np.mean(err[441:-441] ** 2)) < 2e-3 * np.sqrt(np.mean(mono ** 2)) + 1e-4
  assert result["channels"] == 2 and result["sample_rate"] == 44100


def test_input_errors_name_the_file(tmp_path):
  empty = tmp_path / "empty.wav"
  empty.write_bytes(b"")
  with pytest.raises(DataError, match="empty.wav.*0 bytes"):
    sep.check_input(str(empty))
  many = tmp_path / "surround.wav"
  sf.write(many, np.zeros((1600, 3), np.float32), 16000)
  with pytest.raises(DataError, match="surround.wav has 3 channels"):
    sep.check_input(str(many))
  junk = tmp_path / "junk.wav"
  junk.write_bytes(b"not audio at all" * 10)
  with pytest.raises(DataError, match="junk.wav cannot be read"):
    sep.check_input(str(junk))
  with pytest.raises(MissingInputError, match="nothere.wav does not exist"):
    sep.check_input(str(tmp_path / "nothere.wav"))


def test_cli_errors_before_anything_is_restored(tmp_path, capsys):
  empty = tmp_path / "empty.wav"
  empty.write_bytes(b"")
  assert cli.main(["separate", f"--workdir={tmp_path}", str(empty)]) == 2
  assert "empty.wav is empty (0 bytes)" in capsys.readouterr().err
  assert cli.main(["separate", f"--workdir={tmp_path}"]) == 2
  assert "give at least one audio file" in capsys.readouterr().err
  assert cli.main(["separate", "--help"]) == 0
  assert "voice.wav" in capsys.readouterr().out


def test_a_workdir_of_another_family_is_refused(tmp_path, capsys):
  from decompjax import config_utils
  config = config_utils.build_config(config_utils.preset_path("vqvae_ucr.py"), [])
  config_utils.save_config(config, str(tmp_path / "config.json"))
  wav = tmp_path / "a.wav"
  sf.write(wav, tone_mix(0.5, 16000, 1), 16000)
  with pytest.raises(ConfigError, match="not 'convae_bss'"):
    import decompjax
    decompjax.separate(str(tmp_path), [str(wav)], str(tmp_path / "out"))
  assert json.loads((tmp_path / "config.json").read_text())["model"]["family"] != "convae_bss"
  assert not os.path.exists(tmp_path / "out")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
  """A convae_bss workdir as `train` leaves it (saved smoke config + a checkpoint), without training: the
  initial state is a real model whose soft masks sum to 1, which is all these tests rely on."""
  import jax
  from decompjax import checkpointing, config_utils, registry, train
  work = tmp_path_factory.mktemp("bss_run")
  config = config_utils.build_config(config_utils.preset_path("convae_bss_synmix.py") + ":smoke",
                                     [("data.cache_dir", str(work / "data"))])
  config_utils.save_config(config, str(work / "config.json"))
  family = registry.get_family("convae_bss")
  # The state's shapes by tracing init (no compile: a compiled init costs ~15 s of CPU here), filled with
  # seeded small weights; optimiser moments and counters zero.
  abstract = train.abstract_state(family, config, family.example_batch(config))
  rng = np.random.default_rng(0)
  state = jax.tree.map(lambda s: (rng.normal(0, 0.1, s.shape) if jnp.issubdtype(s.dtype, jnp.floating)
                                  else np.zeros(s.shape)).astype(s.dtype), abstract)
  ckpt = checkpointing.Checkpointer(train.checkpoint_dir(str(work)))
  try:
    ckpt.save(0, state, family.name)
  finally:
    ckpt.close()
  return work


def test_cli_separates_a_stereo_44k_file_longer_than_a_crop(run_dir, tmp_path, capsys):
  audio = tone_mix(1.7, 44100, 2)  # > 3 crops of the smoke preset's 0.5 s
  path = tmp_path / "duet.wav"
  sf.write(path, audio, 44100, subtype="FLOAT")
  out = tmp_path / "sep"
  assert cli.main(["separate", f"--workdir={run_dir}", str(path), f"--out={out}"]) == 0
  printed = capsys.readouterr().out
  assert str(out / "duet" / "voice.wav") in printed and str(out / "duet" / "music.wav") in printed
  voice, rv = sf.read(out / "duet" / "voice.wav", dtype="float32")
  music, rm = sf.read(out / "duet" / "music.wav", dtype="float32")
  assert rv == rm == 44100 and voice.shape == music.shape == (audio.shape[0],)
  mono = audio.mean(axis=1)
  err = (voice + music - mono)[441:-441]
  assert np.sqrt(np.mean(err ** 2)) < 5e-3 * np.sqrt(np.mean(mono ** 2)) + 1e-4
  assert np.std(voice) > 1e-3 and np.std(music) > 1e-3  # both branches carry signal


def test_python_api_matches_the_command(run_dir, tmp_path):
  import decompjax
  path = tmp_path / "mono.wav"
  sf.write(path, tone_mix(0.9, 22050, 1), 22050, subtype="PCM_16")
  (result,) = decompjax.separate(str(run_dir), str(path), str(tmp_path / "o"), progress=False)
  assert result["sample_rate"] == 22050 and result["channels"] == 1
  assert sf.info(result["music"]).samplerate == 22050 and sf.info(result["music"]).frames == sf.info(path).frames
