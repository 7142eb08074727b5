"""decompjax: decomposed, disentangled representations of audio and time series in JAX/Flax."""
__version__ = "0.1.0"
