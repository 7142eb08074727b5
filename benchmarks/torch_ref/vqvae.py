"""The STFT VQ-VAE and the Barlow-Twins VQ-VAE ([BT] erlendlokna/Barlow-Twins-VQVAE, after TimeVQVAE) in
PyTorch, from shared/specs/vqvae_barlow.md, with their training steps: AdamW (lr 1e-3, weight decay 1e-3,
cosine schedule per step), loss = time MSE + STFT MSE + commitment (beta 1) [+ gamma * Barlow / width].

Series are (B, C, L) as in the original. Deliberate match to decompjax's defaults (not the original's defects):
the projector is in the optimizer (the original left it out); the rest follows the original, including one
encoder pass and one EMA codebook update per view.
"""
from __future__ import annotations

import math
import random

import torch
import torch.nn.functional as F
from torch import nn


def downsample_rate(length: int, n_fft: int, width: int) -> int:
  return 1 if length < width else max(1, round(length / (math.log2(n_fft) - 1) / width))


def num_down_blocks(rate: int) -> int:
  return max(1, int(math.log2(rate)))


def stft(x, n_fft: int):
  """(B, C, L) -> (B, 2C, n_fft/2+1, 1+L//hop): torch.stft, rectangular window, hop n_fft/4, center, reflect;
  real and imaginary parts as channels 2c, 2c+1."""
  b, c, length = x.shape
  s = torch.stft(x.reshape(b * c, length), n_fft, hop_length=n_fft // 4, window=torch.ones(n_fft),
                 return_complex=True)
  s = torch.stack([s.real, s.imag], dim=1)  # (B*C, 2, F, T)
  return s.reshape(b, 2 * c, *s.shape[-2:])


