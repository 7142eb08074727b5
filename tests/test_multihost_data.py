"""Data on several hosts (issue 13 §2), in process: every family's per-process shares are disjoint, together the
split (less at most P - 1 examples) and equal in size; a process that cannot see the data process 0 prepared fails
naming the path, its index and what to set; Autodecompose featurises only its own share.

The multi-process runs themselves are in tests/multihost/; here process_index / process_count are passed to
make_dataset (what train.py does on each host), and for prepare_data jax.process_index / process_count and the
barrier are patched to play process 1 of 2.
"""
from __future__ import annotations

import collections
import hashlib

import jax
import numpy as np
import pytest
import soundfile as sf

from configs import autodecompose, convae_bss_synmix, decvae_simvowels, syntone_beta_vae, vqvae_ucr
from decompjax import registry
from decompjax.audio import speech_features
from decompjax.data import host_share, paths, speech_corpus
from decompjax.errors import DataError, MissingInputError
from decompjax.families.autodecompose import data as ad_data


# ------------------------------------------------------------------ host_share


def test_blocks_are_disjoint_equal_and_drop_at_most_p_minus_1():
  for n in range(0, 23):
    for p_count in (1, 2, 3, 4):
      blocks = [host_share.indices(n, p, p_count) for p in range(p_count)]
      assert len({len(b) for b in blocks}) == 1
      flat = np.concatenate(blocks)
      assert len(set(flat.tolist())) == len(flat) and n - len(flat) <= p_count - 1
      assert flat.tolist() == list(range(len(flat)))  # contiguous, in order
  with pytest.raises(ValueError, match="process_index"):
    host_share.block(10, 2, 2)


def test_item_ranges_cut_the_same_block_from_items():
  counts = [3, 0, 2, 5, 1]
  flat = [(i, j) for i, c in enumerate(counts) for j in range(c)]  # 11 examples
  for p_count in (1, 2, 3):
    for p in range(p_count):
      got = [(i, j) for i, a, b in host_share.item_ranges(counts, p, p_count) for j in range(a, b)]
      lo, hi = host_share.block(len(flat), p, p_count)
      assert got == flat[lo:hi]


# ------------------------------------------------------------------ (a) every family's shares


def _key(example: dict) -> str:
  """An example's identity: a hash of all its arrays (examples are distinct signals, so this names them)."""
  h = hashlib.sha1()
  for k in sorted(example):
    h.update(k.encode())
    h.update(np.ascontiguousarray(example[k]).tobytes())
  return h.hexdigest()


def _keys(ds) -> list[str]:
  return [_key(e) for e in ds.as_numpy_iterator()]


def _syntone(tmp):
  c = syntone_beta_vae.get_config("smoke")
  c.data.dir = str(tmp)
  return c


def _autodecompose(tmp):
  c = autodecompose.get_config("smoke")
  c.data.cache_dir = str(tmp)
  return c


def _vqvae(tmp):
  del tmp  # the UCR set shipped with the package
  return vqvae_ucr.get_config("smoke")


def _decvae(tmp):
  c = decvae_simvowels.get_config("smoke")
  c.decomp.method = "ewt"  # the fast decomposition: this is about the data path
  c.data.cache_dir = str(tmp)
  c.data.input_type = "waveform"
  c.data.simvowels.update(dict(num_train=7, num_validation=2, num_test=2))
  c.data.quality_figures = False
  return c


def _convae(tmp):
  c = convae_bss_synmix.get_config("smoke")
  c.data.cache_dir = str(tmp)
  c.data.synmix.update(dict(num_train=11))  # not a multiple of 2 or 3: the remainder is dropped
  return c


