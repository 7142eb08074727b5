"""SynTone (yusufbrima/SynTone) in PyTorch, from shared/specs/syntone.md: VAEDeep, the beta-VAE training step
(Adam 1e-3, batch 64) and the original's data path, a Dataset computing each clip's librosa mel (n_fft 2048,
hop 512, 128 mels, then per-frame max normalisation) in __getitem__, batched by a DataLoader (shuffle, no
workers: the original's trainer.py). The loss is decompjax's per-sample beta-VAE loss (configs/
syntone_beta_vae.py: mean over the batch of summed squared error + beta * KL), so both sides run the same
arithmetic.
"""
from __future__ import annotations

import librosa
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


def _act():
  return nn.LeakyReLU(0.01)


class VAEDeep(nn.Module):
  """Encoder: three (3x3 conv, LeakyReLU, 2x2 max-pool) levels 1->16->32->64, FC 4096->128->64, heads 8 and 8.
  Decoder: FC 8->64->128->4096, reshape (64, H/8, W/8), three stride-2 transposed convs 64->32->16->1, sigmoid.
  1,117,521 parameters for a 1x128x32 input and 8 latents."""

  def __init__(self, latent_dim: int = 8, input_shape=(1, 128, 32)):
    super().__init__()
    c, h, w = input_shape
    self.h0, self.w0 = h // 8, w // 8
    flat = 64 * self.h0 * self.w0
    layers = []
    for cin, cout in ((c, 16), (16, 32), (32, 64)):
      layers += [nn.Conv2d(cin, cout, 3, padding=1), _act(), nn.MaxPool2d(2)]
    self.conv = nn.Sequential(*layers)
    self.fc = nn.Sequential(nn.Linear(flat, 128), _act(), nn.Linear(128, 64), _act())
    self.mu, self.logvar = nn.Linear(64, latent_dim), nn.Linear(64, latent_dim)
    self.dec_fc = nn.Sequential(nn.Linear(latent_dim, 64), _act(), nn.Linear(64, 128), _act(),
                                nn.Linear(128, flat), _act())
    up = lambda cin, cout: nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1)
    self.deconv = nn.Sequential(up(64, 32), _act(), up(32, 16), _act(), up(16, c), nn.Sigmoid())

  def encode(self, x):
    h = self.fc(self.conv(x).flatten(1))
    return self.mu(h), self.logvar(h)

  def decode(self, z):
    return self.deconv(self.dec_fc(z).view(z.shape[0], 64, self.h0, self.w0))

  def forward(self, x):
    mu, logvar = self.encode(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    return self.decode(z), mu, logvar


def beta_vae_loss(x_hat, x, mu, logvar, beta: float):
  rec = (x_hat - x).pow(2).flatten(1).sum(1)
  kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)
  return (rec + beta * kl).mean()


class BetaVAETrainer:
  """VAEDeep + Adam(1e-3, betas (0.9, 0.999)); `step(x)` is one training step on a [B, 1, H, W] batch."""

  def __init__(self, latent_dim=8, input_shape=(1, 128, 32), beta=4.0 / 64, lr=1e-3, seed=0):
    torch.manual_seed(seed)
    self.model = VAEDeep(latent_dim, input_shape)
    self.opt = torch.optim.Adam(self.model.parameters(), lr=lr, betas=(0.9, 0.999))
    self.beta = beta

  def step(self, x) -> float:
    self.model.train()
    self.opt.zero_grad(set_to_none=True)
    x_hat, mu, logvar = self.model(x)
    loss = beta_vae_loss(x_hat, x, mu, logvar, self.beta)
    loss.backward()
    self.opt.step()
    return loss.detach()


def librosa_mel(waveform: np.ndarray, sr: int = 16000) -> np.ndarray:
  """The original's per-clip input: librosa defaults (n_fft 2048, hop 512, 128 mels, power 2), each frame
  scaled to max 1 (librosa.util.normalize). [128, 32] for a 1 s clip at 16 kHz."""
  return librosa.util.normalize(librosa.feature.melspectrogram(y=waveform, sr=sr))


class SpectrogramDataset(Dataset):
  """Waveforms held in memory (the original loads the .npz's float64 x); the mel is computed per item."""

  def __init__(self, waveforms: np.ndarray, labels: np.ndarray, sr: int = 16000):
    self.x, self.y, self.sr = waveforms, torch.from_numpy(labels).long(), sr

  def __len__(self):
    return len(self.x)

  def __getitem__(self, i):
    mel = torch.from_numpy(librosa_mel(self.x[i], self.sr)).float().unsqueeze(0)
    return self.x[i], mel, self.y[i]


def original_loader(waveforms, labels, batch_size=64, seed=0) -> DataLoader:
  """trainer.py's DataLoader(train_dataset, batch_size, shuffle=True): main-process loading, per-item mels."""
  return DataLoader(SpectrogramDataset(waveforms, labels), batch_size=batch_size, shuffle=True,
                    generator=torch.Generator().manual_seed(seed), drop_last=True)
