"""`decompjax eval` for DecVAE and its FC-VAE baseline: the latent analysis of spec §4 on mu, as a Report.

Steps: load the evaluation split (`data.load_split_arrays`, config.eval.split), encode it in fixed-size batches
(the model's `encode`: mu per subspace, deterministic), keep the frames that are real (frame_valid 1), carry no
vowel change (overlap 0) and have every Z label; aggregate X / OC_k / OCs_joint / OCs_proj / all per branch, and
score each aggregation (`latents.analyse`: metric suite + probes). On SimVowels the traversal set gives the
latent-response matrices (`latent_response.py`). Figures: t-SNE (and PCA) of the Z 'all' latents (or the first
aggregation) coloured by each factor, the S latents by speaker, and the response heatmaps.
Tables: analysis.csv and analysis.md, one row per branch x aggregation. Nothing here writes files.

`analysis_report(config, z, s, factors_z, factors_s)` is the entry for latents computed any other way (the PCA /
ICA / raw-mel baselines in `baselines.py`).
"""
from __future__ import annotations

import csv
import io
import math
from typing import Callable, Mapping

import numpy as np

from decompjax.errors import ConfigError, DataError
from decompjax.evaluation.report import Report
from decompjax.families.decvae import latents as lat

TABLE_COLUMNS = ("branch", "aggregation", "dim", "n") + tuple(c for c, _ in lat.METRIC_COLUMNS)


def eval_config(factors_z=("vowel", "speaker_frame"), factors_s=("speaker_seq",)):
  """The config.eval block this module reads (presets put it under config.eval; see docs/decvae.md)."""
  import ml_collections
  e = ml_collections.ConfigDict()
  e.split = "test"                 # the split analysed (the probes re-split it 80/20 on the speaker)
  e.max_utterances = 0             # 0 = the whole split
  e.batch_size = 16                # encode batch
  e.factors_z = tuple(factors_z)   # per-frame factors (Z branch)
  e.factors_s = tuple(factors_s)   # per-utterance factors (S branch)
  e.aggregations = lat.AGGREGATIONS
  e.max_points = 2000              # seeded subsample for metrics and probes
  e.num_bins = 30
  e.dci_trees = 50
  e.rf_trees = 100
  e.kmeans_init = 10
  e.test_fraction = 0.2
  e.resplit_seed = 42
  e.metrics = True                 # the disentanglement suite (probes always run)
  e.figures = True
  e.tsne = True
  e.tsne_points = 800
  e.sklearn_threads = 1            # OpenMP threads of sklearn (t-SNE, KMeans); 0 = its default (all cores)
  e.traversal = True               # latent-response matrices (SimVowels only)
  e.traversal_step = 1             # every k-th v of the traversal grid
  return e


def factor_values(arrays: Mapping[str, np.ndarray], name: str, *, per_frame: bool) -> np.ndarray:
  """A factor as [N, F] (per_frame) or [N] labels. 'speaker_frame'/'speaker_seq' are the utterance speaker;
  an utterance factor asked per frame is broadcast over the frames."""
  base = {"speaker_frame": "speaker", "speaker_seq": "speaker"}.get(name, name)
  if base not in arrays:
    raise ConfigError(f"config.eval factor {name!r}: the data has no {base!r} labels (has: "
                      f"{', '.join(sorted(arrays))})")
  y = np.asarray(arrays[base])
  if per_frame:
    frames = arrays["frame_valid"].shape[1]
    return y if y.ndim == 2 else np.broadcast_to(y[:, None], (len(y), frames))
  if y.ndim != 1:
    raise ConfigError(f"config.eval.factors_s: {name!r} is a per-frame label; the S branch has one row per "
                      "utterance (use speaker_seq, emotion, king_stage)")
  return y


