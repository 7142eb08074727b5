"""Gradient-boosted classification trees on presorted features: the model of sklearn's GradientBoostingClassifier.

DCI fits one GradientBoostingClassifier() per factor: 100 stages x (1 tree, or one per class) depth-3 regression
trees on the codes. sklearn's tree builder re-sorts every feature at every node of every tree; here each feature is
sorted **once** (the codes never change, only the gradients do) and every tree is grown level by level with one
pass over each feature's sorted order (compiled with numba, which librosa already brings; without numba, callers
fall back to sklearn itself). The algorithm and its numbers are sklearn's (1.5-1.9):

- init: log prior odds (binary) / symmetric multinomial logit of the class priors (DummyClassifier 'prior');
- per stage, negative gradient of the half binomial / multinomial loss; one squared-error tree per class (a single
  tree if binary); best split = max of sum_L^2 / n_L + sum_R^2 / n_R over every feature and every gap between
  consecutive float32 values more than 1e-7 apart, threshold a/2 + b/2; a node is a leaf at max_depth, below
  min_samples_split (or 2 min_samples_leaf), with variance <= machine epsilon, or without a valid split;
- leaf value: one Newton step mean(g) [(K-1)/K] / mean(p (1 - p)) (0 if the hessian is < 1e-150), times the
  learning rate;
- feature importances: per tree the impurity decrease n_node imp_node - n_L imp_L - n_R imp_R per feature over
  n, averaged over the trees that split at all, normalised to sum 1.

Differences from sklearn: floating-point summation order (~1e-16 relative), and exact ties. When two features give
exactly the same best improvement (common for the first stages, whose gradients take one value per class, so two
codes that both separate a small node perfectly tie), sklearn picks by a random feature order drawn from its
`random_state` (disentanglement_lib passes none, so its DCI varies from run to run); this code picks by a random
rank of the features per node drawn from `seed`. Near-ties (equal up to rounding) fall to each code's summation
order. Tested against sklearn's fitted model in tests/test_metrics_speed.py.
"""
from __future__ import annotations

import threading

import numpy as np

# GradientBoostingClassifier settings this implementation covers (with any values); others need sklearn's.
SUPPORTED_KWARGS = frozenset({"n_estimators", "learning_rate", "max_depth", "min_samples_split", "min_samples_leaf"})

try:  # numba comes with librosa (a dependency); without it `available()` is False and DCI uses sklearn
  import numba
except ImportError:  # pragma: no cover
  numba = None


def available() -> bool:
  return numba is not None


def supports(gbt_kwargs: dict | None) -> bool:
  """True if every GradientBoostingClassifier argument in `gbt_kwargs` is one this implementation follows."""
  return set(gbt_kwargs or {}) <= SUPPORTED_KWARGS


def _mix(z):
  """splitmix64 finaliser: a well-spread 64-bit hash (uint64 in, uint64 out)."""
  z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
  z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
  return z ^ (z >> np.uint64(31))


