"""decompjax vs PyTorch transcriptions of the originals, side by side in one process on this machine.

Pairs (decompjax as its presets train it, on the preset's CPU device split; torch on every core):
  syntone_model : SynTone beta-VAE train step on precomputed mels, batch 64 (VAEDeep + Adam);
  syntone_e2e   : SynTone end to end over the same number of clips: decompjax's tf.data -> device -> step (mel on
                  device) vs the original's DataLoader whose Dataset computes each clip's librosa mel;
  vqvae         : STFT VQ-VAE train step, L 140, batch 128 (configs/vqvae_ucr.py);
  barlow_p512   : Barlow VQ-VAE train step, projector 512 (configs/barlow_vqvae_ucr.py:cpu). decompjax's step
                  includes its on-device augmentation of both views; torch gets two ready views (the original
                  augmented them per item in numpy, outside the step), so torch does less work here.
The two sides alternate for `rounds` rounds (the first of each round alternates too), each a window of a few
steps after warm-up; ratio = torch time / decompjax time (> 1: decompjax faster), min / median / max over the
rounds, because this VM's speed drifts by tens of percent between windows. Targets are ratios (issue 14 §4).
The PyTorch models are benchmarks/torch_ref (torch is the optional `bench` extra); without torch this reports
that and runs nothing.
Run: python -m benchmarks.bench_vs_torch [--rounds=N] [pair ...]
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

CPU_DEVICES = 0  # every preset measured here: mesh.cpu_devices = 0 (auto)

TARGETS = {"syntone_model": 1.5, "syntone_e2e": 4.0, "vqvae": 1.5, "barlow_p512": 1.5}
TITLES = {"syntone_model": "SynTone beta-VAE step, batch 64, model only",
          "syntone_e2e": "SynTone end to end, batch 64 (clips)",
          "vqvae": "STFT VQ-VAE step, L 140, batch 128",
          "barlow_p512": "Barlow VQ-VAE step, projector 512, L 140, batch 128"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYNTONE_PRESET = os.path.join(ROOT, "configs", "syntone_beta_vae.py")


def torch_missing() -> str | None:
  """None when torch imports, else why not (the message the benchmark prints instead of running)."""
  try:
    import torch  # noqa: F401
  except ImportError as e:
    return (f"torch is not installed ({e}); install the bench extra: pip install -e .[bench] "
            "(CPU-only wheels: pip install torch --index-url https://download.pytorch.org/whl/cpu)")
  return None


class Pair:
  """Two window functions, each running `steps` steps (warmed up already) and returning seconds per unit.
  `flops`: XLA's cost analysis of one decompjax step (None where not computed)."""

  def __init__(self, key, unit, jax_window, torch_window, flops=None, per_step=1):
    self.key, self.unit, self.jax_window, self.torch_window = key, unit, jax_window, torch_window
    self.flops, self.per_step = flops, per_step


def alternate(first, second, rounds: int) -> tuple[list[float], list[float]]:
  """Times `first` and `second` alternately, `rounds` times each, swapping which goes first every round."""
  a, b = [], []
  for r in range(rounds):
    if r % 2 == 0:
      a.append(first())
      b.append(second())
    else:
      b.append(second())
      a.append(first())
  return a, b


def _jax_window(step, state, batches, steps):
  """Window fn over a jitted (state, batch, rng) -> (state, metrics) step; `batches(i)` gives step i's batch."""
  import jax
  box = {"state": state, "i": 0}

  def run_steps(n):
    for _ in range(n):
      box["state"], m = step(box["state"], batches(box["i"]), jax.random.key(box["i"]))
      box["i"] += 1
    jax.block_until_ready(m)

  run_steps(3)  # compile + first executions (allocations, thread pools)

  def window():
    t0 = time.perf_counter()
    run_steps(steps)
    return (time.perf_counter() - t0) / steps

  return window


def _torch_window(step_fn, steps):
  for _ in range(2):
    step_fn()

  def window():
    t0 = time.perf_counter()
    for _ in range(steps):
      step_fn()
    return (time.perf_counter() - t0) / steps

  return window


