"""STFT VQ-VAE and Barlow-Twins VQ-VAE for UCR time series (port of erlendlokna/Barlow-Twins-VQVAE).

Modules: `stft` (torch.stft/istft semantics in jnp), `model` (encoder/decoder), `quantizer` (EMA VQ),
`barlow` (projector + Barlow Twins loss), `augment` (view augmentations), `probes` (frozen-latent evaluation),
`figures`. The families that train them live in `decompjax.families.vqvae` / `barlow_vqvae`.
"""
