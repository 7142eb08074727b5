"""decompjax: decomposed, disentangled representations of audio and time series in JAX/Flax."""
from setuptools import find_namespace_packages, setup

setup(
    name="decompjax",
    version="0.1.0",
    description="JAX/Flax reimplementations of SynTone, Autodecompose, Barlow-Twins VQ-VAE, DecVAE and ConVAE-BSS",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    # namespace discovery: data folders (resources/ucr/ECG200) have no __init__.py
    packages=find_namespace_packages(include=["decompjax", "decompjax.*"], exclude=["*__pycache__*"]),
    include_package_data=True,
    package_data={"decompjax": ["resources/*", "resources/**/*"]},
    python_requires=">=3.11",
    install_requires=[
        "jax>=0.8",
        "flax>=0.12",
        "optax>=0.2.6",
        "orbax-checkpoint>=0.11",
        "chex>=0.1.90",
        "tensorflow-cpu>=2.20",
        "tensorflow-datasets>=4.9.9",
        "numpy>=2.0",
        "scipy>=1.13",
        "librosa>=0.11",
        "soundfile>=0.12",
        "ml-collections>=1.0",
        "absl-py>=2.1",
        "scikit-learn>=1.5",
        "numba>=0.60",  # decompjax/metrics/gbt.py: DCI's boosted trees (librosa depends on it too)
        "threadpoolctl>=3.1",  # DecVAE analysis: sklearn thread limits (imported directly)
        "matplotlib>=3.8",
        "imageio>=2.34",
        "tqdm>=4.66",
        "tensorboard>=2.17",
        "etils[epath]>=1.7",  # decompjax/fileio.py: one path layer for local folders and gs:// workdirs
    ],
    extras_require={
        # Test-only oracles: reference implementations our JAX/numpy code is checked against (never imported at
        # run time): ewtpy / vmdpy / EMD-signal (DecVAE decompositions), mir_eval / fast-bss-eval (BSS Eval).
        "test": ["pytest>=8", "pytest-xdist>=3.5", "ewtpy==0.2", "vmdpy==0.2", "EMD-signal>=1.6",
                 "mir_eval>=0.8", "fast-bss-eval>=0.1.4",
                 # tests/fake_gcs.py: a local GCS server that gs:// workdirs are tested against
                 "google-cloud-storage>=2.14", "fsspec>=2023.1",
                 # tests/test_notebooks.py executes notebooks/*.ipynb with a real kernel
                 "nbclient>=0.10", "nbformat>=5.10", "ipykernel>=6.29"],
        # gs:// workdirs and checkpoints (orbax asks google-cloud-storage for a bucket's layout); TPU pods
        "gcs": ["google-cloud-storage>=2.14"],
        "cuda": ["jax[cuda12]>=0.8"],
        "tpu": ["jax[tpu]>=0.8", "google-cloud-storage>=2.14"],
        # Side-by-side benchmarks only (never imported by decompjax itself).
        "bench": (
            # benchmarks/bench_vs_torch.py: PyTorch transcriptions of the originals' steps
            ["torch>=2.2"]
            # benchmarks/bench_metrics_vs_dlib.py: disentanglement_lib's metric estimators (dlib 1.5 calls
            # gin.configurable(blacklist=...), which gin-config 0.5 removed)
            + ["disentanglement-lib==1.5", "gin-config>=0.4,<0.5"]
        ),
    },
    entry_points={"console_scripts": ["decompjax=decompjax.cli:main"]},
)
