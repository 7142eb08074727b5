"""ConVAE-BSS evaluation: BSS Eval of the separated test tracks beside the mixture floor and the oracle IRM ceiling.

Three systems are scored on the same full-length test tracks (`data.test_tracks`):
  model    the trained run, each track separated as `decompjax separate` does (crop windows, 50% overlap-add)
  irm      the oracle ideal ratio mask |S_k|^a / sum_j |S_j|^a (a = eval.irm_power; 2 is museval's IRM2) on the
           complex mixture STFT (config.audio), inverted with the mixture phase: the ceiling of any masking model
           with this STFT
  mixture  the mixture as the estimate of both sources: the floor (NSDR's reference)
Metrics, per source (voice, music) and track: SDR, SIR, SAR (BSS Eval `bss_eval_sources`, distortion filters of
eval.filter_length taps) in BSS Eval v4 style: computed on eval.bss_window_seconds windows every
eval.bss_hop_seconds (0 = the whole track as one window) and summarised by the median over windows, windows
with a silent reference left out (as museval). Estimates are permutation-matched once per track: the order of the
two estimates with the higher mean SIR over the track's windows (mir_eval's criterion). SI-SDR on the whole track
in that order. NSDR = SDR - SDR(mixture), SI-SDRi likewise. Over tracks: medians (museval), GNSDR = the
length-weighted mean of NSDR (the MIR-1K convention). `swapped_tracks` counts tracks where the model's branch 0
matched music rather than voice (nothing but the objective makes branch 0 the voice).
"""
from __future__ import annotations

import csv
import io
from typing import Callable

import numpy as np

from decompjax.evaluation.report import Report

SOURCES = ("voice", "music")
SYSTEMS = ("model", "irm", "mixture")
SYSTEM_LABELS = {"model": "ConVAE-BSS", "irm": "oracle IRM", "mixture": "mixture (as estimate)"}
MEASURES = ("sdr", "sir", "sar", "si_sdr", "nsdr", "si_sdri")
SEPARATE_BATCH = 8  # windows separated at once
_SILENT = 1e-10    # mean-square below which a window's reference (or estimate) counts as silent
BSS_BATCH = 16     # BSS Eval windows per jitted call
# The BSS Eval fields beyond configs' num_tracks / num_wavs / filter_length, for configs saved without them.
EVAL_DEFAULTS = {"irm_power": 2.0, "bss_window_seconds": 1.0, "bss_hop_seconds": 1.0}

# mixture [T] at 16 kHz -> estimates [2, T] (voice, music)
Separator = Callable[[np.ndarray], np.ndarray]


def oracle_irm(config, mixture: np.ndarray, voice: np.ndarray, music: np.ndarray,
               power: float | None = None) -> tuple[np.ndarray, np.ndarray]:
  """-> (estimates [2, T], masks [2, F, frames]) of the ideal ratio mask on the mixture STFT."""
  import jax.numpy as jnp
  from decompjax.audio.stft import istft_complex, stft_complex
  a = float(eval_field(config, "irm_power") if power is None else power)
  n_fft, hop, window = int(config.audio.n_fft), int(config.audio.hop), str(config.audio.window)
  specs = stft_complex(jnp.asarray(np.stack([mixture, voice, music]), jnp.float32), n_fft, hop, window)
  mags = jnp.abs(specs[1:]) ** a
  total = mags.sum(axis=0, keepdims=True)
  masks = jnp.where(total > 0, mags / jnp.where(total > 0, total, 1.0), 0.5)  # a bin silent in both: half each
  est = istft_complex(masks * specs[0][None], mixture.shape[-1], n_fft, hop, window)
  return np.asarray(est, np.float32), np.asarray(masks, np.float32)


def effective_masks(config, estimates: np.ndarray) -> np.ndarray:
  """|STFT(s_k)| / sum_j |STFT(s_j)| of waveform estimates [2, T]: the masks a separation applied, for figures."""
  import jax.numpy as jnp
  from decompjax.audio.stft import stft_complex
  mags = jnp.abs(stft_complex(jnp.asarray(estimates, jnp.float32), int(config.audio.n_fft), int(config.audio.hop),
                              str(config.audio.window)))
  return np.asarray(mags / jnp.maximum(mags.sum(axis=0, keepdims=True), 1e-12), np.float32)


