"""DecVAE inputs: decomposed utterances (SimVowels or a local corpus), prepared once and cached as array shards.

prepare_data (process 0 writes, the others wait) reads each utterance (SimVowels generated at data.seconds, or a
corpus through decompjax.data.timit / voc_als / iemocap), cuts or zero-pads it to data.seconds, normalises the
real part (zero mean, unit variance), applies the notch (decomp.notch), frames it (25 ms / 20 ms), decomposes
frames and sequence with decompjax.decomposition, labels frames (decompjax.data.frame_labels, with the overlap
mask) and, for input_type 'mel', turns every level into 80x5 mel patches (decompjax.audio.mel_patch). Output:
`<cache_dir>/decvae/<fingerprint>/` with `<split>-NNNNN.npz` shards of fixed-shape arrays, `diagnostics.json`
(per split: decomposition quality of a frame sample, skipped utterances and why, unusable frames) and quality
figures. The folder is written under a temporary name and renamed, so a reader never sees half a cache; the
fingerprint hashes every data and decomposition setting, so a changed knob never reuses an old cache.

Bad input: a silent utterance is skipped and reported (diagnostics, log); NaN/Inf samples are a DataError naming
the file; a real frame with no detected component gets frame_valid 0 (counted); corpus problems are the loaders'.
Example layout (unbatched): briefs/decvae_interfaces.md, `input_spec`.
"""
from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import shutil
import sys
import uuid

import jax
import numpy as np

from decompjax import decomposition as dec
from decompjax.audio import mel_patch
from decompjax.data import frame_labels as fl
from decompjax.data import host_share, paths
from decompjax.errors import ConfigError, DataError, MissingInputError

SHARD_UTTERANCES = 128        # utterances per .npz shard (bounds a reader's memory)
QUALITY_FRAMES = 2000         # real frames per split kept for the quality diagnostics
SILENCE_STD = 1e-6            # an utterance whose samples vary less than this is silent
DATASETS = ("simvowels", "timit", "voc_als", "iemocap")
FRAME_LABEL = {"simvowels": "vowel", "timit": "phoneme", "voc_als": "phoneme", "iemocap": "phoneme"}
UTT_LABELS = {"simvowels": ("speaker",), "timit": ("speaker",), "voc_als": ("speaker", "king_stage", "task"),
              "iemocap": ("speaker", "emotion")}


def splits(config) -> tuple[str, ...]:
  return ("test",) if config.data.name == "voc_als" else ("train", "validation", "test")


def _patch_spec(config) -> mel_patch.PatchSpec:
  return mel_patch.PatchSpec(sample_rate=int(config.data.sample_rate), frame=int(config.data.frame),
                             n_mels=int(config.data.mel.n_mels), mel_hops=int(config.data.mel.mel_hops))


def _check(config) -> None:
  d = config.data
  if d.name not in DATASETS:
    raise ConfigError(f"config field 'data.name' = {d.name!r}: must be one of {DATASETS}")
  if d.input_type not in ("waveform", "mel"):
    raise ConfigError(f"config field 'data.input_type' = {d.input_type!r}: must be 'waveform' or 'mel'")
  if d.name != "simvowels" and not d.dir:
    raise ConfigError(f"config field 'data.dir' is empty: data.name={d.name!r} reads a local copy of the corpus")
  if d.input_type == "mel" and _patch_spec(config).size != int(d.frame):
    raise ConfigError(f"config field 'data.mel.mel_hops' = {d.mel.mel_hops}: the mel patch must have "
                      f"{d.frame} values (n_mels x time steps), got {_patch_spec(config).size}")
  if int(d.frame) != fl.FRAME or int(d.hop) != fl.HOP or int(d.sample_rate) != 16_000:
    raise ConfigError(f"config fields data.frame/hop/sample_rate = {d.frame}/{d.hop}/{d.sample_rate}: DecVAE data "
                      f"uses {fl.FRAME}/{fl.HOP}/16000")


def shapes(config) -> dict[str, int]:
  """C, Cs, F (frames per clip), D (values per frame level), L (clip samples), Ls (sequence values per level)."""
  samples = int(round(float(config.data.seconds) * int(config.data.sample_rate)))
  n_frames = fl.num_frames(samples)
  if n_frames < 1:
    raise ConfigError(f"config field 'data.seconds' = {config.data.seconds}: shorter than one 25 ms frame")
  mel = config.data.input_type == "mel"
  return {"C": int(config.decomp.noc) if config.decomp.frame_level else 0,
          "Cs": int(config.decomp.noc_seq), "F": n_frames, "D": int(config.data.frame), "L": samples,
          "Ls": mel_patch.sequence_length(samples, _patch_spec(config)) if mel else samples}