def step_flops(step, *args) -> float | None:
  """FLOPs of one call of a jitted step, from XLA's cost analysis of its unpartitioned HLO (global batch)."""
  try:
    cost = step.lower(*args).cost_analysis()
  except Exception:  # noqa: BLE001  (some backends do not implement it)
    return None
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  return float(cost.get("flops", 0.0)) or None


# --- the pairs -------------------------------------------------------------------------------------------------

def _syntone_config():
  from decompjax import config_utils
  data_dir = os.environ.get("DECOMPJAX_BENCH_DATA", os.path.join(tempfile.gettempdir(), "decompjax_bench_data"))
  # The demo grid (2,000 clips) with the original's front end (per-frame max-normalised mel), which the torch
  # side computes with librosa.
  return config_utils.build_config(SYNTONE_PRESET + ":demo", [("data.dir", data_dir), ("train.batch_size", "64"),
                                                             ("audio.frontend", "syntone")])


def syntone_pairs(steps: int, which: set[str]) -> list[Pair]:
  import jax
  import numpy as np
  import torch

  from benchmarks import bench_syntone_train
  from benchmarks.timing import train_step_on_mesh
  from benchmarks.torch_ref import syntone as ts
  from decompjax import input_pipeline, sharding, train
  from decompjax.data import syntone
  from decompjax.families.syntone_vae import data as sv_data, family as sv_family, model as sv_model

  config = _syntone_config()
  batch = config.train.batch_size
  mesh = sharding.make_mesh()
  it = input_pipeline.batched_numpy(sv_data.make_dataset(config, "train"), batch, seed=0, shuffle_buffer=10_000,
                                    cache=True)
  host_batches = [next(it) for _ in range(4)]
  pairs = []
  if "syntone_model" in which:
    tx = sv_family.BETA_VAE.make_tx(config)
    state0 = sv_family.BETA_VAE.init_state(config, jax.random.key(0), host_batches[0], tx)
    shardings = train.make_state_shardings(state0, mesh)
    step = bench_syntone_train.model_only_step(config, tx, mesh, shardings)
    mels = bench_syntone_train.precomputed_mels(config, mesh, host_batches)
    state = jax.device_put(state0, shardings)
    flops = step_flops(step, state, mels[0], jax.random.key(0))
    trainer = ts.BetaVAETrainer(config.model.latent_dim, (1,) + tuple(mels[0].shape[1:3]), config.model.beta)
    torch_mels = [torch.from_numpy(np.asarray(m).transpose(0, 3, 1, 2).copy()) for m in mels]  # NHWC -> NCHW
    box = {"i": 0}

    def torch_step():
      trainer.step(torch_mels[box["i"] % len(torch_mels)])
      box["i"] += 1

    pairs.append(Pair("syntone_model", "ms/step", _jax_window(step, state, lambda i: mels[i % len(mels)], steps),
                      _torch_window(torch_step, steps), flops))
  if "syntone_e2e" in which:
    state, step, dev_batch = train_step_on_mesh(sv_family.BETA_VAE, config, host_batches[0])
    flops = step_flops(step, state, dev_batch, jax.random.key(0))
    jax_window = _jax_window(step, state, lambda i: sharding.to_global_batch(next(it), mesh), steps)
    # The original's data: the same train clips, float64 in memory (its .npz), mel per item in the DataLoader.
    grid = sv_data.grid_from_config(config)
    train_idx, _ = syntone.split_indices(grid.num_examples)
    waves = syntone.synthesize(grid, train_idx, dtype=np.float64)
    labels = syntone.factor_indices(grid, train_idx)[:, 0].astype(np.int64)
    loader = ts.original_loader(waves, labels, batch)
    h, w, c = sv_model.input_shape(config)
    trainer = ts.BetaVAETrainer(config.model.latent_dim, (c, h, w), config.model.beta)
    box = {"it": iter(loader)}

    def torch_step():
      try:
        _, mel, _ = next(box["it"])
      except StopIteration:  # next epoch, as the original's epoch loop
        box["it"] = iter(loader)
        _, mel, _ = next(box["it"])
      trainer.step(mel)

    pairs.append(Pair("syntone_e2e", "ms/clip", lambda: jax_window() / batch,
                      (lambda w: lambda: w() / batch)(_torch_window(torch_step, steps)), flops, per_step=batch))
  return pairs