def frames(x: np.ndarray, window: int, hop: int) -> np.ndarray:
  """[S, T] -> [n, S, window]: the BSS Eval windows (a last partial window is dropped, as museval). A track
  shorter than one window, or window 0, gives one window of the whole track, zero-padded to `window`."""
  length = x.shape[-1]
  if window <= 0 or length <= window:
    return np.pad(x, ((0, 0), (0, max(0, window - length))))[None]
  starts = np.arange(0, length - window + 1, hop)
  return np.stack([x[:, s:s + window] for s in starts])


def _bss(reference: np.ndarray, estimate: np.ndarray, filter_length: int) -> dict[str, np.ndarray]:
  """C1's batched BSS Eval, [N, S, T] -> {sdr, sir, sar: [N, S]} in the given order."""
  from decompjax.metrics import bss_eval
  out = bss_eval.bss_eval_sources(reference, estimate, filter_length=filter_length, compute_permutation=False,
                                  batch_size=BSS_BATCH)
  return {k: np.asarray(out[k], np.float64) for k in ("sdr", "sir", "sar")}


def _si_sdr(reference: np.ndarray, estimate: np.ndarray) -> np.ndarray:
  from decompjax.metrics.si_sdr import si_sdr
  return np.asarray(si_sdr(reference, estimate), np.float64)


def eval_field(config, name: str):
  """config.eval.<name>; EVAL_DEFAULTS for a run saved before the field existed."""
  return config.eval.get(name, EVAL_DEFAULTS[name])


def score_tracks(config, references: list[np.ndarray], estimates: dict[str, list[np.ndarray]]) -> dict:
  """references: per track [2, T]; estimates: system -> per track [2, T]. -> {system: {measure: [tracks, 2]},
  'order': {system: [tracks] bool (the estimates were swapped)}} (see the module docstring). A track whose every
  window has a silent reference scores NaN. All windows of all tracks go through BSS Eval together: one batched
  call per system, both orders at once."""
  sr = 16000
  n = len(references)
  win = int(round(float(eval_field(config, "bss_window_seconds")) * sr))
  if win <= 0:  # whole tracks, zero-padded to the longest
    win = max(r.shape[-1] for r in references)
  hop = max(1, int(round(float(eval_field(config, "bss_hop_seconds")) * sr)))
  taps = int(config.eval.filter_length)
  ref_frames, keeps, owner = [], [], []
  for i, ref in enumerate(references):
    f = frames(np.asarray(ref, np.float32), win, hop)  # [n_i, 2, win]
    keep = np.all(np.mean(f.astype(np.float64) ** 2, axis=-1) > _SILENT, axis=-1)
    ref_frames.append(f[keep])
    keeps.append(keep)
    owner.append(np.full(int(keep.sum()), i))
  owner = np.concatenate(owner)
  refs = np.concatenate(ref_frames)
  out: dict = {"order": {}}
  for system, ests in estimates.items():
    est_f = np.concatenate([frames(np.asarray(e, np.float32), win, hop)[k] for e, k in zip(ests, keeps)])
    # BSS Eval is undefined for a silent estimate too: such windows are left out of this system's medians.
    ok = np.all(np.mean(est_f.astype(np.float64) ** 2, axis=-1) > _SILENT, axis=-1)
    own = owner[ok]
    res = {m: np.full((n, 2), np.nan) for m in MEASURES}
    swapped = np.zeros(n, bool)
    if ok.any():
      r, e = refs[ok], est_f[ok]
      both = _bss(np.concatenate([r, r]), np.concatenate([e, e[:, ::-1]]), taps)
      both = {m: v.reshape(2, len(r), 2) for m, v in both.items()}  # [order, windows, source]
    for i in range(n):
      sel = own == i
      if not sel.any():
        continue
      o = int(np.nanmean(both["sir"][1, sel]) > np.nanmean(both["sir"][0, sel]))
      swapped[i] = bool(o)
      for m in ("sdr", "sir", "sar"):
        res[m][i] = np.nanmedian(both[m][o, sel], axis=0)
      est = np.asarray(ests[i], np.float32)
      res["si_sdr"][i] = _si_sdr(np.asarray(references[i], np.float32), est[::-1] if o else est)
    out[system], out["order"][system] = res, swapped
  base = out.get("mixture")
  for system in estimates:
    if base is not None:
      out[system]["nsdr"] = out[system]["sdr"] - base["sdr"]
      out[system]["si_sdri"] = out[system]["si_sdr"] - base["si_sdr"]
  return out


