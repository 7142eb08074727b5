"""`decompjax compare` (decompjax/experiments/compare.py, evaluation/compare.py, evaluation/compare_page.py): one
leaderboard over runs of every family, grouped by data, scored on shared examples, blanks with reasons, a
self-contained HTML page, one-line errors.

The runs are the smoke presets at step 0: the workdir the trainer writes before its first update (config.json with
the data-dependent fields resolved, the data prepared, the initial state checkpointed), so that the file pays for
no train-step compilation; compare restores and encodes them as it would any trained run.
"""
import base64
import csv
import os
import re

import jax
import numpy as np
import pytest

from decompjax import checkpointing, cli, config_utils, registry, train
from decompjax.evaluation import compare as compare_lib
from decompjax.evaluation.latents import LatentSet

SMALL = ["--max_examples", "48", "--max_points", "48", "--sampler_points", "16", "--dci_trees", "5"]


def _untrained_run(preset: str, workdir, pairs) -> str:
  """What train_and_evaluate leaves before step 1: resolved config.json, prepared data, step-0 checkpoint."""
  config = config_utils.build_config(f"configs/{preset}", list(pairs))
  family = registry.get_family(config.model.family)
  if family.resolve_config is not None:
    with config.unlocked():
      family.resolve_config(config)
  if family.prepare_data is not None:
    family.prepare_data(config)
  os.makedirs(workdir)
  config_utils.save_config(config, os.path.join(workdir, "config.json"))
  example = family.example_batch(config)
  state = jax.jit(lambda rng: family.init_state(config, rng, example))(jax.random.key(config.seed))
  ckpt = checkpointing.Checkpointer(train.checkpoint_dir(str(workdir)))
  try:
    ckpt.save(0, state, family.name)
  finally:
    ckpt.close()
  return str(workdir)


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
  """Every family's smoke run (two SynTone grids, two seeds of beta_vae) compared once through the CLI."""
  root = tmp_path_factory.mktemp("compare")
  data = str(root / "data")
  syntone = lambda sub: ("data.dir", os.path.join(data, sub))  # noqa: E731
  cache = ("data.cache_dir", data)
  runs = {
      "bvae_a": ("syntone_beta_vae.py:smoke", [syntone("grid")]),
      "bvae_b": ("syntone_beta_vae.py:smoke", [syntone("grid"), ("seed", "1")]),
      "btcvae": ("syntone_beta_tcvae.py:smoke", [syntone("grid")]),
      "fvae": ("syntone_factor_vae.py:smoke", [syntone("grid")]),
      "bvae_other_grid": ("syntone_beta_vae.py:smoke", [syntone("grid5"), ("data.grid.num_freqs", "5"),
                                                        ("eval.num_examples", "40")]),
      # 4 channels: z_q of 32 numbers (the Wasserstein correlation's matrix square root is the cost at 48 rows)
      "vq": ("vqvae_ucr.py:smoke", [("model.dim", "4")]),
      "barlow": ("barlow_vqvae_ucr.py:smoke", [("model.dim", "4")]),
      "autodec": ("autodecompose.py:smoke", [cache]),
      "decvae": ("decvae_simvowels.py:smoke", [cache]),
      "fcvae": ("decvae_fc_vae.py:smoke", [cache]),
      "convae": ("convae_bss_synmix.py:smoke", [cache]),
  }
  for name, (preset, pairs) in runs.items():
    _untrained_run(preset, root / "runs" / name, pairs)
  out = root / "board"
  rc = cli.main(["compare", "--glob", str(root / "runs" / "*"), "--out", str(out), *SMALL])
  assert rc == 0
  with open(out / "leaderboard.csv", newline="") as f:
    rows = list(csv.DictReader(f))
  return out, rows


def _groups(rows) -> dict[str, set[str]]:
  out = {}
  for r in rows:
    out.setdefault(r["group"], set()).add(r["run"])
  return out


