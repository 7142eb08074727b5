"""ConVAE-BSS inputs: fixed-length (mixture, voice, music) crops from SynMix (default) or a local corpus.

`config.data.name == 'synmix'`: the SynMix TFDS set named by `config.data.synmix` (generated once by
`prepare_data` under `config.data.cache_dir`, default `decompjax.data.paths.default_data_dir()`); each clip
(2-4 s) gives one crop of `config.data.seconds`: train crops start at an offset drawn per clip from
(synmix.seed, clip index) (fixed across epochs), validation/test crops are centred; a clip shorter than the crop
is zero-padded at the end (stems stay exact). Corpora ('musdb18', 'mir1k', 'dsd100', 'ccmixter') are read from
`config.data.dir` (decompjax/data/separation_corpora.py) and cut into non-overlapping crops; crops where the
voice or the music is near silent (RMS < 1e-4) are dropped, since a source-less crop has no separation target.
Every example: {'mixture', 'voice', 'music': float32 [T]}, T = seconds * audio.sample_rate, and mixture ==
voice + music exactly.
"""
from __future__ import annotations

import functools

import jax
import numpy as np

from decompjax.data import host_share, paths, separation_corpora, synmix, tfds_local
from decompjax.errors import ConfigError, DataError

SOURCES = ("voice", "music")  # model output order: source 0 = voice, 1 = music
_KEYS = ("mixture", "voice", "music")
_MIN_CROP_RMS = 1e-4


def num_samples(config) -> int:
  """T of one example: config.data.seconds at config.audio.sample_rate."""
  seconds, sr = float(config.data.seconds), int(config.audio.sample_rate)
  n = int(round(seconds * sr))
  if not n > 0:
    raise ConfigError(f"config field 'data.seconds' = {config.data.seconds}: must give at least one sample")
  return n


def input_spec(config) -> dict[str, jax.ShapeDtypeStruct]:
  """One example batch (batch axis 1) as make_dataset yields it, from the config alone."""
  n = num_samples(config)
  return {k: jax.ShapeDtypeStruct((1, n), np.float32) for k in _KEYS}


def _name(config) -> str:
  name = config.data.name
  if name != "synmix" and name not in separation_corpora.CORPORA:
    raise ConfigError(f"config field 'data.name' = {name!r}: expected 'synmix' or one of "
                      f"{separation_corpora.CORPORA}")
  if name != "synmix" and not config.data.dir:
    raise ConfigError(f"config field 'data.dir' is empty: data.name={name!r} reads a local copy of the corpus; "
                      "set --config.data.dir=/path/to/it")
  return name


def synmix_config(config):
  """The SynMix TFDS builder config named by config.data.synmix (ConfigError naming a bad field)."""
  from decompjax.data import synmix_tfds
  s = config.data.synmix
  try:
    spec = synmix.SynMixSpec(sample_rate=int(config.audio.sample_rate), min_seconds=float(s.min_seconds),
                             max_seconds=float(s.max_seconds), snr_db_low=float(s.snr_db_low),
                             snr_db_high=float(s.snr_db_high), seed=int(s.seed))
    return synmix_tfds.make_config(spec, int(s.num_train), int(s.num_validation), int(s.num_test))
  except ValueError as e:
    raise ConfigError(f"config group 'data.synmix': {e}") from None


def _cache_dir(config) -> str:
  return paths.resolve_data_dir(config.data.cache_dir)


def prepare_data(config) -> None:
  """SynMix: generates the set unless already there (process 0 writes, the others wait). A corpus: checks that
  its folder has the expected layout and tracks in every split (reads no audio)."""
  if _name(config) != "synmix":
    for split in ("train", "validation", "test"):
      if not separation_corpora.track_files(config.data.name, config.data.dir, split):
        raise DataError(f"{config.data.name}: no tracks for split {split!r} in {config.data.dir}")
    return
  from decompjax.data import synmix_tfds
  cfg, data_dir = synmix_config(config), _cache_dir(config)
  paths.prepare_shared(f"SynMix {cfg.name}", data_dir, "data.cache_dir", config.data.cache_dir,
                       build=lambda: tfds_local.verified_shards(synmix_tfds.build(cfg, data_dir)),
                       ready=lambda: synmix_tfds.is_prepared(cfg, data_dir), barrier=f"synmix_data_{cfg.name}")