def ucr_pairs(steps: int, which: set[str], length: int = 140, batch: int = 128) -> list[Pair]:
  import jax
  import numpy as np
  import torch

  from benchmarks.timing import train_step_on_mesh
  from benchmarks.torch_ref import vqvae as tv
  from configs import barlow_vqvae_ucr, vqvae_ucr
  from decompjax.families.vqvae import family as vq_family

  rng = np.random.default_rng(0)
  x = rng.normal(size=(batch, length, 1)).astype(np.float32)  # N(0, 1) series of ECG5000's shape
  host = {"x": x, "label": np.zeros(batch, np.int32)}
  xt = torch.from_numpy(x.transpose(0, 2, 1).copy())
  pairs = []
  cases = [("vqvae", vq_family.VQVAE, vqvae_ucr.get_config()),
           ("barlow_p512", vq_family.BARLOW_VQVAE, barlow_vqvae_ucr.get_config("cpu"))]
  for key, family, config in cases:
    if key not in which:
      continue
    state, step, dev_batch = train_step_on_mesh(family, config, host)
    flops = step_flops(step, state, dev_batch, jax.random.key(0))
    torch.manual_seed(0)
    model = tv.VQVAE(length, 1, config.model.n_fft, config.model.dim, config.model.n_resnet_blocks,
                     config.model.downsampled_width, config.model.codebook_size)
    if key == "vqvae":
      trainer = tv.VQVAETrainer(model, steps=config.optim.decay_steps)
      torch_step = lambda t=trainer: t.step(xt)
    else:
      trainer = tv.BarlowTrainer(tv.BarlowVQVAE(model, config.model.projector_width), config.model.gamma,
                                 config.model.bt_lambda, steps=config.optim.decay_steps)
      # two ready views: amplitude-rescaled + jittered copies (the original's numpy augmentations' kind)
      v1 = xt * (1 + 0.1 * torch.randn(batch, 1, 1)) + 0.1 * torch.randn_like(xt)
      v2 = xt * (1 + 0.1 * torch.randn(batch, 1, 1)) + 0.1 * torch.randn_like(xt)
      torch_step = lambda t=trainer: t.step(v1, v2)
    pairs.append(Pair(key, "ms/step", _jax_window(step, state, lambda i, b=dev_batch: b, steps),
                      _torch_window(torch_step, steps), flops))
  return pairs


# --- running and reporting -------------------------------------------------------------------------------------

def peak_flops() -> tuple[float, str]:
  """This CPU's nominal FP32 peak: cores x MHz (/proc/cpuinfo) x FLOPs per cycle (FMA: 2 pipes x lanes x 2)."""
  mhz, flags = 0.0, ""
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("cpu MHz") and not mhz:
          mhz = float(line.split(":")[1])
        elif line.startswith("flags") and not flags:
          flags = line
  except OSError:
    return 0.0, "unknown"
  lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
  per_cycle = 2 * lanes * 2 if "fma" in flags else lanes * 2
  cores = os.cpu_count() or 1
  return cores * mhz * 1e6 * per_cycle, f"{cores} cores x {mhz / 1e3:.2f} GHz x {per_cycle} FLOP/cycle"


def summarise(pair: Pair, jax_t: list[float], torch_t: list[float]) -> dict:
  import numpy as np
  ratios = np.array(torch_t) / np.array(jax_t)
  jax_s = float(np.median(jax_t))
  row = dict(pair=pair.key, title=TITLES[pair.key], unit=pair.unit, decompjax=jax_s * 1e3,
             torch=float(np.median(torch_t)) * 1e3, ratio_min=float(ratios.min()),
             ratio_median=float(np.median(ratios)), ratio_max=float(ratios.max()), target=TARGETS[pair.key],
             rounds=len(ratios))
  row["met"] = row["ratio_median"] >= row["target"]
  if pair.flops:
    row["gflops_per_s"] = pair.flops / (jax_s * pair.per_step) / 1e9
  return row


