"""decompjax.experiments: the runner (grid order, resume, fingerprint, milestones, CPU groups) on a toy family,
and the one table writer (ddof, formats)."""
import csv
import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from decompjax import registry, steps
from decompjax.errors import UsageError
from decompjax.evaluation.report import Report
from decompjax.experiments import runner, tables, ucr
from decompjax.family import Family

# A linear regression family: small enough to train a few steps in a test, real enough to go through the trainer.
_N, _D = 32, 3


def _data():
  x = np.random.default_rng(0).normal(size=(_N, _D)).astype(np.float32)
  return x, (x @ np.arange(1, _D + 1, dtype=np.float32)).astype(np.float32)


def _loss(params, model_state, batch, rng):
  return jnp.mean((batch["x"] @ params["w"] - batch["y"]) ** 2), steps.LossOut({})


def _make_tx(config):
  return optax.sgd(config.optim.lr)


def _make_dataset(config, split, *, process_index=0, process_count=1):
  import tensorflow as tf
  x, y = _data()
  return tf.data.Dataset.from_tensor_slices({"x": x, "y": y})


def _evaluate(config, state, workdir):
  x, y = _data()
  w = np.asarray(jax.device_get(state.params["w"]))
  return Report(metrics={"step": int(state.step), "mse": float(np.mean((x @ w - y) ** 2)), "w": w.tolist()})


TOY = Family(
    name="toy_experiment",
    input_spec=lambda c: {"x": jax.ShapeDtypeStruct((1, _D), np.float32), "y": jax.ShapeDtypeStruct((1,), np.float32)},
    make_tx=_make_tx,
    init_variables=lambda c, rng, ex: ({"w": jax.random.normal(rng, (ex["x"].shape[1],))}, {}),
    make_train_step=lambda c, tx=None: steps.gradient_step(tx or _make_tx(c), _loss),
    make_dataset=_make_dataset,
    evaluate=_evaluate)
registry.register("toy_experiment", f"{__name__}:TOY")

PRESET = '''
from configs.common import base_config

def get_config(arg=None):
  c = base_config()
  c.model.family = "toy_experiment"
  c.train.steps = 4
  c.train.batch_size = 8
  c.train.log_every = 1
  c.train.ckpt_every = 100
  c.train.progress = False
  c.optim.name = "sgd"
  c.optim.lr = 0.05
  c.data.shuffle_buffer = 32
  c.mesh.num_devices = 2
  return c
'''


@pytest.fixture
def preset(tmp_path):
  path = tmp_path / "toy_preset.py"
  path.write_text(PRESET)
  return str(path)


def _spec(preset, rundir, *overrides, eval_at=()):
  return runner.RunSpec(key=(("seed", 0),), preset=preset, overrides=tuple(overrides), rundir=str(rundir),
                        eval_at=eval_at)


def test_expand_keeps_the_declared_axis_order_and_skips_none():
  made = runner.expand({"dataset": ["A", "B"], "seed": [0, 1], "model": ["m", "n"]},
                       lambda c: None if c["model"] == "n" and c["seed"] == 1 else
                       runner.RunSpec(tuple(c.items()), "p", (), f"{c['dataset']}/{c['model']}/{c['seed']}"))
  assert [s.rundir for s in made] == ["A/m/0", "A/n/0", "A/m/1", "B/m/0", "B/n/0", "B/m/1"]
  assert made[0].fields() == {"dataset": "A", "seed": 0, "model": "m"}


def test_fingerprint_ignores_display_fields_only(preset):
  base = _spec(preset, "x").config()
  assert runner.fingerprint(base) == runner.fingerprint(_spec(preset, "y").config())
  assert runner.fingerprint(base) == runner.fingerprint(
      _spec(preset, "x", ("train.progress", "true"), ("train.log_every", "2")).config())
  for field, value in (("seed", "1"), ("optim.lr", "0.1"), ("train.steps", "5"), ("eval.batch_size", "8")):
    assert runner.fingerprint(base) != runner.fingerprint(_spec(preset, "x", (field, value)).config()), field
  assert not base.train.eval_at_end  # the runner evaluates, once


