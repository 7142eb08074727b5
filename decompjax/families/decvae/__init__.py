"""DecVAE (Ziogas et al. 2026): a two-branch encoder trained to tell a signal's oscillatory components apart.

model.py (Z frame branch + S sequence branch, `encode`), loss.py (JS decomposition loss + beta-KL), family.py
(the Family: two AdamW optimisers), data.py (decomposed SimVowels / corpora), evaluate.py (latent analysis),
fc_vae.py and baselines.py (comparators). Choices and deviations from the original: docs/decvae.md.
"""
