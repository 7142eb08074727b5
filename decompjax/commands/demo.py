"""decompjax demo [--workdir=runs/demo] [--steps=N]: the quick start.

Generates a reduced SynTone grid (4 waveforms x 50 band-limited frequencies in 440-2000 Hz x 10 amplitudes = 2,000
clips), trains a beta-VAE on it (configs/syntone_beta_vae.py:showcase, a showcase preset, not the benchmark's
protocol), evaluates it and prints where everything went, and which figure to open first. Re-running resumes/reuses.
"""
from __future__ import annotations

import json
import os
import time

from decompjax import config_utils, cpu_devices
from decompjax.commands import parsing


def main(argv: list[str]) -> int:
  p = parsing.Parser("decompjax demo", __doc__)
  p.add_argument("--workdir", default="runs/demo")
  p.add_argument("--steps", type=int, default=None)
  p.add_argument("--data-dir", default=None, help="where the generated grid goes (default: <workdir>/data)")
  args = p.parse_args(argv)
  workdir = os.path.abspath(args.workdir)
  overrides = [("data.dir", args.data_dir or os.path.join(workdir, "data"))]
  if args.steps is not None:  # --steps=0 is refused by the config rules, not replaced by the default
    overrides.append(("train.steps", str(args.steps)))
  config = config_utils.build_config(config_utils.preset_path("syntone_beta_vae.py") + ":showcase", overrides)
  cpu_devices.configure_for(config)  # once, here at the entry: JAX fixes the split when it starts

  from decompjax import registry, train
  t0 = time.time()
  print(f"[1/3] generating the SynTone demo grid into {config.data.dir} and training "
        f"{config.model.family} (beta={config.model.beta}) for {config.train.steps} steps")
  config.train.eval_at_end = False  # step [2/3] below evaluates (and reports) it
  state = train.train_and_evaluate(config, workdir)
  t1 = time.time()
  print(f"[2/3] trained in {t1 - t0:.0f}s; evaluating")
  from decompjax.evaluation import report
  results = report.evaluate_and_write(registry.get_family(config.model.family), config, state, workdir)
  keys = [k for k in ("recon_mse", "recon_mse_mean_image", "mig", "probe_waveform_accuracy",
                      "probe_frequency_accuracy", "probe_amplitude_accuracy") if k in results]
  print(f"[3/3] evaluated in {time.time() - t1:.0f}s: " + json.dumps({k: round(results[k], 4) for k in keys}))
  chance = {k: round(results[k], 3) for k in results if k.startswith("probe_") and k.endswith("_chance")}
  print(f"      (recon_mse_mean_image: a decoder that ignores its input; probe chance levels: {json.dumps(chance)})")
  eval_dir = os.path.join(workdir, "eval")
  print(f"\nopen first   {os.path.join(eval_dir, 'reconstructions.png')} (input vs reconstruction), then "
        f"{os.path.join(eval_dir, 'traversal.png')} (one latent varied per row)")
  print(f"workdir      {workdir}")
  print(f"checkpoints  {os.path.join(workdir, 'checkpoints')}")
  print(f"metrics      {os.path.join(eval_dir, 'metrics.json')}")
  print(f"figures      {', '.join(f for f in results['files'] if f.endswith('.png'))}")
  print(f"audio        {', '.join(f for f in results['files'] if f.endswith('.wav'))}")
  print(f"tensorboard  tensorboard --logdir {os.path.join(workdir, 'tensorboard')}")
  return 0
