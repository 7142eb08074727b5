"""Exit 3 with one message unless JAX sees a GPU (run by launch/check_gpu.sh with the venv's interpreter)."""
import sys

try:
  import jax
  gpus = jax.devices("gpu")
except Exception as e:  # no CUDA plugin, no driver, no visible device: all end the same way
  reason = (str(e).splitlines() or [type(e).__name__])[0]
  sys.stderr.write(f"check_gpu: JAX sees no GPU ({reason}). It would train on the CPU, so stopping. Check "
                   "nvidia-smi, the NVIDIA driver (the CUDA 12 wheels need driver >= 525), CUDA_VISIBLE_DEVICES, and "
                   "that the CUDA extra is installed (make install-cuda, or pip install -e \".[cuda]\").\n")
  sys.exit(3)
print(f"check_gpu: JAX {jax.__version__} sees {len(gpus)} GPU(s): {gpus[0].device_kind}")