def _example_shapes(config) -> dict[str, tuple[tuple[int, ...], type]]:
  s = shapes(config)
  out = {"frames": ((s["F"], s["C"] + 1, s["D"]), np.float32), "frame_valid": ((s["F"],), np.float32),
         "component_mask": ((s["F"], s["C"]), np.float32), "overlap": ((s["F"],), np.float32),
         FRAME_LABEL[config.data.name]: ((s["F"],), np.int32)}
  if config.decomp.seq_level:
    out["seq"] = ((s["Cs"] + 1, s["Ls"]), np.float32)
    out["seq_component_mask"] = ((s["Cs"],), np.float32)
  out.update({k: ((), np.int32) for k in UTT_LABELS[config.data.name]})
  return out


def input_spec(config) -> dict[str, jax.ShapeDtypeStruct]:
  """One example batch (leading axis 1) as make_dataset yields it, batched."""
  _check(config)
  return {k: jax.ShapeDtypeStruct((1,) + shape, dt) for k, (shape, dt) in _example_shapes(config).items()}


# --- where the cache lives -------------------------------------------------------------------------------------

def _settings(config) -> dict:
  d = config.data
  s = {"name": d.name, "seconds": float(d.seconds), "sample_rate": int(d.sample_rate), "frame": int(d.frame),
       "hop": int(d.hop), "input_type": d.input_type, "decomp": config.decomp.to_dict(), "version": 1,
       "seed": int(config.seed)}   # seeds VMD's random init and the IEMOCAP split
  if d.input_type == "mel":
    s["mel"] = {"n_mels": int(d.mel.n_mels), "mel_hops": int(d.mel.mel_hops)}
  if d.name == "simvowels":
    s["simvowels"] = d.simvowels.to_dict()
  else:
    s["dir"] = os.path.abspath(os.path.expanduser(d.dir))
    s["metadata"] = str(d.get("metadata", ""))
  return s


def fingerprint(config) -> str:
  blob = json.dumps(_settings(config), sort_keys=True, default=str)
  return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cache_dir(config) -> str:
  return os.path.join(paths.resolve_data_dir(config.data.cache_dir), "decvae", fingerprint(config))


# --- reading utterances ----------------------------------------------------------------------------------------

