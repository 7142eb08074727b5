"""decompjax: decomposed, disentangled representations of audio and time series in JAX/Flax."""
__version__ = "0.1.0"


def __getattr__(name):
  # `decompjax.separate(workdir, inputs, out_dir)`, imported on first use so that `import decompjax` stays light.
  if name == "separate":
    from decompjax.commands.separate import separate
    return separate
  raise AttributeError(f"module 'decompjax' has no attribute {name!r}")