def test_every_family_is_on_the_board_and_runs_are_grouped_by_their_data(compared):
  out, rows = compared
  assert {r["family"] for r in rows} == set(registry.names()) - {n for n in registry.names() if "toy" in n}
  groups = _groups(rows)
  # one grid: the two seeds of one family and the other SynTone families share a table; another grid does not
  assert {"bvae_a", "bvae_b", "btcvae", "fvae"} in groups.values()
  assert {"bvae_other_grid"} in groups.values()
  assert {"vq", "barlow"} in groups.values()
  assert {"decvae", "fcvae"} in groups.values()  # DecVAE's Z frames and the FC-VAE's frames: one data
  assert {"decvae"} in groups.values()  # its S latents (one row per utterance) are other rows: another table
  assert {"autodec"} in groups.values() and {"convae"} in groups.values()
  examples = {r["run"]: r["num_examples"] for r in rows if r["family"].startswith("beta") or r["run"] == "fvae"}
  assert examples == {"bvae_a": "48", "bvae_b": "48", "btcvae": "48", "fvae": "48", "bvae_other_grid": "40"}
  assert len(groups) == 7
  for i in groups:
    assert (out / f"group{i}_bars.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  md = (out / "leaderboard.md").read_text()
  assert md.count("## Group ") == 7 and "| bvae_b | beta_vae | mu |" in md


def test_missing_metrics_are_blank_with_their_reason(compared):
  out, rows = compared
  by_run = {(r["run"], r["latent"]): r for r in rows}
  vq = by_run[("vq", "z_q")]
  assert vq["mig"] == "" and "mig: no factor labels (UCR: class labels only)" in vq["missing"]
  assert vq["probe_class_acc"] != "" and vq["gaussian_total_correlation_norm"] != ""
  syn = by_run[("bvae_a", "mu")]
  assert 0.0 <= float(syn["mig"]) <= 1.0 and 0.0 <= float(syn["probe_frequency_acc"]) <= 1.0
  # the smoke grid (4 x 6 x 2 = 48 clips, all scored) covers every factor combination: the sampler scores exist
  assert syn["factor_vae_eval_accuracy"] != ""
  conv = by_run[("convae", "mu (voice, music)")]
  assert conv["sdr"] != "" and conv["mig"] == "" and "mixtures" in conv["missing"]
  assert by_run[("autodec", "E_s (voice)")]["mig"] != ""  # SimVowels' speaker is a generative factor
  md = (out / "leaderboard.md").read_text()
  assert re.search(r"\[\d+\] no factor labels \(UCR: class labels only\)", md)
  assert "—[" in md


def test_the_page_is_self_contained(compared):
  out, _ = compared
  page = (out / "leaderboard.html").read_text()
  assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
  assert "<link" not in page and "<script" not in page
  images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
  assert len(images) >= 7 and all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)
  clips = re.findall(r'src="data:audio/wav;base64,([^"]+)"', page)
  assert clips and all(base64.b64decode(c)[:4] == b"RIFF" for c in clips)
  assert "no factor labels" in page


# --- the scoring on synthetic latents: alignment and seeds ------------------------------------------------------

def _set(ids, codes, labels, **kw):
  return LatentSet(name="z", dataset={"data": "toy", "unit": "row"}, codes=codes, ids=ids, labels=labels, **kw)


def test_runs_are_scored_on_the_shared_examples_in_one_order():
  rng = np.random.default_rng(0)
  n = 60
  y = rng.integers(0, 3, n)
  z = np.stack([y + 0.1 * rng.standard_normal(n), rng.standard_normal(n)], axis=1)
  ids = np.asarray([f"x{i}" for i in range(n)])
  order = rng.permutation(n)
  a = _set(ids, z, {"y": y}, factors=("y",))
  b = _set(ids[order], z[order], {"y": y[order]}, factors=("y",))  # the same rows, shuffled
  extra = _set(np.append(ids, "x_only_here"), np.vstack([z, [[0.0, 0.0]]]), {"y": np.append(y, 0)}, factors=("y",))
  entries = [compare_lib.Entry(name, "toy", name, s) for name, s in (("a", a), ("b", b), ("c", extra))]
  group = compare_lib.score_group(entries, max_points=50, seed=3, sampler_points=16, dci_trees=5)
  assert group.num_examples == 50
  assert any("scored on the 60 every run has" in note for note in group.notes)
  first = group.rows[0].values
  assert first["probe_y_acc"] > 0.9  # y is read off the first dimension
  for row in group.rows[1:]:  # same examples, same split, same seeds -> the same scores
    assert row.values == first
  other = compare_lib.score_group(entries, max_points=50, seed=4, sampler_points=16, dci_trees=5)
  assert other.rows[0].values != first  # another seed draws another subsample and split