def _fit_kernel(order, xs, x, xt, y, k, n_estimators, learning_rate, max_depth, min_split, min_leaf, seed):
  """The boosting loop (compiled). order/xs `[D, N]` presorted indices/values, x `[N, D]`, xt `[Nt, D]` float32,
  y `[N]` labels 0..k-1; seed orders tied features. Returns (sum of per-tree importances [D], #trees that
  split, raw [N, T], raw_test)."""
  n, d = x.shape
  nt = xt.shape[0]
  t_count = 1 if k == 2 else k
  eps = 2.220446049250313e-16
  feat_thr = np.float32(1e-7)
  # init: DummyClassifier('prior') probabilities through the loss's link
  counts = np.zeros(k)
  for i in range(n):
    counts[y[i]] += 1.0
  init = np.zeros(t_count)
  if k == 2:
    p1 = min(max(counts[1] / n, eps), 1.0 - eps)
    init[0] = np.log(p1 / (1.0 - p1))
  else:
    mean_log = 0.0
    for c in range(k):
      init[c] = np.log(min(max(counts[c] / n, eps), 1.0 - eps))
      mean_log += init[c]
    mean_log /= k
    for c in range(k):
      init[c] -= mean_log
  raw = np.empty((n, t_count))
  raw_te = np.empty((nt, t_count))
  for t in range(t_count):
    raw[:, t] = init[t]
    raw_te[:, t] = init[t]
  n_nodes = (1 << (max_depth + 1)) - 1
  g = np.empty((n, t_count))
  slot = np.empty(n, np.int64)
  slot_te = np.empty(nt, np.int64)
  leaf = np.empty(n, np.int64)
  leaf_te = np.empty(nt, np.int64)
  importance_sum = np.zeros(d)
  importance = np.zeros(d)
  relevant = 0
  max_slots = 1 << max_depth
  # per-slot node statistics and split search state
  s_n = np.zeros(max_slots); s_sum = np.zeros(max_slots); s_sq = np.zeros(max_slots); s_imp = np.zeros(max_slots)
  c_n = np.zeros(2 * max_slots); c_sum = np.zeros(2 * max_slots); c_sq = np.zeros(2 * max_slots)
  c_imp = np.zeros(2 * max_slots)
  can = np.zeros(max_slots, np.bool_)
  best = np.zeros(max_slots); best_f = np.zeros(max_slots, np.int64); best_thr = np.zeros(max_slots)
  best_nl = np.zeros(max_slots); best_sl = np.zeros(max_slots); best_ql = np.zeros(max_slots)
  run_n = np.zeros(max_slots); run_s = np.zeros(max_slots); run_q = np.zeros(max_slots)
  last_x = np.zeros(max_slots, np.float32)
  prio = np.zeros((max_slots, d), np.uint64)  # per node, a random rank of the features for exact ties
  state = _mix(np.uint64(seed) + np.uint64(0x9E3779B97F4A7C15))
  num = np.zeros(n_nodes); den = np.zeros(n_nodes); cnt = np.zeros(n_nodes); value = np.zeros(n_nodes)
  for _ in range(n_estimators):
    # negative gradient of the loss at the stage's start (shared by its trees)
    for i in range(n):
      if k == 2:
        g[i, 0] = (1.0 if y[i] == 1 else 0.0) - 1.0 / (1.0 + np.exp(-raw[i, 0]))
      else:
        mx = raw[i, 0]
        for c in range(1, k):
          mx = max(mx, raw[i, c])
        tot = 0.0
        for c in range(k):
          tot += np.exp(raw[i, c] - mx)
        for c in range(k):
          g[i, c] = (1.0 if y[i] == c else 0.0) - np.exp(raw[i, c] - mx) / tot
    for t in range(t_count):
      slot[:] = 0
      slot_te[:] = 0
      importance[:] = 0.0
      split_any = False
      # root statistics
      s_n[0] = n; s_sum[0] = 0.0; s_sq[0] = 0.0
      for i in range(n):
        s_sum[0] += g[i, t]
        s_sq[0] += g[i, t] * g[i, t]
      s_imp[0] = s_sq[0] / n - (s_sum[0] / n) ** 2
      for level in range(max_depth + 1):
        slots = 1 << level
        base = slots - 1
        for m in range(slots):
          for f in range(d):
            state = state + np.uint64(0x9E3779B97F4A7C15)
            prio[m, f] = _mix(state)
          can[m] = (s_n[m] > 0 and level < max_depth and s_n[m] >= min_split and s_n[m] >= 2 * min_leaf
                    and s_imp[m] > eps)
          best[m] = -np.inf
        for f in range(d):  # one pass over the feature's sorted order serves every node of the level
          for m in range(slots):
            run_n[m] = 0.0; run_s[m] = 0.0; run_q[m] = 0.0
          for p in range(n):
            i = order[f, p]
            m = slot[i]
            if m < 0 or not can[m]:
              continue
            xv = xs[f, p]
            if run_n[m] > 0 and xv > last_x[m] + feat_thr:  # a gap: split between the previous node sample and this
              nl = run_n[m]
              nr = s_n[m] - nl
              if nl >= min_leaf and nr >= min_leaf:
                sr = s_sum[m] - run_s[m]
                proxy = run_s[m] * run_s[m] / nl + sr * sr / nr
                if proxy > best[m] or (proxy == best[m] and f != best_f[m] and prio[m, f] < prio[m, best_f[m]]):
                  best[m] = proxy; best_f[m] = f
                  best_thr[m] = np.float64(last_x[m]) / 2.0 + np.float64(xv) / 2.0
                  best_nl[m] = nl; best_sl[m] = run_s[m]; best_ql[m] = run_q[m]
            gi = g[i, t]
            run_n[m] += 1.0; run_s[m] += gi; run_q[m] += gi * gi
            last_x[m] = xv
        for m in range(slots):  # record splits: children statistics and the impurity decrease
          if can[m] and best[m] > -np.inf:
            nl = best_nl[m]; nr = s_n[m] - nl
            sl = best_sl[m]; sr = s_sum[m] - sl
            ql = best_ql[m]; qr = s_sq[m] - ql
            il = ql / nl - (sl / nl) ** 2
            ir = qr / nr - (sr / nr) ** 2
            importance[best_f[m]] += s_n[m] * s_imp[m] - nl * il - nr * ir
            c_n[2 * m] = nl; c_sum[2 * m] = sl; c_sq[2 * m] = ql; c_imp[2 * m] = il
            c_n[2 * m + 1] = nr; c_sum[2 * m + 1] = sr; c_sq[2 * m + 1] = qr; c_imp[2 * m + 1] = ir
            if level == 0:
              split_any = True
          else:
            can[m] = False
            c_n[2 * m] = 0.0; c_n[2 * m + 1] = 0.0
        for i in range(n):  # route the samples (train and test) to the next level or into a leaf
          m = slot[i]
          if m >= 0:
            if can[m]:
              slot[i] = 2 * m + (1 if x[i, best_f[m]] > best_thr[m] else 0)
            else:
              leaf[i] = base + m
              slot[i] = -1
        for i in range(nt):
          m = slot_te[i]
          if m >= 0:
            if can[m]:
              slot_te[i] = 2 * m + (1 if xt[i, best_f[m]] > best_thr[m] else 0)
            else:
              leaf_te[i] = base + m
              slot_te[i] = -1
        for m in range(2 * slots):
          if m < max_slots:
            s_n[m] = c_n[m]; s_sum[m] = c_sum[m]; s_sq[m] = c_sq[m]; s_imp[m] = c_imp[m]
      # leaf values: one Newton step per leaf
      num[:] = 0.0; den[:] = 0.0; cnt[:] = 0.0
      for i in range(n):
        target = (1.0 if y[i] == 1 else 0.0) if k == 2 else (1.0 if y[i] == t else 0.0)
        prob = target - g[i, t]
        num[leaf[i]] += g[i, t]
        den[leaf[i]] += prob * (1.0 - prob)
        cnt[leaf[i]] += 1.0
      for j in range(n_nodes):
        value[j] = 0.0
        if cnt[j] > 0:
          nu = num[j] / cnt[j]
          if k > 2:
            nu *= (k - 1.0) / k
          de = den[j] / cnt[j]
          if abs(de) >= 1e-150:
            value[j] = nu / de
      for i in range(n):
        raw[i, t] += learning_rate * value[leaf[i]]
      for i in range(nt):
        raw_te[i, t] += learning_rate * value[leaf_te[i]]
      if split_any:
        relevant += 1
        for f in range(d):
          importance_sum[f] += importance[f] / n
  return importance_sum, relevant, raw, raw_te