def _median(values: np.ndarray) -> float:
  values = values[np.isfinite(values)]
  return float(np.median(values)) if values.size else float("nan")


def summary_metrics(scores: dict, lengths: np.ndarray) -> dict[str, float]:
  """Medians over tracks per system, measure and source, plus the mean over both sources ('<measure>' for the
  model, 'irm_<measure>', 'mixture_<measure>'), GNSDR, and the swapped-track count."""
  out: dict[str, float] = {}
  w = np.asarray(lengths, np.float64) / np.sum(lengths)
  for system in SYSTEMS:
    if system not in scores:
      continue
    prefix = "" if system == "model" else f"{system}_"
    for m in MEASURES:
      values = scores[system][m]
      for k, source in enumerate(SOURCES):
        out[f"{prefix}{m}_{source}"] = _median(values[:, k])
      out[f"{prefix}{m}"] = _median(values.mean(axis=1))
    ok = np.all(np.isfinite(scores[system]["nsdr"]), axis=1)
    gnsdr = (w[ok, None] * scores[system]["nsdr"][ok]).sum(axis=0) / max(w[ok].sum(), 1e-12)
    for k, source in enumerate(SOURCES):
      out[f"{prefix}gnsdr_{source}"] = float(gnsdr[k])
    out[f"{prefix}gnsdr"] = float(gnsdr.mean())
  if "model" in scores:
    out["swapped_tracks"] = int(np.sum(scores["order"]["model"]))
  out["num_tracks"] = int(len(lengths))
  return out


def tracks_csv(names: list[str], lengths_s: np.ndarray, scores: dict) -> str:
  buf = io.StringIO()
  w = csv.writer(buf)
  w.writerow(["track", "seconds", "system", "source", *MEASURES, "swapped"])
  for i, name in enumerate(names):
    for system in SYSTEMS:
      if system not in scores:
        continue
      for k, source in enumerate(SOURCES):
        w.writerow([name, f"{lengths_s[i]:.3f}", system, source,
                    *(f"{scores[system][m][i, k]:.4f}" for m in MEASURES), int(scores["order"][system][i])])
  return buf.getvalue()


def summary_markdown(metrics: dict[str, float], header: str) -> str:
  lines = [header, "", "| system | source | " + " | ".join(m.upper().replace("_", "-") for m in MEASURES) + " |",
           "|---|---|" + "---:|" * len(MEASURES)]
  for system in SYSTEMS:
    prefix = "" if system == "model" else f"{system}_"
    if f"{prefix}sdr" not in metrics:
      continue
    for source in (*SOURCES, None):
      cells = [metrics[f"{prefix}{m}" + (f"_{source}" if source else "")] for m in MEASURES]
      lines.append(f"| {SYSTEM_LABELS[system]} | {source or 'mean'} | "
                   + " | ".join("—" if not np.isfinite(c) else f"{c:.2f}" for c in cells) + " |")
  lines += ["", f"GNSDR (length-weighted mean NSDR): model {metrics.get('gnsdr', float('nan')):.2f} dB, "
            f"oracle IRM {metrics.get('irm_gnsdr', float('nan')):.2f} dB."]
  return "\n".join(lines) + "\n"


def _db_image(spec: np.ndarray, ref_peak: float, floor_db: float = -80.0) -> np.ndarray:
  db = 20 * np.log10(np.abs(spec) + 1e-10) - 20 * np.log10(ref_peak + 1e-10)
  return np.clip((db - floor_db) / -floor_db, 0.0, 1.0)


