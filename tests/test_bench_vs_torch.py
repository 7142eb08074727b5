"""benchmarks/bench_vs_torch.py: its PyTorch transcriptions are the same models as decompjax's (parameter shapes and
output shapes, so the timed comparison is like for like), and without torch it reports that and runs nothing.
The torch tests skip where torch is not installed (CI); shapes come from jax.eval_shape, so nothing big runs."""
from __future__ import annotations

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks import bench_vs_torch


def _sizes(tree) -> list[int]:
  return sorted(int(np.prod(a.shape)) for a in jax.tree.leaves(tree))


def test_without_torch_reports_and_runs_nothing(monkeypatch, capsys):
  monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
  assert "torch is not installed" in bench_vs_torch.torch_missing()
  assert bench_vs_torch.run()[0]["name"].startswith("skipped: torch not installed")
  assert bench_vs_torch.main([]) == 0
  assert "bench_vs_torch skipped" in capsys.readouterr().out


def test_alternate_swaps_the_order_and_ratios_are_torch_over_decompjax():
  calls = []
  a, b = bench_vs_torch.alternate(lambda: calls.append("a") or 1.0, lambda: calls.append("b") or 3.0, 3)
  assert calls == ["a", "b", "b", "a", "a", "b"] and a == [1.0] * 3 and b == [3.0] * 3
  pair = bench_vs_torch.Pair("vqvae", "ms/step", None, None)
  row = bench_vs_torch.summarise(pair, [1.0, 2.0, 1.0], [3.0, 3.0, 6.0])
  assert (row["ratio_min"], row["ratio_median"], row["ratio_max"], row["met"]) == (1.5, 3.0, 6.0, True)


def test_vaedeep_transcription_matches_decompjax():
  torch = pytest.importorskip("torch")
  from benchmarks.torch_ref import syntone as ts
  from decompjax import config_utils
  from decompjax.families.syntone_vae import model as sv_model
  config = config_utils.build_config(bench_vs_torch.SYNTONE_PRESET, [])
  params = jax.eval_shape(lambda: sv_model.init_vae_params(config, jax.random.key(0)))
  h, w, c = sv_model.input_shape(config)
  net = ts.VAEDeep(config.model.latent_dim, (c, h, w))
  assert _sizes(params) == sorted(p.numel() for p in net.parameters())
  assert sum(p.numel() for p in net.parameters()) == 1_117_521
  x_hat, mu, _ = net(torch.rand(2, c, h, w))
  jx = jax.eval_shape(lambda p, x: sv_model.make_model(config).apply({"params": p}, x, jax.random.key(0)),
                      params, jax.ShapeDtypeStruct((2, h, w, c), jnp.float32))
  assert tuple(x_hat.permute(0, 2, 3, 1).shape) == jx[0].shape and tuple(mu.shape) == jx[1].shape


@pytest.mark.parametrize("barlow", [False, True])
def test_vqvae_transcriptions_match_decompjax(barlow):
  torch = pytest.importorskip("torch")
  from benchmarks.torch_ref import vqvae as tv
  from configs import barlow_vqvae_ucr, vqvae_ucr
  from decompjax.families.vqvae import model as vq_model
  length = 140
  config = barlow_vqvae_ucr.get_config("cpu") if barlow else vqvae_ucr.get_config()
  m = config.model
  net = tv.VQVAE(length, 1, m.n_fft, m.dim, m.n_resnet_blocks, m.downsampled_width, m.codebook_size)
  x = jax.ShapeDtypeStruct((2, length, 1), jnp.float32)
  if barlow:
    model = vq_model.build_barlow(config, length, 1)
    variables = jax.eval_shape(lambda a: model.init({"params": jax.random.key(0)}, a, a, True, train=False), x)
    net = tv.BarlowVQVAE(net, m.projector_width)
  else:
    model = vq_model.build_vqvae(config, length, 1)
    variables = jax.eval_shape(lambda a: model.init({"params": jax.random.key(0)}, a, train=False), x)
  assert _sizes(variables["params"]) == sorted(p.numel() for p in net.parameters())
  # BatchNorm running statistics (torch buffers, Flax batch_stats) and the EMA codebook agree too.
  buffers = {n: b for n, b in net.named_buffers() if not n.endswith("num_batches_tracked")}
  torch_sizes = [b.numel() for b in buffers.values()] + [1]  # Flax's vq also holds an 'initted' flag
  assert _sizes((variables["batch_stats"], variables["vq"])) == sorted(torch_sizes)
  vq = net.vqvae if barlow else net
  vq.eval()
  out = vq(torch.randn(2, 1, length))
  plain = vq_model.build_vqvae(config, length, 1)
  pv = jax.eval_shape(lambda a: plain.init({"params": jax.random.key(0)}, a, train=False), x)
  jo = jax.eval_shape(lambda v, a: plain.apply(v, a, train=False), pv, x)
  nhwc = lambda t: tuple(t.permute(0, 2, 3, 1).shape)
  assert nhwc(out["u_hat"]) == jo["u_hat"].shape and nhwc(out["z"]) == jo["z"].shape
  assert tuple(out["x_hat"].transpose(1, 2).shape) == jo["x_hat"].shape