def _check_visible(config, generate: bool, process_index: int = 0, process_count: int = 1) -> None:
  """A reader that may not generate SynMix must find it prepared: else the error naming where it looked."""
  from decompjax.data import synmix_tfds
  cfg, data_dir = synmix_config(config), _cache_dir(config)
  if not generate and not synmix_tfds.is_prepared(cfg, data_dir):
    raise paths.not_visible(f"SynMix {cfg.name}", data_dir, "data.cache_dir", process_index, process_count)


@functools.lru_cache(maxsize=4)
def _corpus_crops(corpus: str, root: str, split: str, sample_rate: int, n: int) -> dict[str, np.ndarray]:
  """Non-overlapping n-sample crops of every track of a corpus split (memoised per process)."""
  voices, musics = [], []
  for track in separation_corpora.load_tracks(corpus, root, split, sample_rate=sample_rate):
    count = max(1, track.voice.size // n)
    v, m = (np.pad(a, (0, max(0, n - a.size)))[:count * n].reshape(count, n) for a in (track.voice, track.music))
    rms = lambda x: np.sqrt(np.mean(np.square(x, dtype=np.float64), axis=1))  # noqa: E731
    keep = (rms(v) >= _MIN_CROP_RMS) & (rms(m) >= _MIN_CROP_RMS)
    voices.append(v[keep])
    musics.append(m[keep])
  voice, music = np.concatenate(voices), np.concatenate(musics)
  if not len(voice):
    raise DataError(f"{corpus} split {split!r} in {root} gives no {n}-sample crop where both voice and music "
                    "sound; use shorter data.seconds or check the files")
  return {"mixture": voice + music, "voice": voice, "music": music}


def make_dataset(config, split: str, *, process_index: int = 0, process_count: int = 1):
  """Unbatched tf.data source of {'mixture', 'voice', 'music': float32 [T]}, this host's share: a contiguous block,
  the same size on every process (deterministic order; the trainer shuffles). With several processes SynMix must
  be prepared already (prepare_data, process 0)."""
  from decompjax.input_pipeline import tf_on_cpu_only
  tf = tf_on_cpu_only()
  n, name = num_samples(config), _name(config)
  if name != "synmix":
    crops = _corpus_crops(name, str(config.data.dir), split, int(config.audio.sample_rate), n)
    if len(crops["voice"]) < process_count:
      raise DataError(f"{name} split {split!r} has {len(crops['voice'])} crops, fewer than the {process_count} "
                      "processes reading it")
    lo, hi = host_share.block(len(crops["voice"]), process_index, process_count)
    return tf.data.Dataset.from_tensor_slices({k: v[lo:hi] for k, v in crops.items()})
  from decompjax.data import synmix_tfds
  seed = int(config.data.synmix.seed)

  def crop(ex):
    length = tf.shape(ex["mixture"], out_type=tf.int64)[0]
    span = tf.maximum(length - n, 0)
    if split == "train":
      key = tf.stack([tf.constant(seed, tf.int64), ex["index"]])
      offset = tf.random.stateless_uniform([], seed=key, minval=0, maxval=span + 1, dtype=tf.int64)
    else:
      offset = span // 2
    pad = [[0, tf.maximum(n - length, 0)]]
    return {k: tf.ensure_shape(tf.pad(ex[k][offset:offset + n], pad), [n]) for k in _KEYS}

  generate = paths.may_generate(process_count)
  _check_visible(config, generate, process_index, process_count)
  return synmix_tfds.load(synmix_config(config), _cache_dir(config), split, process_index=process_index,
                          process_count=process_count, generate=generate, map_fn=crop, drop_remainder=True)


def test_tracks(config, limit: int | None = None) -> list[separation_corpora.Track]:
  """Full-length test tracks for evaluation (SynMix: the test clips in index order; a corpus: its test split)."""
  name = _name(config)
  sr = int(config.audio.sample_rate)
  if name != "synmix":
    return separation_corpora.load_tracks(name, config.data.dir, "test", sample_rate=sr, limit=limit)
  from decompjax.data import synmix_tfds
  generate = paths.only_process()
  _check_visible(config, generate)
  ds = synmix_tfds.load(synmix_config(config), _cache_dir(config), "test", generate=generate)
  examples = sorted(ds.as_numpy_iterator(), key=lambda ex: int(ex["index"]))[:limit]
  return [separation_corpora.Track(f"synmix_test_{int(ex['index']):04d}", ex["mixture"], ex["voice"],
                                   ex["music"], sr) for ex in examples]