def test_a_fixed_split_is_kept_and_a_set_without_factors_gets_reasons():
  rng = np.random.default_rng(1)
  n = 40
  y = np.repeat([0, 1], n // 2)
  train = np.arange(n) % 2 == 0
  s = _set([f"r{i}" for i in range(n)], rng.standard_normal((n, 3)) + y[:, None], {"class": y}, train=train,
           no_factors_reason="no factor labels (toy)")
  group = compare_lib.score_group([compare_lib.Entry("r", "toy", "r", s)], max_points=100, seed=0)
  assert any("the data's own train/test split: 20 train / 20 test" in note for note in group.notes)
  row = group.rows[0]
  assert set(compare_lib.DISENTANGLEMENT) <= set(row.missing)
  assert row.missing["mig"] == "no factor labels (toy)"
  assert "gaussian_total_correlation_norm" in row.values and "probe_class_acc" in row.values


def test_plots_put_one_kind_of_score_on_an_axis():
  from decompjax.evaluation import compare_page
  rows = [compare_lib.Row("r", "toy", "z", {"probe_y_acc": 0.9, "probe_y_chance": 0.5, "mig": 0.2,
                                            "gaussian_total_correlation_norm": 3.0}, {}, {})]
  group = compare_lib.Group("k", {"data": "toy"}, rows, list(rows[0].values), 10, [])
  assert compare_page.plot_columns(group) == (["probe_y_acc", "mig"], "score (0 to 1)")
  bss = [compare_lib.Row("r", "toy", "z", {"gaussian_total_correlation_norm": 0.5, "sdr": 0.7, "sir": 12.0}, {}, {})]
  group = compare_lib.Group("k", {"data": "toy"}, bss, list(bss[0].values), 10, [])
  assert compare_page.plot_columns(group) == (["sdr", "sir"], "family score (BSS Eval: dB)")
  assert compare_page.radar_figure(group, "t") is None  # fewer than three [0, 1] scores


# --- the command line ------------------------------------------------------------------------------------------

def test_a_folder_that_is_not_a_run_is_one_clear_error(tmp_path, capsys):
  assert cli.main(["compare", "--workdirs", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert err == [f"decompjax compare: error: {tmp_path} is not a decompjax workdir (no config.json)"]
  assert not (tmp_path / "o").exists()


def test_a_run_without_a_checkpoint_is_one_clear_error(compared, tmp_path, capsys):
  out, _ = compared
  empty = tmp_path / "no_ckpt"
  empty.mkdir()
  (empty / "config.json").write_text((out.parent / "runs" / "vq" / "config.json").read_text())
  args = ["compare", "--workdirs", str(out.parent / "runs" / "vq"), str(empty), "--out", str(tmp_path / "o")]
  assert cli.main(args) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 1 and err[0].startswith("decompjax compare: error: ") and "checkpoint" in err[0]


@pytest.mark.parametrize("args, message", [
    ([], "nothing to compare"),
    (["--glob", "/nonexistent/runs/*"], "matches no workdir"),
    (["--glob", "x", "--max_points", "1"], "--max_points=1: must be >= 2"),
])
def test_usage_errors_exit_2(tmp_path, capsys, args, message):
  assert cli.main(["compare", "--out", str(tmp_path / "o"), *args]) == 2
  assert message in capsys.readouterr().err
