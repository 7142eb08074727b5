"""Autodecompose (Bonyadi 2023): voice/content decomposition of speech with two encoders and one generator.

family.py (the registered Family), model.py (networks, encoding), loss.py (reconstruction loss, eval step),
augment.py (A_s, A_c, base), data.py (mel crops, SimVowels / corpus), evaluate.py (probe, figures, embeddings).
The embedding API of a trained workdir is `decompjax.commands.embed.embed`.
"""