_compiled = None
_compile_lock = threading.Lock()  # DCI calls fit_predict from several threads at once


def _kernel():
  """The kernel compiled once per process (and cached on disk by numba where it may write)."""
  global _compiled, _mix
  with _compile_lock:
    if _compiled is None:
      _mix = numba.njit(cache=True, nogil=True)(_mix)  # the kernel calls the compiled hash
      _compiled = numba.njit(cache=True, nogil=True)(_fit_kernel)
  return _compiled


def fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, *, n_estimators: int = 100,
                learning_rate: float = 0.1, max_depth: int = 3, min_samples_split: int = 2,
                min_samples_leaf: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Fits GradientBoostingClassifier(**kwargs) on (x_train `[N, D]`, labels `[N]`) and predicts x_train, x_test.

  `seed` plays the part of sklearn's `random_state`: it only decides between features that tie exactly.

  Returns (feature_importances_ [D], train predictions [N], test predictions [Nt]) as sklearn's model would.
  Releases the GIL while it runs, so several fits can share a thread pool.
  """
  if numba is None:
    raise ImportError("decompjax.metrics.gbt needs numba (installed with librosa)")
  classes, y = np.unique(np.asarray(y_train), return_inverse=True)
  k = classes.size
  if k < 2:
    raise ValueError(f"gradient boosting needs at least 2 classes, got {k}")
  x = np.ascontiguousarray(x_train, dtype=np.float32)  # sklearn's trees work on float32 features
  xt = np.ascontiguousarray(x_test, dtype=np.float32)
  order = np.ascontiguousarray(np.argsort(x, axis=0, kind="stable").T)  # [D, N], sorted once for every tree
  xs = np.ascontiguousarray(np.take_along_axis(x, order.T, 0).T)
  min_split = float(min_samples_split if isinstance(min_samples_split, int) else
                    np.ceil(min_samples_split * x.shape[0]))
  min_leaf = float(min_samples_leaf if isinstance(min_samples_leaf, int) else np.ceil(min_samples_leaf * x.shape[0]))
  imp_sum, relevant, raw, raw_te = _kernel()(order, xs, x, xt, y.astype(np.int64), k, int(n_estimators),
                                             float(learning_rate), int(max_depth), max(min_split, 2.0), min_leaf,
                                             int(seed))
  total = imp_sum.sum()
  fi = imp_sum / relevant / np.sum(imp_sum / relevant) if relevant and total > 0 else np.zeros_like(imp_sum)
  if k == 2:
    return fi, classes[(raw[:, 0] >= 0).astype(int)], classes[(raw_te[:, 0] >= 0).astype(int)]
  return fi, classes[raw.argmax(axis=1)], classes[raw_te.argmax(axis=1)]