def frame_keep(arrays: Mapping[str, np.ndarray], factors_z, *, drop_overlap: bool = True) -> np.ndarray:
  """[N, F] bool: real frames, no label change inside (drop_overlap), every Z factor known (>= 0)."""
  keep = np.asarray(arrays["frame_valid"]) > 0
  if drop_overlap and "overlap" in arrays:
    keep &= np.asarray(arrays["overlap"]) == 0
  for name in factors_z:
    keep &= factor_values(arrays, name, per_frame=True) >= 0
  return keep


ENCODE_KEYS = ("frames", "frame_valid", "component_mask", "seq", "seq_component_mask")  # what encode reads


def _encode_inputs(arrays: Mapping[str, np.ndarray]) -> dict:
  inputs = {k: np.asarray(arrays[k]) for k in ENCODE_KEYS if k in arrays}
  if len(inputs["frames"]) == 0:
    raise DataError("the evaluation split holds no utterances")
  return inputs


def encode_arrays(encode: Callable, arrays: Mapping[str, np.ndarray], batch_size: int) -> dict:
  """encode(batch) -> {'z': {name: [B, F, d]}, 's': {name: [B, d]}} over all utterances in batches of exactly
  batch_size (the last padded by repeating its first row, then cut), as numpy: for a host encoder (the trained
  model goes through `model_encoder`)."""
  from decompjax.evaluation import batching
  return batching.map_batches(encode, _encode_inputs(arrays), max(1, batch_size))


def collect(encoded: Mapping, arrays: Mapping[str, np.ndarray], factors_z, factors_s, *, drop_overlap: bool = True):
  """(z {subspace: [M, d]} over kept frames, s {subspace: [N, d]}, factors_z {name: [M]}, factors_s {name: [N]})."""
  keep = frame_keep(arrays, factors_z, drop_overlap=drop_overlap)
  z = {k: np.asarray(v)[keep] for k, v in encoded.get("z", {}).items()}
  s = {k: np.asarray(v) for k, v in encoded.get("s", {}).items()}
  fz = {name: factor_values(arrays, name, per_frame=True)[keep] for name in factors_z} if z else {}
  fs = {name: factor_values(arrays, name, per_frame=False) for name in factors_s} if s else {}
  for name, v in fs.items():
    keep_s = v >= 0
    if not keep_s.all():  # an unknown utterance label drops that utterance from the S analysis
      s = {k: x[keep_s] for k, x in s.items()}
      fs = {k: x[keep_s] for k, x in fs.items()}
  return z, s, fz, fs


def _cell(v) -> str:
  if isinstance(v, float):
    return "" if math.isnan(v) else f"{v:.3f}"
  return str(v)


def table_columns(rows) -> list[str]:
  """The fixed columns present, then the probe columns in first-seen order."""
  cols = [c for c in TABLE_COLUMNS if any(c in r for r in rows)]
  return cols + [k for k in dict.fromkeys(k for r in rows for k in r) if k not in cols]


def rows_csv(rows, columns) -> str:
  buf = io.StringIO()
  w = csv.writer(buf)
  w.writerow(columns)
  for r in rows:
    w.writerow([r.get(c, "") for c in columns])
  return buf.getvalue()


