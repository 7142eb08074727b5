"""STFT VQ-VAE and Barlow-Twins VQ-VAE on UCR time series (port of erlendlokna/Barlow-Twins-VQVAE).

Modules: `model` (encoder/decoder, projector, builders), `quantizer` (EMA VQ), `loss` (objectives),
`augment` (Barlow views), `data` (UCR sets, input spec), `evaluate` (frozen-latent probes, figures) and
`family` (the registered families `vqvae` and `barlow_vqvae`).
"""
