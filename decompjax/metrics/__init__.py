"""Disentanglement metrics (numpy/sklearn): disentanglement_lib estimators, SynTone and DecVAE variants.

Every metric takes batch-first codes `[N, D]` and factors `[N, K]` and returns a dict of floats (plus numpy
matrices where useful). `evaluate_all` runs the whole suite; `syntone_compat` reproduces SynTone's protocol.
"""
from decompjax.metrics.beta_vae_score import beta_vae_score
from decompjax.metrics.dci import completeness, dci, disentanglement
from decompjax.metrics.dcimig import dcimig
from decompjax.metrics.factor_vae_score import factor_vae_score
from decompjax.metrics.irs import irs
from decompjax.metrics.jemmig import jemmig
from decompjax.metrics.mig import mig
from decompjax.metrics.modularity import explicitness, modularity, modularity_from_mi
from decompjax.metrics.sampling import FactorSampler, grid_sampler
from decompjax.metrics.sap import sap
from decompjax.metrics.suite import ALL_METRICS, evaluate_all
from decompjax.metrics.syntone_compat import syntone_compat_suite
from decompjax.metrics.unsupervised import (gaussian_total_correlation, gaussian_total_correlation_normalized,
                                            mean_pairwise_mutual_info, unsupervised_metrics)
from decompjax.metrics.utils import discrete_entropy, discrete_mutual_info, histogram_discretize

__all__ = [
    "ALL_METRICS", "FactorSampler", "beta_vae_score", "completeness", "dci", "dcimig", "discrete_entropy",
    "discrete_mutual_info", "disentanglement", "evaluate_all", "explicitness", "factor_vae_score",
    "gaussian_total_correlation", "gaussian_total_correlation_normalized", "grid_sampler", "histogram_discretize",
    "irs", "jemmig", "mean_pairwise_mutual_info", "mig", "modularity", "modularity_from_mi", "sap",
    "syntone_compat_suite", "unsupervised_metrics",
]