def iter_pairs(rounds: int = 4, which=None, steps=None):
  """Yields each pair's summary row as soon as it is measured."""
  which = set(which or TARGETS)
  steps = dict(dict(syntone_model=8, syntone_e2e=8, vqvae=4, barlow_p512=3), **(steps or {}))
  makers = {"syntone_model": syntone_pairs, "syntone_e2e": syntone_pairs, "vqvae": ucr_pairs,
            "barlow_p512": ucr_pairs}
  for key in TARGETS:
    if key in which:
      for pair in makers[key](steps[key], {key}):  # one pair built and timed at a time
        yield summarise(pair, *alternate(pair.jax_window, pair.torch_window, rounds))


def run_pairs(rounds: int = 4, which=None, steps=None) -> list[dict]:
  return list(iter_pairs(rounds, which, steps))


def run(rounds: int = 4) -> list[dict]:
  """run_all's entry: rows of (name, value, unit)."""
  missing = torch_missing()
  if missing:
    return [dict(name="skipped: torch not installed (pip install -e .[bench])", value="-", unit="")]
  from benchmarks.torch_ref import configure_threads
  configure_threads()
  out = []
  for r in run_pairs(rounds):
    out.append(dict(name=f"{r['pair']} decompjax / torch", value=f"{r['decompjax']:.1f}/{r['torch']:.1f}",
                    unit=r["unit"]))
    out.append(dict(name=f"{r['pair']} speed ratio, median of {r['rounds']}", value=r["ratio_median"],
                    unit=f"x (min {r['ratio_min']:.2f}, max {r['ratio_max']:.2f}; target {r['target']:g}: "
                         f"{'met' if r['met'] else 'not met'})"))
  return out


def print_table(rows) -> None:
  """Prints rows (any iterable: each line appears as its pair finishes)."""
  peak, how = peak_flops()
  print(f"{'pair':<52} {'decompjax':>10} {'torch':>10} {'unit':<8} {'ratio min / median / max':>26} "
        f"{'target':>7}  met    GFLOP/s (% peak)", flush=True)
  for r in rows:
    flop = ""
    if "gflops_per_s" in r:
      flop = f"{r['gflops_per_s']:.1f}" + (f" ({100 * r['gflops_per_s'] * 1e9 / peak:.0f} %)" if peak else "")
    ratios = f"{r['ratio_min']:.2f} / {r['ratio_median']:.2f} / {r['ratio_max']:.2f}"
    print(f"{r['title']:<52} {r['decompjax']:>10.2f} {r['torch']:>10.2f} {r['unit']:<8} {ratios:>26} "
          f"{r['target']:>6g}x  {'yes' if r['met'] else 'no':<5}  {flop}", flush=True)
  print(f"nominal FP32 peak: {peak / 1e9:.0f} GFLOP/s ({how}); GFLOP/s = XLA cost-analysis FLOPs of the decompjax "
        "step / its median time. GPU step time and MFU: not measured (no GPU in this run).")


def main(argv: list[str]) -> int:
  rounds = 4
  rest = []
  for a in argv:
    if a.startswith("--rounds="):
      rounds = int(a.split("=", 1)[1])
    else:
      rest.append(a)
  unknown = [a for a in rest if a not in TARGETS]
  if unknown or rounds < 1:
    print(f"usage: python -m benchmarks.bench_vs_torch [--rounds=N] [{' | '.join(TARGETS)} ...]", file=sys.stderr)
    return 2
  missing = torch_missing()
  if missing:
    print(f"bench_vs_torch skipped: {missing}")
    return 0
  from decompjax import cpu_devices
  cpu_devices.configure(CPU_DEVICES)
  import jax
  import platform

  from benchmarks.torch_ref import configure_threads
  threads = configure_threads()
  print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs; jax {jax.__version__} on {jax.device_count()} CPU devices; {threads}; "
        f"{rounds} alternating rounds; load average {os.getloadavg()[0]:.1f}", flush=True)
  print_table(iter_pairs(rounds, rest or None))
  print(f"load average at the end: {os.getloadavg()[0]:.1f}")
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
