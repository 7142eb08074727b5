"""Train-step time of the Barlow VQ-VAE with the original's 4096-wide projector (L=140, batch 128), on the one
multi-threaded CPU device its preset uses (configs/barlow_vqvae_ucr.py: mesh.cpu_devices = 1; its big matmuls
ran 3x slower split over 4 devices). Reference: the original PyTorch module, ~1600 ms/step on a 2-core CPU.
Run: python -m benchmarks.bench_barlow_wide
"""
from __future__ import annotations

from benchmarks import bench_vqvae

CPU_DEVICES = 1


def run() -> list[dict]:
  return bench_vqvae.run(plain=False, projector_widths=(4096,))


if __name__ == "__main__":
  from decompjax import cpu_devices
  cpu_devices.configure(CPU_DEVICES)
  for r in run():
    print(r)