def track_figures(config, name: str, mixture, refs, ests, model_masks, irm_masks) -> dict:
  """{'spectrograms_<name>': mixture / references / estimates in dB, 'masks_<name>': model and IRM masks}."""
  import jax.numpy as jnp
  from decompjax.audio.stft import stft_complex
  from decompjax.evaluation import figures
  n_fft, hop, sr = int(config.audio.n_fft), int(config.audio.hop), 16000
  specs = np.asarray(stft_complex(jnp.asarray(np.stack([mixture, *refs, *ests]), jnp.float32), n_fft, hop,
                                  str(config.audio.window)))
  peak = float(np.abs(specs[0]).max())
  bins = tuple(float(f) for f in np.arange(n_fft // 2 + 1) * sr / n_fft)
  axes_db = figures.SpecAxes(seconds_per_frame=hop / sr, bin_hz=bins, value_label="dB re mixture peak",
                             db_range=(-80.0, 0.0))
  spec_fig = figures.image_grid_figure([_db_image(s, peak) for s in specs], cols=5, spec_axes=axes_db,
                                       panel_titles=["mixture", "voice (ref)", "music (ref)", "voice (est)",
                                                     "music (est)"], panel_size=1.8,
                                       title=f"{name}: magnitude spectrograms")
  axes_mask = figures.SpecAxes(seconds_per_frame=hop / sr, bin_hz=bins, value_label="mask")
  mask_fig = figures.image_grid_figure([*model_masks, *irm_masks], cols=4, spec_axes=axes_mask, panel_size=1.8,
                                       panel_titles=["voice mask (model)", "music mask (model)",
                                                     "voice mask (IRM)", "music mask (IRM)"],
                                       title=f"{name}: masks (model: effective |S_k| / sum |S_j| of its estimates)")
  return {f"spectrograms_{name}": spec_fig, f"masks_{name}": mask_fig}


def evaluate_tracks(config, tracks, separator: Separator | None) -> Report:
  """The Report of `tracks` (objects with name, mixture, voice, music, sample_rate=16000) separated by
  `separator` (None: only the IRM and mixture bounds). Figures and WAVs for the first eval.num_wavs tracks."""
  tracks = list(tracks)
  if not tracks:
    raise ValueError("no test tracks to evaluate")
  for t in tracks:
    if int(t.sample_rate) != 16000:
      raise ValueError(f"test track {t.name} is at {t.sample_rate} Hz; evaluation expects 16000")
  names = [str(t.name) for t in tracks]
  refs = [np.stack([np.asarray(t.voice, np.float32), np.asarray(t.music, np.float32)]) for t in tracks]
  mixes = [np.asarray(t.mixture, np.float32) for t in tracks]
  irm = [oracle_irm(config, m, r[0], r[1]) for m, r in zip(mixes, refs)]
  estimates = {"irm": [e for e, _ in irm], "mixture": [np.stack([m, m]) for m in mixes]}
  if separator is not None:
    estimates = {"model": [np.asarray(separator(m), np.float32) for m in mixes], **estimates}
  scores = score_tracks(config, refs, estimates)
  lengths = np.asarray([m.shape[-1] for m in mixes], np.float64)
  metrics = summary_metrics(scores, lengths)
  report = Report(metrics=metrics)
  header = (f"BSS Eval on {len(tracks)} test track(s): median over tracks of the median over "
            f"{float(eval_field(config, 'bss_window_seconds')):g} s windows (0 = whole track), filters of "
            f"{int(config.eval.filter_length)} taps; dB. IRM power {float(eval_field(config, 'irm_power')):g}.")
  report.tables["bss_eval.md"] = summary_markdown(metrics, header)
  report.tables["bss_eval_tracks.csv"] = tracks_csv(names, lengths / 16000, scores)
  shown = "model" if separator is not None else "irm"
  for i in range(min(int(config.eval.num_wavs), len(tracks))):
    est = estimates[shown][i]
    if scores["order"][shown][i]:
      est = est[::-1]
    tag = f"track{i}"
    report.audio[f"{tag}_mixture"] = (mixes[i], 16000)
    for k, source in enumerate(SOURCES):
      report.audio[f"{tag}_{source}_ref"] = (refs[i][k], 16000)
      report.audio[f"{tag}_{source}_est"] = (est[k], 16000)
    report.figures.update(track_figures(config, tag, mixes[i], refs[i], est, effective_masks(config, est), irm[i][1]))
  return report


def evaluate(config, state, workdir: str) -> Report:
  """The family's evaluate: the run's separation of the first eval.num_tracks test tracks vs the bounds."""
  del workdir  # the caller writes the report
  from decompjax.families.convae_bss import data
  from decompjax.families.convae_bss import separate
  limit = int(config.eval.num_tracks) or None
  tracks = data.test_tracks(config, limit=limit)
  window_fn = separate.model_window_fn(config, state)
  window = separate.window_length(config)

  def separator(mixture: np.ndarray) -> np.ndarray:
    return separate.overlap_add_separate(mixture, window_fn, window, batch_size=SEPARATE_BATCH, progress=False)

  return evaluate_tracks(config, tracks, separator)


COMPARE_SCORES = ("sdr", "sir", "sar", "si_sdr", "nsdr", "si_sdri", "gnsdr")  # the model's, means over sources


def window_latents(config, state, windows: np.ndarray) -> np.ndarray:
  """[N, L] mixture windows -> [N, T', 2 * latent_channels]: each branch's encoder mean per latent frame (averaged
  over the latent map's frequency axis), jitted once per config with the parameters as arguments."""
  import jax.numpy as jnp
  from decompjax.evaluation import batching
  from decompjax.families.convae_bss import model

  def build():
    def run(params, x):
      _, (mu0, _, mu1, _) = model.forward(config, params, jnp.abs(model.complex_stft(config, x)))
      return jnp.concatenate([mu0.mean(axis=1), mu1.mean(axis=1)], axis=-1)  # [B, F', T', C] -> [B, T', 2C]
    return run

  run = batching.mesh_jit(("convae_bss.latents", batching.config_key(config)), build)
  return batching.map_on_mesh(run, state.params, np.asarray(windows, np.float32), SEPARATE_BATCH,
                              mesh=batching.state_mesh(state.params))


def latents(config, state, max_examples: int) -> list:
  """`decompjax compare`'s view: encoder means per latent frame of the non-overlapping model windows of the first
  max_examples test tracks (no labels: mixtures carry none), with the model's BSS Eval over those tracks as its
  scores and the first track's mixture and estimates as audio."""
  from decompjax.evaluation.latents import LatentSet, config_dict
  from decompjax.families.convae_bss import data, separate
  tracks = data.test_tracks(config, limit=int(max_examples))
  if not tracks:
    raise ValueError("no test tracks to compare on")
  window = separate.window_length(config)
  window_fn = separate.model_window_fn(config, state)
  rows, names, estimates = [], [], []
  for t in tracks:
    mix = np.asarray(t.mixture, np.float32)
    padded = np.pad(mix, (0, -len(mix) % window))
    rows.append(padded.reshape(-1, window))
    names += [f"{t.name}/w{k}" for k in range(len(rows[-1]))]
    estimates.append(separate.overlap_add_separate(mix, window_fn, window, batch_size=SEPARATE_BATCH,
                                                   progress=False))
  codes = window_latents(config, state, np.concatenate(rows))  # [windows, T', 2C]
  ids = [f"{n}/t{j}" for n in names for j in range(codes.shape[1])]
  refs = [np.stack([np.asarray(t.voice, np.float32), np.asarray(t.music, np.float32)]) for t in tracks]
  mixes = [np.asarray(t.mixture, np.float32) for t in tracks]
  scores = score_tracks(config, refs, {"model": estimates, "mixture": [np.stack([m, m]) for m in mixes]})
  summary = summary_metrics(scores, np.asarray([len(m) for m in mixes], np.float64))
  name = config.data.name
  dataset = ({"data": "synmix", "synmix": config_dict(config.data.synmix)} if name == "synmix"
             else {"data": name, "dir": config.data.dir})
  # a row is a latent frame: its time span depends on the window, the STFT hop and the encoder's downsampling
  dataset.update(sample_rate=int(config.audio.sample_rate), window_samples=int(window), hop=int(config.audio.hop),
                 latent_frames_per_window=int(codes.shape[1]), unit="latent frame of a mixture window")
  est = estimates[0][::-1] if scores["order"]["model"][0] else estimates[0]
  audio = {"mixture": (mixes[0], 16000), "voice estimate": (est[0], 16000), "music estimate": (est[1], 16000)}
  return [LatentSet(name="mu (voice, music)", dataset=dataset, codes=codes.reshape(-1, codes.shape[-1]), ids=ids,
                    no_factors_reason="no factor labels (mixtures: separation scores instead)",
                    scores={k: float(summary[k]) for k in COMPARE_SCORES}, audio=audio)]