def test_run_evaluates_milestones_then_reuses_the_finished_run(preset, tmp_path):
  rundir = tmp_path / "run"
  spec = _spec(preset, rundir, eval_at=(0, 2, 4, 9))  # 4 and 9: not before the end, so only the end evaluates
  res = runner.run(spec)
  assert res["complete"] and res["steps"] == 4 and res["results"]["step"] == 4
  assert [h["step"] for h in res["history"]] == [0, 2]
  assert [h["results"]["step"] for h in res["history"]] == [0, 2]
  assert json.loads((rundir / "probes" / "step_2" / "eval" / "metrics.json").read_text())["step"] == 2
  assert res["history"][0]["results"]["mse"] > res["results"]["mse"]  # it trained
  assert json.loads((rundir / "result.json").read_text()) == json.loads(json.dumps(res))

  # Milestone 0 is the trainer's own initial state: a run whose one step changes nothing (lr 0) ends there.
  frozen = runner.run(_spec(preset, tmp_path / "frozen", ("optim.lr", "0.0"), ("train.steps", "1")))
  np.testing.assert_array_equal(res["history"][0]["results"]["w"], frozen["results"]["w"])

  metrics = rundir / "eval" / "metrics.json"
  before = (metrics.stat().st_mtime_ns, (rundir / "result.json").stat().st_mtime_ns)
  assert runner.run(spec) == res
  assert (metrics.stat().st_mtime_ns, (rundir / "result.json").stat().st_mtime_ns) == before

  # A milestone the finished run has passed cannot be evaluated any more; nothing of the run is touched.
  config_json = (rundir / "config.json").read_text()
  with pytest.raises(UsageError, match="cannot evaluate step 3: the run's checkpoints are at step 4"):
    runner.run(_spec(preset, rundir, eval_at=(0, 2, 3)))
  assert (rundir / "config.json").read_text() == config_json and runner.run(spec) == res


def test_a_changed_config_is_not_reused(preset, tmp_path, caplog):
  rundir = tmp_path / "run"
  first = runner.run(_spec(preset, rundir))
  longer = runner.run(_spec(preset, rundir, ("train.steps", "6")))  # trains on from the step-4 checkpoint
  assert longer["steps"] == 6 and longer["results"]["step"] == 6 and longer["fingerprint"] != first["fingerprint"]
  assert "train.steps: 4 -> 6" in caplog.text
  with pytest.raises(UsageError, match="cannot evaluate step 4: the run's checkpoints are at step 6"):
    runner.run(_spec(preset, rundir))  # its checkpoints went past what this config asks for


def _fail_once(spec, config, state, results):
  raise RuntimeError("after hook failed")


def test_an_interrupted_run_keeps_its_milestones(preset, tmp_path):
  rundir = tmp_path / "run"
  spec = _spec(preset, rundir, eval_at=(0, 2))
  with pytest.raises(RuntimeError, match="after hook failed"):
    runner.run(spec, after=_fail_once)
  partial = json.loads((rundir / "result.json").read_text())
  assert not partial["complete"] and [h["step"] for h in partial["history"]] == [0, 2]
  probe = rundir / "probes" / "step_2" / "eval" / "metrics.json"
  before = probe.stat().st_mtime_ns
  res = runner.run(spec, after=lambda *a: {"note": 1})
  assert res["complete"] and res["extra"] == {"note": 1} and res["history"] == partial["history"]
  assert probe.stat().st_mtime_ns == before  # not evaluated again


def test_run_all_rejects_a_shared_run_directory(preset, tmp_path):
  with pytest.raises(ValueError, match="share a run directory"):
    runner.run_all([_spec(preset, tmp_path / "a"), _spec(preset, tmp_path / "b" / ".." / "a")])


