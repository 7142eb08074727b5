"""ConVAE-BSS: a two-branch convolutional VAE that separates a voice from its accompaniment (issue 12).

data.py (SynMix / corpus crops, input_spec, test tracks), model.py (encoder, four latent heads, two decoders;
soft masks; separate_magnitudes / separate_waveforms), loss.py (objectives supervised, mixture_consistent, mixit,
compat + KL), family.py (CONVAE_BSS: train and validation steps). docs/convae_bss.md.
"""