def rows_markdown(rows, columns, title: str) -> str:
  lines = [f"# {title}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * 2 + "---:|" * (len(columns) - 2)]
  lines += ["| " + " | ".join(_cell(r.get(c, "")) or "—" for c in columns) + " |" for r in rows]
  return "\n".join(lines) + "\n"


def _scatter_figures(config, z_aggs, s_aggs, factors_z, factors_s) -> dict:
  from decompjax.evaluation import figures
  out = {}
  n = int(config.eval.tsne_points)
  for branch, aggs, facs in (("z", z_aggs, factors_z), ("s", s_aggs, factors_s)):
    if not aggs or not facs:
      continue
    name = "all" if "all" in aggs else next(iter(aggs))
    x = np.asarray(aggs[name])
    idx = lat.subsample(len(x), n, config.seed)
    if len(idx) < 3:
      continue
    for factor, y in facs.items():
      out[f"tsne_{branch}_{name}_{factor}"] = figures.latent_scatter_figure(
          x[idx], np.asarray(y)[idx], tsne=bool(config.eval.tsne), seed=config.seed,
          title=f"{branch.upper()} {name} by {factor}")
  return out


def analysis_report(config, z: Mapping, s: Mapping, factors_z: Mapping, factors_s: Mapping, *,
                    title: str = "DecVAE latent analysis") -> Report:
  """The analysis of already-collected mu (z rows = kept frames, s rows = utterances) -> Report with the
  per-aggregation table (analysis.csv / .md), flat metrics '<branch>/<aggregation>/<column>' and figures."""
  from threadpoolctl import threadpool_limits
  # sklearn's OpenMP (t-SNE, KMeans) spins badly on a busy small host: 1 thread made t-SNE 25x faster on 2 cores
  with threadpool_limits(limits=int(config.eval.sklearn_threads) or None):
    return _analysis_report(config, z, s, factors_z, factors_s, title)


def _analysis_report(config, z, s, factors_z, factors_s, title) -> Report:
  settings = lat.settings_from_config(config)
  aggs = tuple(config.eval.aggregations)
  z_aggs, s_aggs = lat.aggregate(z, aggs), lat.aggregate(s, aggs)
  strata_z = "speaker_frame" if "speaker_frame" in factors_z else None
  strata_s = "speaker_seq" if "speaker_seq" in factors_s else None
  rows = lat.analyse(z_aggs, factors_z, branch="z", s=settings, strata=strata_z)
  rows += lat.analyse(s_aggs, factors_s, branch="s", s=settings, strata=strata_s)
  report = Report()
  for r in rows:
    for k, v in r.items():
      if k not in ("branch", "aggregation"):
        report.metrics[f"{r['branch']}/{r['aggregation']}/{k}"] = v
  report.metrics["analysis_rows"] = len(rows)
  columns = table_columns(rows)
  report.tables["analysis.csv"] = rows_csv(rows, columns)
  report.tables["analysis.md"] = rows_markdown(rows, columns, title)
  if config.eval.figures:
    report.figures.update(_scatter_figures(config, z_aggs, s_aggs, factors_z, factors_s))
  return report


def model_encoder(config, state, encode_fn: Callable | None = None) -> Callable:
  """encode_all(arrays, batch_size) -> {'z': {name: [N, F, d]}, 's': {name: [N, d]}} of a state as numpy:
  encode_fn(config, params, model_state, batch) (DecVAE's model.encode by default; the FC-VAE passes its own),
  jitted once per config with the parameters as arguments, batches sharded over the state's mesh (the last
  padded with copies of a real utterance, then cut)."""
  from decompjax.evaluation import batching
  if encode_fn is None:
    from decompjax.families.decvae import model
    encode_fn = model.encode

  def build():
    return lambda variables, batch: encode_fn(config, variables[0], variables[1], batch)

  key = ("decvae.encode", batching.fn_key(encode_fn), batching.config_key(config))
  run = batching.mesh_jit(key, build)
  mesh = batching.state_mesh(state.params)
  variables = batching.replicate((state.params, state.model_state), mesh)

  def encode_all(arrays: Mapping[str, np.ndarray], batch_size: int) -> dict:
    return batching.map_on_mesh(run, variables, _encode_inputs(arrays), max(1, batch_size), mesh=mesh,
                                exact=True)  # the split and the traversal set: one compilation
  return encode_all


def evaluate(config, state, workdir: str, *, encode_fn: Callable | None = None) -> Report:
  """Encodes config.eval.split, analyses the latents, adds the traversal responses on SimVowels.
  encode_fn: the family's encode (default DecVAE's model.encode)."""
  del workdir  # the caller writes the Report
  from decompjax.families.decvae import data
  limit = int(config.eval.max_utterances) or None
  arrays = data.load_split_arrays(config, config.eval.split, limit=limit)
  encode_all = model_encoder(config, state, encode_fn)
  bs = int(config.eval.batch_size)
  encoded = encode_all(arrays, bs)
  z, s, fz, fs = collect(encoded, arrays, tuple(config.eval.factors_z), tuple(config.eval.factors_s),
                         drop_overlap=bool(config.data.get("drop_overlap_frames", True)))
  report = analysis_report(config, z, s, fz, fs, title=f"{config.model.family} latent analysis "
                           f"({config.data.name}, {config.eval.split} split)")
  report.metrics["eval_utterances"] = int(len(arrays["frames"]))
  report.metrics["eval_frames_kept"] = int(len(next(iter(z.values())))) if z else 0
  if config.data.name == "simvowels" and config.eval.traversal:
    from decompjax.families.decvae import latent_response
    report.merge(latent_response.traversal_report(config, lambda a: encode_all(a, bs)))
  return report


def _dataset(config, unit: str) -> dict:
  """The data a DecVAE latent row comes from (not the decomposition, which is the model's input): the corpus and
  its clips, the split analysed and the row unit."""
  d = config.data
  out = {"data": d.name, "seconds": float(d.seconds), "sample_rate": int(d.sample_rate), "frame": int(d.frame),
         "hop": int(d.hop), "split": config.eval.split, "unit": unit}
  if d.name == "simvowels":
    out["simvowels"] = d.simvowels.to_dict()
  else:
    out.update(dir=d.dir, metadata=str(d.get("metadata", "")), seed=int(config.seed))
  if unit == "frame":
    out["drop_overlap_frames"] = bool(d.get("drop_overlap_frames", True))
  return out


def latents(config, state, max_examples: int, *, encode_fn: Callable | None = None) -> list:
  """`decompjax compare`'s view: the 'all' aggregation (else the first available) of Z per kept frame and of S
  per utterance, over the first max_examples utterances of config.eval.split. Factors: the config's Z / S
  factors, generative on SimVowels (labels elsewhere)."""
  from decompjax.evaluation.latents import LatentSet
  from decompjax.families.decvae import data
  arrays = data.load_split_arrays(config, config.eval.split, limit=int(max_examples))
  encoded = model_encoder(config, state, encode_fn)(arrays, int(config.eval.batch_size))
  fz_names, fs_names = tuple(config.eval.factors_z), tuple(config.eval.factors_s)
  drop = bool(config.data.get("drop_overlap_frames", True))
  z, s, fz, fs = collect(encoded, arrays, fz_names, fs_names, drop_overlap=drop)
  utt, frame = np.nonzero(frame_keep(arrays, fz_names, drop_overlap=drop))  # row order of z (row-major)
  keep_s = np.ones(len(arrays["frames"]), bool)
  for name in fs_names:  # collect drops an utterance with an unknown S label
    keep_s &= factor_values(arrays, name, per_frame=False) >= 0
  generative = config.data.name == "simvowels"
  reason = "" if generative else f"no factor labels ({config.data.name}: annotations, not generative factors)"
  out = []
  for branch, subspaces, factors, ids, unit in (
      ("Z", z, fz, [f"utt{u}/frame{f}" for u, f in zip(utt, frame)], "frame"),
      ("S", s, fs, [f"utt{u}" for u in np.nonzero(keep_s)[0]], "utterance")):
    aggs = lat.aggregate(subspaces, tuple(config.eval.aggregations))
    if not aggs:
      continue
    agg = "all" if "all" in aggs else next(iter(aggs))
    labels = {k: np.asarray(v, np.int64) for k, v in factors.items()}
    out.append(LatentSet(name=f"{branch} {agg}", dataset=_dataset(config, unit), codes=aggs[agg], ids=ids,
                         labels=labels, factors=tuple(labels) if generative else (), no_factors_reason=reason))
  return out