def test_a_fixed_device_count_puts_every_run_in_this_process(preset, tmp_path):
  # The tests force 8 CPU devices through XLA_FLAGS: no split can be chosen, so every run shares them.
  configs = [_spec(preset, "a", ("mesh.cpu_devices", v)).config() for v in ("1", "2")]
  assert runner.devices_per_run(configs) == [jax.device_count()] * 2
  specs = [_spec(preset, tmp_path / v, ("mesh.cpu_devices", v)) for v in ("1", "2")]
  assert [r["steps"] for r in runner.run_all(specs)] == [4, 4]


def pid_after(spec, config, state, results):
  return {"pid": os.getpid()}


@pytest.mark.slow
def test_runs_of_another_cpu_split_run_in_a_child_process(preset, tmp_path, monkeypatch):
  # As on a CPU host whose split is still free: this process took the first run's count, the other runs go to
  # a child that sets its own before it starts JAX.
  monkeypatch.setattr(runner, "_PROCESS", {"per_run": True, "devices": 1})
  specs = [_spec(preset, tmp_path / f"run{i}", ("mesh.cpu_devices", v)) for i, v in enumerate(("1", "2", "1"))]
  res = runner.run_all(specs, after=pid_after)
  pids = [r["extra"]["pid"] for r in res]
  assert pids[0] == pids[2] == os.getpid() != pids[1]
  assert [r["steps"] for r in res] == [4, 4, 4]
  assert json.loads((tmp_path / "run1" / "result.json").read_text())["complete"]


# ---- tables -------------------------------------------------------------------------------------------------

def test_stats_use_the_sample_std_over_finite_values():
  mean, std, n = tables.stats([0.2, 0.4, 0.9, None, math.nan])
  assert n == 3 and mean == pytest.approx(0.5) and std == pytest.approx(np.std([0.2, 0.4, 0.9], ddof=1))
  assert tables.DDOF == 1
  mean, std, n = tables.stats([0.7])
  assert (mean, n) == (0.7, 1) and math.isnan(std)
  assert tables.stats([None])[2] == 0


def test_format_cell():
  assert tables.format_cell(tables.Stat(0.5, 0.25)) == "0.500 ± 0.250"
  assert tables.format_cell(tables.Stat(0.5, 0.25), latex=True) == r"0.500 $\pm$ 0.250"
  assert tables.format_cell(tables.Stat(0.7)) == "0.700"  # one seed: the mean alone
  assert tables.format_cell(tables.Stat(math.nan)) == "—" and tables.format_cell(None, latex=True) == "--"
  assert tables.format_cell("a_b", latex=True) == r"a\_b"
  assert tables.format_cell(tables.Text("β-VAE", r"$\beta$-VAE"), latex=True) == r"$\beta$-VAE"


def _records():
  out = []
  for model in ("b", "a"):  # grid order, not sorted
    for seed, value in enumerate((0.2, 0.4, 0.9)):
      out.append({"model": model, "seed": seed, "results": {"acc": value + (model == "a"), "name": "x"}})
  out.append({"model": "c", "seed": 0, "results": {"acc": 0.7}})
  return out