FAMILIES = {"syntone": _syntone, "autodecompose": _autodecompose, "vqvae": _vqvae, "decvae": _decvae,
            "convae_bss": _convae}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_shares_are_disjoint_balanced_and_cover_the_split(name, tmp_path):
  config = FAMILIES[name](tmp_path / "data")
  family = registry.get_family(config.model.family)
  if family.resolve_config is not None:
    family.resolve_config(config)
  if family.prepare_data is not None:
    family.prepare_data(config)
  whole = collections.Counter(_keys(family.make_dataset(config, "train")))
  n = sum(whole.values())
  assert len(whole) == n, "examples must be distinct for this test to name them"
  for p_count in (2, 3):
    shares = [collections.Counter(_keys(family.make_dataset(config, "train", process_index=p,
                                                            process_count=p_count)))
              for p in range(p_count)]
    sizes = [sum(s.values()) for s in shares]
    assert sizes == [n // p_count] * p_count, (p_count, sizes, n)
    union = sum(shares, collections.Counter())
    assert sum(union.values()) == sum(sizes)        # pairwise disjoint (no example twice)
    assert not union - whole                        # each one an example of the 1-process split
    assert n - sum(sizes) <= p_count - 1


# ------------------------------------------------------------------ (b) a host that cannot see the data


class _Cluster:
  """Plays one process of a 2-process run in this process: jax's index/count and the barrier are patched."""

  def __init__(self, monkeypatch, index: int, writer_ok: bool = True):
    self.barriers = []
    monkeypatch.setattr(jax, "process_index", lambda *a, **k: index)
    monkeypatch.setattr(jax, "process_count", lambda *a, **k: 2)

    def barrier(ok, name):
      self.barriers.append((name, ok))
      return writer_ok
    monkeypatch.setattr(paths, "_writer_succeeded", barrier)


PREPARED = {"syntone": ("data.dir", _syntone), "autodecompose": ("data.cache_dir", _autodecompose),
            "decvae": ("data.cache_dir", _decvae), "convae_bss": ("data.cache_dir", _convae)}


@pytest.mark.parametrize("name", sorted(PREPARED))
def test_process_that_cannot_see_the_data_says_where_and_what_to_set(name, tmp_path, monkeypatch):
  field, make = PREPARED[name]
  local = tmp_path / "host1_disk"  # process 0 wrote "its" copy elsewhere: this host's folder stays empty
  config = make(local)
  family = registry.get_family(config.model.family)
  cluster = _Cluster(monkeypatch, index=1)
  with pytest.raises(DataError) as err:
    family.prepare_data(config)
  msg = str(err.value)
  assert "process 1 of 2 cannot see" in msg and str(local) in msg
  assert f"config.{field}" in msg and "gs://bucket/data" in msg
  assert len(cluster.barriers) == 1                           # it waited for process 0 first
  assert not local.exists() or not any(local.rglob("*.*"))    # and wrote nothing itself
  # make_dataset on that host (a share of 2) fails the same way, and is still a FileNotFoundError
  with pytest.raises(MissingInputError, match="process 1 of 2 cannot see"):
    family.make_dataset(config, "train", process_index=1, process_count=2)


def test_writer_prepares_before_the_barrier_and_readers_see_it(tmp_path, monkeypatch):
  config = _syntone(tmp_path / "shared")
  family = registry.get_family(config.model.family)
  with monkeypatch.context() as m:
    writer = _Cluster(m, index=0)
    family.prepare_data(config)                               # process 0: builds, then the barrier
    assert writer.barriers and any((tmp_path / "shared").rglob("dataset_info.json"))
  built = {p: p.stat().st_mtime_ns for p in (tmp_path / "shared").rglob("*") if p.is_file()}
  assert any(p.name == ".decompjax-verified.json" for p in built)  # process 0 checked the shards, too
  reader = _Cluster(monkeypatch, index=1)
  family.prepare_data(config)                                 # process 1: sees it, writes nothing
  assert len(list(family.make_dataset(config, "train", process_index=1, process_count=2))) > 0
  assert reader.barriers and built == {p: p.stat().st_mtime_ns    # not even the checksum stamp
                                       for p in (tmp_path / "shared").rglob("*") if p.is_file()}


def test_a_failed_preparation_on_process_0_stops_the_others(tmp_path, monkeypatch):
  config = _syntone(tmp_path / "shared")
  _Cluster(monkeypatch, index=1, writer_ok=False)
  with pytest.raises(DataError, match="process 0 failed to prepare"):
    registry.get_family(config.model.family).prepare_data(config)


def test_writer_failure_is_announced_before_it_raises(tmp_path, monkeypatch):
  from decompjax.data import syntone_tfds
  config = _syntone(tmp_path / "shared")
  cluster = _Cluster(monkeypatch, index=0)
  monkeypatch.setattr(syntone_tfds, "build", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
  with pytest.raises(OSError, match="disk full"):
    registry.get_family(config.model.family).prepare_data(config)
  assert [ok for _, ok in cluster.barriers] == [False]


# ------------------------------------------------------------------ (c) Autodecompose featurises its share only


@pytest.fixture
def count_featurised(monkeypatch):
  calls = []
  real = speech_features.wav_to_crops

  def counting(wav, feats, rng=None):
    calls.append(len(wav))
    return real(wav, feats, rng)
  monkeypatch.setattr(speech_features, "wav_to_crops", counting)
  for cached in (ad_data._simvowels_crops, ad_data._simvowels_share, speech_corpus.load_crops_cached,
                 speech_corpus.load_crops_share_cached):
    cached.cache_clear()
  yield calls
  for cached in (ad_data._simvowels_crops, ad_data._simvowels_share, speech_corpus.load_crops_cached,
                 speech_corpus.load_crops_share_cached):
    cached.cache_clear()


def test_simvowels_share_featurises_only_its_utterances(tmp_path, count_featurised):
  config = _autodecompose(tmp_path)
  ad_data.prepare_data(config)
  whole = ad_data.load_crops(config, "train")
  n_utt = len(count_featurised)                                  # every utterance once for the whole split
  assert n_utt == config.data.simvowels.num_train
  for p in range(2):
    count_featurised.clear()
    share = list(ad_data.make_dataset(config, "train", process_index=p, process_count=2).as_numpy_iterator())
    assert len(count_featurised) == n_utt // 2                   # its half of the utterances, no more
    lo, hi = host_share.block(len(whole.mel), p, 2)
    np.testing.assert_array_equal(np.stack([e["mel"] for e in share]), whole.mel[lo:hi])
    np.testing.assert_array_equal([e["speaker"] for e in share], whole.speaker[lo:hi])


def _tone(seconds, sr, f0, seed):
  rng = np.random.default_rng(seed)
  t = np.arange(int(seconds * sr)) / sr
  return (0.3 * np.sin(2 * np.pi * f0 * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture
def corpus(tmp_path):
  """3 speakers x 2 files, one at 22.05 kHz (its crop count needs the resampled length), plus bad files."""
  root = tmp_path / "corpus"
  for s, spk in enumerate(("101", "202", "303")):
    (root / spk).mkdir(parents=True)
    for u in range(2):
      sr = 22050 if (s, u) == (1, 0) else 16000
      sf.write(root / spk / f"{spk}-{u}.wav", _tone(2.2 + 1.1 * u + 0.3 * s, sr, 120 + 40 * s, 10 * s + u), sr)
  (root / "202" / "broken.flac").write_bytes(b"not audio" * 50)
  sf.write(root / "303" / "short.wav", _tone(0.5, 16000, 200, 99), 16000)
  return root


def test_corpus_share_reads_only_its_files_and_matches_the_whole(corpus, count_featurised):
  feats = ad_data.feature_spec(autodecompose.get_config("smoke"))
  whole = speech_corpus.load_crops(str(corpus), feats, seed=3)
  assert len(count_featurised) == 6
  per_file = np.bincount(whole.file)
  for p_count in (2, 3):
    for p in range(p_count):
      count_featurised.clear()
      share = speech_corpus.load_crops_share(str(corpus), feats, seed=3, process_index=p, process_count=p_count)
      lo, hi = host_share.block(len(whole.mel), p, p_count)
      np.testing.assert_array_equal(share.mel, whole.mel[lo:hi])
      np.testing.assert_array_equal(share.speaker, whole.speaker[lo:hi])
      np.testing.assert_array_equal(share.file, whole.file[lo:hi])
      assert share.speakers == whole.speakers and share.files == whole.files
      touched = len(set(whole.file[lo:hi].tolist()))
      assert len(count_featurised) == touched < len(per_file)   # the files of its block only
  assert sorted(share.report.skipped["unreadable"]) == sorted(whole.report.skipped["unreadable"])
  assert sorted(share.report.skipped["too_short"]) == sorted(whole.report.skipped["too_short"])


def test_corpus_crop_counts_from_headers_match_the_audio():
  feats = speech_features.from_preset("notebook")
  for n in (feats.min_samples, feats.min_samples + 255, feats.min_samples + 256, 40_000, 52_800, 70_001):
    wav = _tone(n / 16000, 16000, 150, 0)[:n]
    assert speech_corpus.crop_count(len(wav), feats) == len(speech_features.wav_to_crops(wav, feats))


def test_corpus_file_whose_audio_betrays_its_header_is_named(corpus, monkeypatch):
  from decompjax.audio import wav as wav_lib
  feats = speech_features.from_preset("notebook")
  real = wav_lib.read_audio
  target = str(corpus / "101" / "101-0.wav")

  def read(path, *a, **k):
    if path == target:
      raise wav_lib.UnusableAudio("unreadable")
    return real(path, *a, **k)
  monkeypatch.setattr(wav_lib, "read_audio", read)
  with pytest.raises(DataError, match="101-0.wav: its header promises"):
    speech_corpus.load_crops_share(str(corpus), feats, process_index=0, process_count=2)


def test_gs_data_dir_is_kept_as_a_url_and_checked_on_the_object_store(tmp_path, monkeypatch):
  """config.data.dir=gs://... on process 1 of 2, against tests/fake_gcs.py (epath -> fsspec): the visibility check
  asks the object store (no gs:/ folder appears locally) and the error names the URL. TFDS's own writing and
  reading of TFRecords on gs:// goes through tf.io.gfile's GCS client, which no fake here reaches: not exercised."""
  import os
  import fake_gcs
  monkeypatch.chdir(tmp_path)
  with fake_gcs.serve(monkeypatch) as store:
    config = _syntone("gs://bucket/data")
    _Cluster(monkeypatch, index=1)
    with pytest.raises(DataError, match="process 1 of 2 cannot see SynTone grid .* at gs://bucket/data "):
      registry.get_family(config.model.family).prepare_data(config)
    assert paths.resolve_data_dir("gs://bucket/data") == "gs://bucket/data"
    assert not list(store.keys("bucket/"))
  assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ the same with 2 real processes

_CHILD = r'''
import sys
import jax
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.config.update("jax_num_cpu_devices", 2)
pid, port, root = int(sys.argv[1]), sys.argv[2], sys.argv[3]
jax.distributed.initialize(f"localhost:{port}", num_processes=2, process_id=pid)
from configs import syntone_beta_vae
from decompjax import registry
from decompjax.data import syntone_tfds
from decompjax.errors import DataError

def run(name, data_dir, fail=False):
  c = syntone_beta_vae.get_config("smoke")
  c.data.dir = data_dir
  family = registry.get_family(c.model.family)
  real = syntone_tfds.build
  if fail:
    syntone_tfds.build = lambda *a, **k: (_ for _ in ()).throw(OSError("disk full"))
  try:
    family.prepare_data(c)
    n = len(list(family.make_dataset(c, "train", process_index=pid, process_count=2)))
    print(f"{name} p{pid} ok {n}", flush=True)
  except (DataError, OSError) as e:
    print(f"{name} p{pid} error {type(e).__name__}: {e}", flush=True)
  finally:
    syntone_tfds.build = real

run("shared", f"{root}/shared")
run("local", f"{root}/host{pid}")    # each host its own disk: process 1 cannot see what process 0 made
run("failed", f"{root}/failed", fail=pid == 0)
'''


@pytest.mark.multihost
def test_two_real_processes_share_data_or_say_why_not(tmp_path):
  """2 processes x 2 CPU devices (jax.distributed on localhost, gloo): a shared data dir is prepared once and
  read by both; per-host dirs make process 1 fail with the message; a failed preparation on process 0 stops
  process 1 at once instead of leaving it at the barrier."""
  import os
  import socket
  import subprocess
  import sys
  with socket.socket() as s:
    s.bind(("localhost", 0))
    port = s.getsockname()[1]
  env = dict(os.environ, XLA_FLAGS="", PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  procs = [subprocess.Popen([sys.executable, "-c", _CHILD, str(i), str(port), str(tmp_path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(2)]
  try:
    outs = [p.communicate(timeout=240)[0] for p in procs]
  finally:
    for p in procs:
      p.kill()
  lines = [ln for out in outs for ln in out.splitlines() if ln.split(" ", 1)[0] in ("shared", "local", "failed")]
  got = {tuple(ln.split(" ", 2)[:2]): ln for ln in lines}
  assert all(p.returncode == 0 for p in procs), outs
  assert got[("shared", "p0")] == "shared p0 ok 19" and got[("shared", "p1")] == "shared p1 ok 19", outs
  assert got[("local", "p0")] == "local p0 ok 19"
  assert "process 1 of 2 cannot see SynTone grid" in got[("local", "p1")]
  assert f"{tmp_path}/host1" in got[("local", "p1")] and "config.data.dir" in got[("local", "p1")]
  assert got[("failed", "p0")] == "failed p0 error OSError: disk full"
  assert "process 0 failed to prepare" in got[("failed", "p1")]
  assert not os.path.exists(tmp_path / "host1" / "syntone")  # process 1 never generated on its own


def test_decvae_share_opens_only_the_shards_of_its_block(tmp_path, monkeypatch):
  from decompjax.families.decvae import data as dv_data
  monkeypatch.setattr(dv_data, "SHARD_UTTERANCES", 3)  # 7 utterances -> shards of 3, 3, 1
  config = _decvae(tmp_path)
  dv_data.prepare_data(config)
  whole = _keys(dv_data.make_dataset(config, "train"))
  assert len(whole) == 7
  opened = []
  real_load = np.load
  monkeypatch.setattr(dv_data.np, "load", lambda path, *a, **k: opened.append(path) or real_load(path, *a, **k))
  for p_count, shards_opened in ((2, ([0], [1])), (3, ([0], [0, 1], [1]))):
    for p in range(p_count):
      opened.clear()
      got = _keys(dv_data.make_dataset(config, "train", process_index=p, process_count=p_count))
      lo, hi = host_share.block(7, p, p_count)
      assert got == whole[lo:hi]
      assert [int(path.rsplit("-", 1)[1][:5]) for path in opened] == shards_opened[p]
