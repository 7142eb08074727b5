"""`make bench`: runs every benchmark module's `run()` and prints one table.

Each module in MODULES exposes `run() -> list[dict(name, value, unit)]` and may set `CPU_DEVICES`, the CPU
device split its models train with by default (their presets' `config.mesh.cpu_devices`; 1 if unset). Every
module runs in a fresh Python process, because JAX fixes the CPU device count when it starts;
`--cpu_devices=N|auto` overrides it for all of them. Timings depend on the machine: the header prints what ran
them. `python -m benchmarks.run_all [--cpu_devices=N] [substring ...]` runs a subset.
"""
from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
import time

MODULES = [
    "benchmarks.bench_syntone_train",
    "benchmarks.bench_mel",
    "benchmarks.bench_metrics",
    "benchmarks.bench_metrics_vs_dlib",  # reports a skip without the bench extra
    "benchmarks.bench_vqvae",
    "benchmarks.bench_barlow_wide",
    "benchmarks.bench_autodecompose",
    "benchmarks.bench_bss_eval",
    "benchmarks.bench_decomposition",
    "benchmarks.bench_decvae_step",
    "benchmarks.bench_state_layouts",
    "benchmarks.bench_vs_torch",
]

_CHILD = """
import importlib, json, sys
from decompjax import cpu_devices
module = importlib.import_module(sys.argv[1])
cpu_devices.configure(sys.argv[2] if len(sys.argv) > 2 else getattr(module, "CPU_DEVICES", 1))
import jax
rows = module.run()
print("@@ROWS@@" + json.dumps({"devices": jax.device_count(), "rows": rows}, default=float))
"""


def run_module(name: str, cpu_devices: str | None = None) -> dict:
  """Runs `name`.run() in a fresh interpreter (on `cpu_devices`, else the module's CPU_DEVICES); returns
  {'devices': n, 'rows': [...]}."""
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  args = [sys.executable, "-c", _CHILD, name] + ([cpu_devices] if cpu_devices is not None else [])
  out = subprocess.run(args, cwd=root, capture_output=True, text=True)
  for line in out.stdout.splitlines():
    if line.startswith("@@ROWS@@"):
      return json.loads(line[len("@@ROWS@@"):])
  tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
  raise RuntimeError(f"exit {out.returncode}: {tail}")


def main(argv: list[str]) -> int:
  import jax  # for the version only; JAX's backends are not started in this process

  from decompjax import cli, cpu_devices
  argv, split = cli.pop_cpu_devices_flag(argv)
  if split is not None:
    cpu_devices.parse(split)  # a bad value fails before any benchmark runs
  wanted = [m for m in MODULES if (not argv or any(a in m for a in argv)) and importlib.util.find_spec(m)]
  print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, jax {jax.__version__}"
        + (f", --cpu_devices={split}" if split is not None else ""))
  failures = 0
  print(f"{'benchmark':<24} {'measurement':<52} {'value':>12}  unit")
  print("-" * 100)
  for name in wanted:
    short = name.split(".")[-1]
    t0 = time.perf_counter()
    try:  # report and carry on: one broken benchmark should not hide the others
      result = run_module(name, split)
    except Exception as e:  # noqa: BLE001
      print(f"{short:<24} FAILED: {type(e).__name__}: {e}")
      failures += 1
      continue
    for r in result["rows"]:
      value = f"{r['value']:>12.3f}" if isinstance(r["value"], (int, float)) else f"{r['value']!s:>12}"
      print(f"{short:<24} {r['name']:<52} {value}  {r['unit']}")
    print(f"{'':<24} {'(devices, benchmark wall time)':<52} {result['devices']:>5} {time.perf_counter() - t0:>6.1f}  s")
  return 1 if failures else 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