def test_write_tables_formats_and_states_the_std(tmp_path):
  records = _records()
  summary = tables.summarize(records, ("model",), [tables.Metric("Acc", "acc", (("protocol", "p"),))],
                             group_info=lambda rs: {"runs": len(rs)})
  assert [(r["model"], r["runs"], r["protocol"], r["metric"], r["n"]) for r in summary] == [
      ("b", 3, "p", "Acc", 3), ("a", 3, "p", "Acc", 3), ("c", 1, "p", "Acc", 1)]
  cells = tables.index(summary, "model", "metric")
  table = tables.Table("my header", ["model", "Acc"], [[m, cells[(m, "Acc")]] for m in ("b", "a", "c")],
                       notes="a note")
  paths = tables.write_tables(str(tmp_path / "out"), records=records, key_fields=("model", "seed"), summary=summary,
                              table=table, names={"runs": "r.csv", "summary": "s.csv", "markdown": "t.md",
                                                  "latex": "t.tex"})
  assert [os.path.basename(paths[k]) for k in tables.FILES] == ["r.csv", "s.csv", "t.md", "t.tex"]
  runs = list(csv.DictReader(open(paths["runs"])))
  assert list(runs[0]) == ["model", "seed", "acc"] and float(runs[3]["acc"]) == 1.2  # raw numbers, no text keys
  rows = list(csv.DictReader(open(paths["summary"])))
  assert float(rows[0]["std"]) == pytest.approx(np.std([0.2, 0.4, 0.9], ddof=1)) and rows[2]["std"] == "nan"
  md = open(paths["markdown"]).read().splitlines()
  assert md[0] == "my header" and "ddof=1" in md[1]
  assert md[5] == f"| b | 0.500 ± {np.std([0.2, 0.4, 0.9], ddof=1):.3f} |" and md[7] == "| c | 0.700 |"
  assert md[-1] == "a note"
  tex = open(paths["latex"]).read()
  assert tex.startswith("% my header\n% mean ± std") and r"\begin{tabular}{lr}" in tex and r"$\pm$" in tex


def test_write_tables_names_every_file(tmp_path):
  with pytest.raises(ValueError, match="latex"):
    tables.write_tables(str(tmp_path), records=[], key_fields=(), summary=[], table=tables.Table("h", [], []),
                        names={"runs": "a", "summary": "b", "markdown": "c"})


# ---- the UCR sweep's grid -----------------------------------------------------------------------------------

def test_ucr_grid_order_batch_and_milestones(tmp_path):
  sweep = ucr.Sweep(datasets=["ECG200", "Coffee"], workdir=str(tmp_path), gammas=(2.0, 0.5), seeds=2, epochs=3,
                    batch_size=128, probe_every=1, smoke=True)
  specs, plan = ucr.grid(sweep, {"ECG200": 100, "Coffee": 28}, devices=8)
  assert [(s.fields()["dataset"], s.fields()["seed"], s.fields()["model"]) for s in specs[:4]] == [
      ("ECG200", 0, "vqvae"), ("ECG200", 0, "barlow_g2"), ("ECG200", 0, "barlow_g0.5"), ("ECG200", 1, "vqvae")]
  assert plan["ECG200"] == {"batch": 96, "steps": 6, "steps_per_epoch": 2, "epochs": 3}
  assert plan["Coffee"]["batch"] == 24 and ucr.batch_size(128, 5, 8) == 8
  assert specs[0].eval_at == (0, 2, 4)
  config = specs[1].config()
  assert config.model.gamma == 2.0 and config.train.batch_size == 96 and config.optim.decay_steps == 6
  assert specs[1].rundir == os.path.join(str(tmp_path), "ECG200", "barlow_g2", "seed0")


def test_sweep_flags():
  from decompjax.commands import sweep
  args = sweep.parse(["ucr", "--datasets=A, B", "--gammas=2,0.5", "--workdir=w", "--config.eval.tsne=false"])
  assert args.dataset_list == ["A", "B"] and args.gamma_list == [2.0, 0.5]
  assert args.overrides == [("eval.tsne", "false")]  # applied to every run
  with pytest.raises(UsageError, match="own presets"):
    sweep.parse(["ucr", "--datasets=A", "--workdir=w", "--config=configs/vqvae_ucr.py"])
  with pytest.raises(UsageError, match="--steps=-1"):
    sweep.parse(["ucr", "--datasets=A", "--workdir=w", "--steps=-1"])
  with pytest.raises(UsageError, match="--gammas"):
    sweep.parse(["ucr", "--datasets=A", "--workdir=w", "--gammas=1,x"])