def istft(u, n_fft: int, length: int):
  b, c2, f, t = u.shape
  s = u.reshape(b * c2 // 2, 2, f, t)
  x = torch.istft(torch.complex(s[:, 0], s[:, 1]), n_fft, hop_length=n_fft // 4, window=torch.ones(n_fft),
                  length=length)
  return x.reshape(b, c2 // 2, length)


class ResBlock(nn.Module):
  """x + [LeakyReLU -> Conv3x3 -> (BN) -> LeakyReLU -> Conv1x1](x) (dropout 0 omitted)."""

  def __init__(self, d: int, bn: bool):
    super().__init__()
    self.convs = nn.Sequential(nn.LeakyReLU(0.01), nn.Conv2d(d, d, 3, 1, 1),
                               nn.BatchNorm2d(d) if bn else nn.Identity(), nn.LeakyReLU(0.01), nn.Conv2d(d, d, 1))

  def forward(self, x):
    return x + self.convs(x)


class Encoder(nn.Sequential):
  def __init__(self, cin: int, d: int, n_down: int, n_res: int):
    layers = []
    for i in range(n_down):
      layers += [nn.Conv2d(cin if i == 0 else d, d, (3, 4), (1, 2), (1, 1), padding_mode="replicate"),
                 nn.BatchNorm2d(d), nn.LeakyReLU(0.01)]
    for _ in range(n_res):
      layers += [ResBlock(d, bn=True), nn.BatchNorm2d(d)]
    super().__init__(*layers)


class Decoder(nn.Module):
  def __init__(self, cout: int, d: int, n_down: int, n_res: int, size):
    super().__init__()
    up = lambda a, b: nn.ConvTranspose2d(a, b, (3, 4), (1, 2), (1, 1))
    layers = []
    for _ in range(n_res):
      layers += [ResBlock(d, bn=False), nn.BatchNorm2d(d)]
    for _ in range(n_down - 1):
      layers += [up(d, d), nn.BatchNorm2d(d), nn.LeakyReLU(0.01)]
    layers += [up(d, cout), up(cout, cout)]  # the original's "one more upsampling layer"
    self.net, self.size = nn.Sequential(*layers), size

  def forward(self, z):
    return F.interpolate(self.net(z), size=self.size, mode="bilinear", align_corners=True)


class EMAQuantizer(nn.Module):
  """Nearest of K codes (buffer, N(0,1) init), EMA update in training (decay 0.8, Laplace eps 1e-5),
  straight-through z_q; returns (z_q, q without gradient, indices)."""

  def __init__(self, k: int = 32, d: int = 64, decay: float = 0.8, eps: float = 1e-5):
    super().__init__()
    embed = torch.randn(k, d)
    self.register_buffer("embed", embed)
    self.register_buffer("embed_avg", embed.clone())
    self.register_buffer("cluster_size", torch.zeros(k))
    self.k, self.decay, self.eps = k, decay, eps

  def forward(self, z):  # (B, D, H, W)
    b, d, h, w = z.shape
    flat = z.detach().permute(0, 2, 3, 1).reshape(-1, d)
    with torch.no_grad():
      dist = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.embed.t() + self.embed.pow(2).sum(1)[None]
      idx = dist.argmin(1)
      q = self.embed[idx].reshape(b, h, w, d).permute(0, 3, 1, 2)
      if self.training:
        onehot = F.one_hot(idx, self.k).float()
        self.cluster_size.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        self.embed_avg.mul_(self.decay).add_(onehot.t() @ flat, alpha=1 - self.decay)
        n = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.eps) / (n + self.k * self.eps) * n
        self.embed.copy_(self.embed_avg / smoothed[:, None])
    return z + (q - z).detach(), q, idx.reshape(b, h, w)


class VQVAE(nn.Module):
  def __init__(self, length: int, channels: int = 1, n_fft: int = 8, dim: int = 64, n_res: int = 4,
               downsampled_width: int = 8, codebook_size: int = 32):
    super().__init__()
    n_down = num_down_blocks(downsample_rate(length, n_fft, downsampled_width))
    self.length, self.n_fft = length, n_fft
    self.encoder = Encoder(2 * channels, dim, n_down, n_res)
    self.vq = EMAQuantizer(codebook_size, dim)
    self.decoder = Decoder(2 * channels, dim, n_down, n_res, (n_fft // 2 + 1, 1 + length // (n_fft // 4)))

  def encode(self, x):
    u = stft(x, self.n_fft)
    return u, self.encoder(u)

  def decode(self, z_q):
    u_hat = self.decoder(z_q)
    return u_hat, istft(u_hat, self.n_fft, self.length)

  def forward(self, x):
    u, z = self.encode(x)
    z_q, q, idx = self.vq(z)
    u_hat, x_hat = self.decode(z_q)
    return dict(u=u, z=z, q=q, idx=idx, u_hat=u_hat, x_hat=x_hat)


def recon_loss(x, out):
  return (F.mse_loss(out["x_hat"], x) + F.mse_loss(out["u_hat"], out["u"])
          + F.mse_loss(out["z"], out["q"]))  # commitment mse(sg(q), z), weight 1


class Projector(nn.Sequential):
  def __init__(self, d: int = 64, width: int = 4096):
    super().__init__(nn.Linear(d, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, width),
                     nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, width))


def barlow_twins_loss(z1, z2, lam: float = 0.005):
  b = z1.shape[0]
  n1 = (z1 - z1.mean(0)) / z1.std(0)  # unbiased std, as the original
  n2 = (z2 - z2.mean(0)) / z2.std(0)
  c = n1.t() @ n2 / b
  diag = torch.diagonal(c)
  return (1 - diag).pow(2).sum() + lam * (c.pow(2).sum() - diag.pow(2).sum())


class BarlowVQVAE(nn.Module):
  def __init__(self, vqvae: VQVAE, width: int = 4096):
    super().__init__()
    self.vqvae, self.projector, self.width = vqvae, Projector(vqvae.vq.embed.shape[1], width), width

  def forward(self, x1, x2, pick_first: bool):
    """The original's BarlowTwinsVQVAE.forward: each view through the shared encoder and quantiser (one EMA
    update each), projector on each view's max-pooled pre-quantisation latent, one view decoded."""
    (u1, z1), (u2, z2) = self.vqvae.encode(x1), self.vqvae.encode(x2)
    zq1, q1, i1 = self.vqvae.vq(z1)
    zq2, q2, i2 = self.vqvae.vq(z2)
    e1, e2 = self.projector(z1.amax((2, 3))), self.projector(z2.amax((2, 3)))
    x, u, z, zq, q = (x1, u1, z1, zq1, q1) if pick_first else (x2, u2, z2, zq2, q2)
    u_hat, x_hat = self.vqvae.decode(zq)
    return x, dict(u=u, z=z, q=q, u_hat=u_hat, x_hat=x_hat, e1=e1, e2=e2)


class Trainer:
  """AdamW(1e-3, weight decay 1e-3) with a per-step cosine schedule over `steps`; `step(...)` -> loss."""

  def __init__(self, model: nn.Module, steps: int = 1500, lr: float = 1e-3, weight_decay: float = 1e-3):
    self.model = model
    self.opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt, T_max=steps)

  def _apply(self, loss):
    self.opt.zero_grad(set_to_none=True)
    loss.backward()
    self.opt.step()
    self.sched.step()
    return loss.detach()


class VQVAETrainer(Trainer):
  def step(self, x):
    self.model.train()
    return self._apply(recon_loss(x, self.model(x)))


class BarlowTrainer(Trainer):
  def __init__(self, model: BarlowVQVAE, gamma: float = 1.0, lam: float = 0.005, seed: int = 0, **kw):
    super().__init__(model, **kw)
    self.gamma, self.lam, self.coin = gamma, lam, random.Random(seed)

  def step(self, x1, x2):
    """x1, x2: the two augmented views (the original made them per item in its Dataset, in numpy)."""
    self.model.train()
    x, out = self.model(x1, x2, self.coin.random() < 0.5)
    bt = barlow_twins_loss(out["e1"], out["e2"], self.lam) / self.model.width
    return self._apply(recon_loss(x, out) + self.gamma * bt)
