"""The SynTone VAE families (beta-VAE / plain VAE, beta-TCVAE, FactorVAE): one model (VAEDeep on the mel front
end), one data hookup and one evaluation, three objectives.

  data.py      the grid from config.data.grid, prepare_data / make_dataset / input_spec, the TC estimator's N
  model.py     the mel front end, VAEDeep, the FactorVAE discriminator
  loss.py      the three objectives (beta-VAE, beta-TCVAE, FactorVAE)
  family.py    BETA_VAE, BETA_TCVAE, FACTOR_VAE (optimisers, init, steps)
  evaluate.py  `decompjax eval`: metrics, figures, Griffin-Lim audio (a Report)
  animate.py   the frequency-sweep GIF (original vs reconstruction)
"""