def _read_audio(path: str, sample_rate: int) -> np.ndarray:
  import soundfile as sf
  if not os.path.isfile(path):
    raise MissingInputError(f"audio file not found: {path}")
  try:
    wav, sr = sf.read(path, dtype="float32", always_2d=True)
  except Exception as e:  # libsndfile raises several types for corrupt files
    raise DataError(f"cannot read audio file {path}: {e}") from None
  wav = wav.mean(axis=1)
  if not np.all(np.isfinite(wav)):
    raise DataError(f"audio file {path} has NaN/Inf samples")
  if sr != sample_rate:
    from math import gcd
    from scipy import signal
    g = gcd(int(sr), sample_rate)
    wav = signal.resample_poly(wav, sample_rate // g, int(sr) // g).astype(np.float32)
  return wav


def _source(config, split: str):
  """(count, iterator of (uid, audio [n] float, Intervals, {label: int}), label names, loader skips)."""
  d = config.data
  if d.name == "simvowels":
    from decompjax.data import simvowels
    sv = d.simvowels
    n = int(sv.get(f"num_{split}"))
    spec = simvowels.SimVowelsSpec(excitation=sv.excitation, seconds=float(d.seconds), snr_db=float(sv.snr_db),
                                   seed=int(sv.seed))
    g = simvowels.generate(split, n, spec)

    def items():
      for i in range(n):
        yield (f"simvowels/{split}/{i}", g["audio"][i], fl.segments(g["vowel"][i], simvowels.SEGMENT_SAMPLES),
               {"speaker": int(g["speaker"][i])})
    names = {"vowel": list(simvowels.VOWELS), "speaker": [f"SP{i + 1}" for i in range(len(simvowels._ALL_V))]}
    return n, items(), names, {}
  if d.name == "timit":
    from decompjax.data import timit
    listing = timit.load_utterances(d.dir, split)
  elif d.name == "iemocap":
    from decompjax.data import iemocap
    listing = iemocap.load_utterances(d.dir, split, seed=int(config.seed))
  else:
    from decompjax.data import voc_als
    listing = voc_als.load_utterances(d.dir, split, metadata=str(d.get("metadata", "")))

  def corpus_items():
    for u in listing.utterances:
      wav = _read_audio(u.path, int(d.sample_rate))
      stop = len(wav) if u.stop is None else min(u.stop, len(wav))
      yield u.path, wav[u.start:stop], u.intervals.shifted(u.start, max(stop - u.start, 0)), u.labels
  return len(listing.utterances), corpus_items(), listing.names, listing.skipped


def _prepare_one(config, audio: np.ndarray, intervals: fl.Intervals, seed: int) -> tuple[dict, dict] | str:
  """One utterance -> (example arrays, quality parts) or the reason it is skipped."""
  s = shapes(config)
  cfg = config.decomp
  n_real = min(len(audio), s["L"])
  x = np.asarray(audio[:n_real], np.float64)
  if n_real < fl.FRAME:
    return "shorter_than_a_frame"
  if x.std() < SILENCE_STD:
    return "silent"
  x = (x - x.mean()) / x.std()
  x = np.pad(x, (0, s["L"] - n_real)).astype(np.float32)
  if cfg.notch:
    x = dec.notch(x, int(config.data.sample_rate))
  frames = dec.frame_signal(x)
  real = np.arange(s["F"]) < fl.num_frames(n_real)
  valid = real.copy()
  levels = [frames[:, None]]
  quality = None
  if cfg.frame_level:
    fd = dec.decompose_frames(frames, cfg, sample_rate=int(config.data.sample_rate), seed=seed)
    valid &= fd.frame_ok
    levels.append(fd.components)
    quality = {"frames": frames[real], "components": fd.components[real], "component_mask": fd.component_mask[real],
               "frame_ok": fd.frame_ok[real], "centre_freqs": fd.centre_freqs[real], "remainder": fd.remainder[real]}
    cmask = (fd.component_mask & real[:, None]).astype(np.float32)
  else:
    cmask = np.zeros((s["F"], 0), np.float32)
  levels = np.concatenate(levels, axis=1)                                   # [F, C+1, 400]
  labels, overlap = fl.frame_labels(intervals, n_real, s["F"])
  mel = config.data.input_type == "mel"
  ex = {"frames": mel_patch.mel_patch(levels, _patch_spec(config)) if mel else levels.astype(np.float32),
        "frame_valid": valid.astype(np.float32), "component_mask": cmask, "overlap": overlap,
        FRAME_LABEL[config.data.name]: labels}
  if cfg.seq_level:
    sd = dec.decompose_sequence(x, cfg, sample_rate=int(config.data.sample_rate), seed=seed)
    seq = np.concatenate([x[None], sd.components], axis=0)
    ex["seq"] = mel_patch.mel_sequence(seq, _patch_spec(config)) if mel else seq.astype(np.float32)
    ex["seq_component_mask"] = sd.component_mask.astype(np.float32)
  return ex, quality


def _quality_summary(parts: list[dict], method: str, fig_dir: str | None) -> dict:
  if not parts:
    return {}
  cat = {k: np.concatenate([p[k] for p in parts])[:QUALITY_FRAMES] for k in parts[0]}
  d = dec.FrameDecomposition(cat["components"], cat["component_mask"], cat["frame_ok"], cat["centre_freqs"],
                             cat["remainder"])
  if fig_dir is not None:
    dec.write_quality(fig_dir, cat["frames"], d, method)
  return dec.frame_quality(cat["frames"], d)


def _write_split(config, split: str, out: str) -> dict:
  """Writes the shards of one split into `out`; returns its diagnostics."""
  from tqdm.auto import tqdm
  n, items, names, loader_skips = _source(config, split)
  skipped = {k: list(v) for k, v in loader_skips.items()}
  keys = list(_example_shapes(config))
  buf, shard, kept, no_comp, real_frames, qparts = {k: [] for k in keys}, 0, 0, 0, 0, []

  def flush():
    nonlocal shard, buf
    if buf[keys[0]]:
      np.savez(os.path.join(out, f"{split}-{shard:05d}.npz"), **{k: np.stack(v) for k, v in buf.items()})
      shard, buf = shard + 1, {k: [] for k in keys}

  split_id = ("train", "validation", "test").index(split)
  bar = tqdm(items, total=n, desc=f"decvae {split}", unit="utt", disable=None, file=sys.stderr)
  for i, (uid, audio, intervals, labels) in enumerate(bar):
    if bar.disable and (i + 1) % max(1, n // 10) == 0:  # off a terminal: a plain line every 10 %
      print(f"decvae data {split}: {i + 1}/{n} utterances", file=sys.stderr, flush=True)
    if not np.all(np.isfinite(audio)):
      raise DataError(f"utterance {uid} has NaN/Inf samples")
    seed = int(np.random.SeedSequence([int(config.seed), split_id, i]).generate_state(1)[0])
    res = _prepare_one(config, audio, intervals, seed)
    if isinstance(res, str):
      skipped.setdefault(res, []).append(uid)
      logging.warning("decvae data: skipped %s (%s)", uid, res.replace("_", " "))
      continue
    ex, quality = res
    real = int(fl.num_frames(min(len(audio), shapes(config)["L"])))
    real_frames += real
    no_comp += real - int(ex["frame_valid"].sum())
    if quality is not None and sum(len(p["frames"]) for p in qparts) < QUALITY_FRAMES:
      qparts.append(quality)
    for k in keys:
      if k in ex:
        buf[k].append(ex[k])
      else:
        buf[k].append(np.int32(labels.get(k, fl.UNKNOWN)))
    kept += 1
    if len(buf[keys[0]]) == SHARD_UTTERANCES:
      flush()
  flush()
  if kept == 0:
    raise DataError(f"decvae data: split {split!r} of {config.data.name} has no usable utterance "
                    f"(skipped: { {k: len(v) for k, v in skipped.items()} })")
  figs = bool(config.data.get("quality_figures", True)) and split == splits(config)[0]  # figures cost seconds
  fig_dir = os.path.join(out, "figures", split) if figs else None
  return {"utterances": kept, "shards": shard, "frames_real": real_frames, "frames_no_component": no_comp,
          "skipped": {k: {"count": len(v), "items": v[:50]} for k, v in skipped.items()},
          "quality": _quality_summary(qparts, config.decomp.method, fig_dir), "label_names": names}


def _build(config, final: str) -> None:
  parent = os.path.dirname(final)
  os.makedirs(parent, exist_ok=True)
  tmp = os.path.join(parent, f".tmp-{os.path.basename(final)}-{uuid.uuid4().hex[:8]}")
  os.makedirs(tmp)
  try:
    diag = {"method": config.decomp.method, "fingerprint": fingerprint(config), "settings": _settings(config),
            "splits": {split: _write_split(config, split, tmp) for split in splits(config)}}
    with open(os.path.join(tmp, "diagnostics.json"), "w", encoding="utf-8") as f:
      json.dump(diag, f, indent=1, default=str)
    try:
      os.rename(tmp, final)  # atomic: readers see no cache or a whole one
    except OSError:
      if not os.path.isdir(final):
        raise
  finally:
    shutil.rmtree(tmp, ignore_errors=True)


def _is_built(folder: str) -> bool:
  return os.path.isfile(os.path.join(folder, "diagnostics.json"))


def prepare_data(config) -> str:
  """Builds the cache for `config` if it is not there (idempotent); returns its folder. On several processes
  process 0 builds it into config.data.cache_dir while the others wait, then each checks that it sees it."""
  _check(config)
  final = cache_dir(config)

  def build():
    if not _is_built(final):
      if os.path.isdir(final):  # caches appear whole (rename), so this one was damaged afterwards
        raise DataError(f"the DecVAE data cache {final} has no diagnostics.json (damaged): delete the folder and "
                        "prepare again")
      _build(config, final)

  paths.prepare_shared("the DecVAE data cache", final, "data.cache_dir", config.data.cache_dir, build=build,
                       ready=lambda: _is_built(final), barrier=f"decvae_data_{fingerprint(config)}")
  return final


def _shards(config, split: str, generate: bool) -> list[str]:
  if split not in splits(config):
    raise DataError(f"data.name={config.data.name!r} has no split {split!r}; splits: {', '.join(splits(config))}")
  folder = cache_dir(config)
  if not _is_built(folder):
    if not generate:
      raise paths.not_visible("the DecVAE data cache", folder, "data.cache_dir")
    prepare_data(config)
  files = sorted(glob.glob(os.path.join(folder, f"{split}-*.npz")))
  if not files:
    raise DataError(f"the DecVAE data cache {folder} has no shards of split {split!r}; delete the folder and "
                    f"prepare again")
  return files


def _num_utterances(config, split: str) -> int:
  with open(os.path.join(cache_dir(config), "diagnostics.json"), encoding="utf-8") as f:
    return int(json.load(f)["splits"][split]["utterances"])


def load_split_arrays(config, split: str, limit: int | None = None) -> dict[str, np.ndarray]:
  """All (or the first `limit`) examples of a split as numpy arrays [N, ...] (prepares the cache if missing)."""
  out: dict[str, list] = {}
  n = 0
  for path in _shards(config, split, generate=paths.only_process()):
    with np.load(path) as z:
      take = len(z["frames"]) if limit is None else min(len(z["frames"]), limit - n)
      for k in z.files:
        out.setdefault(k, []).append(z[k][:take])
    n += take
    if limit is not None and n >= limit:
      break
  return {k: np.concatenate(v) for k, v in out.items()}


def make_dataset(config, split: str, *, process_index: int = 0, process_count: int = 1):
  """Unbatched tf.data source of fixed-shape examples (see input_spec), read shard by shard; process p gets a
  contiguous block of the utterances, the same number on every process (host_share), and opens only the shards
  it touches. With several processes prepare_data must have run (process 0 builds the cache)."""
  from decompjax.input_pipeline import tf_on_cpu_only
  tf = tf_on_cpu_only()
  files = _shards(config, split, generate=paths.may_generate(process_count))
  spec = _example_shapes(config)
  total = _num_utterances(config, split)
  if total < process_count:
    raise DataError(f"the DecVAE {split} split has {total} utterances, fewer than the {process_count} processes "
                    "reading it")
  lo, hi = host_share.block(total, process_index, process_count)

  def gen():
    for shard, path in enumerate(files):
      start = shard * SHARD_UTTERANCES  # every shard but the last holds exactly SHARD_UTTERANCES
      if start >= hi:
        return
      if start + SHARD_UTTERANCES <= lo:
        continue  # another process's shard: not even opened
      with np.load(path) as z:
        a, b = max(lo - start, 0), min(hi - start, len(z["frames"]))
        arrays = {k: z[k][a:b] for k in spec}
      for j in range(max(b - a, 0)):
        yield {k: v[j] for k, v in arrays.items()}
  sig = {k: tf.TensorSpec(shape, tf.as_dtype(dt)) for k, (shape, dt) in spec.items()}
  return tf.data.Dataset.from_generator(gen, output_signature=sig)


def frames_example(config, tokens: np.ndarray) -> dict[str, np.ndarray]:
  """Model inputs for single 400-sample tokens (the traversal set): each token is normalised, notched and
  decomposed as one frame, and the tokens are packed F per pseudo-utterance -> arrays [U, ...] in input_spec's
  layout (trailing pad frames have frame_valid 0; seq levels are zeros, labels unknown)."""
  tokens = np.asarray(tokens, np.float64)
  if tokens.ndim != 2 or tokens.shape[1] != fl.FRAME:
    raise DataError(f"frames_example: expected tokens [n, {fl.FRAME}], got {tokens.shape}")
  s, cfg = shapes(config), config.decomp
  x = (tokens - tokens.mean(axis=1, keepdims=True)) / np.maximum(tokens.std(axis=1, keepdims=True), SILENCE_STD)
  x = x.astype(np.float32)
  if cfg.notch:
    x = dec.notch(x, int(config.data.sample_rate))
  levels, valid, cmask = [x[:, None]], np.ones(len(x), bool), np.zeros((len(x), s["C"]), np.float32)
  if cfg.frame_level:
    fd = dec.decompose_frames(x, cfg, sample_rate=int(config.data.sample_rate), seed=int(config.seed))
    levels.append(fd.components)
    valid, cmask = fd.frame_ok, fd.component_mask.astype(np.float32)
  lv = np.concatenate(levels, axis=1)
  if config.data.input_type == "mel":
    lv = mel_patch.mel_patch(lv, _patch_spec(config))
  n_utt = -(-len(x) // s["F"])
  pad = n_utt * s["F"] - len(x)
  pack = lambda a: np.concatenate([a, np.zeros((pad,) + a.shape[1:], a.dtype)]).reshape(  # noqa: E731
      (n_utt, s["F"]) + a.shape[1:])
  out = {}
  for k, (shape, dt) in _example_shapes(config).items():
    out[k] = np.full((n_utt,) + shape, fl.UNKNOWN if dt == np.int32 else 0, dt)
  out["frames"] = pack(lv.astype(np.float32))
  out["frame_valid"] = pack(valid.astype(np.float32))
  out["component_mask"] = pack(cmask)
  return out
