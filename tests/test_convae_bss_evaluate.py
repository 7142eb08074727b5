"""ConVAE-BSS evaluation on generated voice+music tracks: the report's keys, files and bounds (oracle IRM far above
the mixture floor), and permutation matching of a separator whose branches are the wrong way round."""
from __future__ import annotations

import numpy as np
import pytest

from decompjax import config_utils
from decompjax.data import synmix
from decompjax.data.separation_corpora import Track
from decompjax.evaluation.report import Report
from decompjax.families.convae_bss import evaluate as ev


@pytest.fixture(scope="module")
def config():
  return config_utils.build_config(config_utils.preset_path("convae_bss_synmix.py") + ":smoke", [])


@pytest.fixture(scope="module")
def tracks():
  spec = synmix.SynMixSpec(min_seconds=1.2, max_seconds=2.2, seed=7)
  return [Track(f"t{i}", *synmix.clip(spec, "test", i)[:3]) for i in range(3)]


def test_report_of_the_bounds_and_a_scaled_mixture(config, tracks):
  report = ev.evaluate_tracks(config, tracks, lambda mix: np.stack([0.5 * mix, 0.5 * mix]))
  assert isinstance(report, Report)
  m = report.metrics
  for prefix in ("", "irm_", "mixture_"):
    for measure in ev.MEASURES:
      assert f"{prefix}{measure}" in m and all(f"{prefix}{measure}_{s}" in m for s in ev.SOURCES)
    assert f"{prefix}gnsdr" in m
  assert m["num_tracks"] == 3
  # The IRM ceiling is far above the mixture floor, which is 0 dB improvement by definition.
  assert m["irm_nsdr"] > 8.0 and m["irm_sdr"] > m["mixture_sdr"] + 8.0 and m["irm_si_sdri"] > 8.0
  assert m["mixture_nsdr"] == 0.0
  # BSS Eval is blind to a gain: half the mixture scores as the mixture does.
  assert abs(m["nsdr"]) < 0.05 and abs(m["sdr_voice"] - m["mixture_sdr_voice"]) < 0.05
  assert set(report.tables) == {"bss_eval.md", "bss_eval_tracks.csv"}
  assert "oracle IRM" in report.tables["bss_eval.md"]
  rows = report.tables["bss_eval_tracks.csv"].strip().splitlines()
  assert len(rows) == 1 + 3 * 3 * 2  # header + tracks x systems x sources
  wavs = int(config.eval.num_wavs)
  assert set(report.figures) == {f"{kind}_track{i}" for kind in ("spectrograms", "masks") for i in range(wavs)}
  assert len(report.audio) == 5 * wavs and all(rate == 16000 for _, rate in report.audio.values())
  for fig in report.figures.values():
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_swapped_branches_are_matched_back(config, tracks):
  irm = {t.mixture.tobytes(): ev.oracle_irm(config, t.mixture, t.voice, t.music)[0] for t in tracks}
  report = ev.evaluate_tracks(config, tracks, lambda mix: irm[np.asarray(mix).tobytes()][::-1])
  m = report.metrics
  assert m["swapped_tracks"] == 3
  for measure in ("sdr", "sir", "sar", "si_sdr", "nsdr"):
    assert m[measure] == pytest.approx(m[f"irm_{measure}"], abs=1e-6)
  wave = report.audio["track0_voice_est"][0]  # written in the matched order
  assert np.corrcoef(wave, tracks[0].voice)[0, 1] > 0.9


def test_irm_estimates_sum_to_the_mixture_and_masks_to_one(config, tracks):
  t = tracks[0]
  est, masks = ev.oracle_irm(config, t.mixture, t.voice, t.music)
  np.testing.assert_allclose(est.sum(axis=0), t.mixture, atol=1e-4)
  np.testing.assert_allclose(masks.sum(axis=0), 1.0, atol=1e-5)


def test_seeds_study_table_shows_mean_and_std_beside_the_bounds():
  from decompjax.experiments import convae_bss as study
  from decompjax.experiments import tables
  spec, overrides = study.preset_spec("compat", "smoke")
  assert spec.endswith("convae_bss_synmix.py:smoke,compat") and overrides == []
  assert config_utils.build_config(spec, overrides).model.objective == "compat"
  records = [{"objective": o, "seed": s, "results": {"nsdr": base + s, "irm_nsdr": 15.0, "mixture_nsdr": 0.0}}
             for o, base in (("mixture_consistent", 4.0), ("compat", 0.0)) for s in range(3)]
  rows = study.table_rows(tables.summarize(records, ("objective",), study.metrics()), list(study.OBJECTIVES))
  table = {row[0]: row[1] for row in rows}
  assert tables.format_cell(table[study.LABELS["mixture_consistent"]]) == "5.000 ± 1.000"
  assert tables.format_cell(table[study.LABELS["compat"]]) == "1.000 ± 1.000"
  assert tables.format_cell(table[study.LABELS["irm"]]) == "15.000 ± 0.000"
  assert [r[0] for r in rows][-2:] == [study.LABELS["irm"], study.LABELS["mixture"]]
