"""numba kernels of the SGD family: one epoch loop, parametrised by update rule and penalty.

Private module: the estimators in :mod:`sparsity_lab.models.sgd` are plain Python and call
:func:`sgd_epoch` once per epoch. Rules and penalties are small integer codes, so a single
compiled epoch loop serves every (rule, penalty) pair. It branches on the codes once per step,
in :func:`apply_update`, and each branch runs its own tight coordinate loop: a branch inside the
coordinate loop blocked vectorisation and cost 3 to 5x. For L2 the weight decay is folded into
the gradient pass, so scikit-learn's scaled-weight trick (w = s v), which only saves work on
sparse rows, buys nothing on dense data.

Per step, with ``z = w - eta * grad`` the plain gradient step on the data term, the rules are
- subgradient: ``w <- z - eta * alpha * subgradient(w)``      (sign(w) for L1, w for L2)
- prox:        ``w <- prox(z, eta * alpha)``                   (soft-threshold for L1)
- truncated:   every ``period``-th step ``w <- T1(z, period * eta * alpha, theta)``, else ``z``
               (Langford, Li and Zhang, JMLR 2009; alpha is their gravity g)
- cumulative:  clip z towards 0 by the not yet applied part of the total penalty
               ``u = sum eta_t * alpha`` (Tsuruoka, Tsujii and Ananiadou, ACL 2009), as
               scikit-learn's SGDRegressor(penalty="l1") does.
- clip:        ``v = z - eta * alpha * subgradient(w)``; ``w <- 0`` if v and z have opposite
               signs (the penalty step would carry the weight across 0), else ``v``
               (tensorflow/playground's L1 rule).

The dual-averaging rules keep the sum of the gradients ``G = sum_s g_s`` (``g_s`` the step's
data gradient) and set the weights in closed form from it; with ``lam1 = alpha * l1_ratio`` and
``lam2 = alpha * (1 - l1_ratio)`` the elastic-net penalty's two parts, after step t:
- rda:   ``w = S(c w0 - G / t, lam1 + rho c) / (lam2 + c)`` with ``c = 1 / (t eta_t)``, S the
         soft-threshold and w0 the prox centre (0, or the warm start). This is Xiao's (JMLR 2010)
         RDA with ``h(w) = 1/2 ||w - w0||^2`` and ``beta_t = t c = 1 / eta_t``: l1-RDA for
         ``rho = 0``, enhanced l1-RDA (threshold ``lam1 + gamma rho / sqrt(t)``) for rho > 0.
         A weight is exactly 0 while ``|c w0 - G / t| <= lam1 + rho c``.
- ftrl:  FTRL-Proximal (McMahan et al., KDD 2013, Algorithm 1) per coordinate, with their
         alpha = eta0 and their lambda1, lambda2 = t lam1, t lam2 (the penalty of t summed
         losses): ``sigma = (sqrt(n + g^2) - sqrt(n)) / eta0``, ``z += g - sigma w``,
         ``n += g^2``, ``w = 0`` if ``|z| <= t lam1``, else
         ``-(z - sign(z) t lam1) / ((beta + sqrt(n)) / eta0 + t lam2)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sparsity_lab import penalties
from sparsity_lab.penalties import PENALTY_L1, PENALTY_L2, jitted

RULE_SUBGRADIENT = 0
RULE_PROX = 1
RULE_TRUNCATED = 2
RULE_CUMULATIVE = 3
RULE_CLIP = 4
RULE_RDA = 5
RULE_FTRL = 6

SCHEDULE_CONSTANT = 0
SCHEDULE_INVSCALING = 1

STATUS_OK = 0
STATUS_DIVERGED = 1

# Indices into the float64 ``state`` array that carries the scalars from one epoch to the next.
STATE_INTERCEPT = 0
STATE_STEP = 1  # t, the number of the next update, starting at 1 (as scikit-learn counts)
STATE_CUMULATIVE = 2  # u, the total L1 penalty each weight could have received so far
STATE_INTERCEPT_SUM = 3  # rda: the intercept's gradient sum; ftrl: its z
STATE_INTERCEPT_ROOT = 4  # ftrl: sqrt of the intercept's sum of squared gradients
STATE_INTERCEPT_CENTER = 5  # rda: the intercept's prox centre
STATE_INTERCEPT_TOTAL = 6  # rda: the sum of the intercept's iterates (for the average)
STATE_SIZE = 7

# Rows of the float64 ``memory`` array of shape (MEMORY_SIZE, n_features), one value per weight.
MEMORY_SUM = 0  # cumulative: the penalty q applied so far; rda: gradient sum G; ftrl: z
MEMORY_ROOT = 1  # ftrl: sqrt(n), n the sum of squared gradients
MEMORY_CENTER = 2  # rda: the prox centre w0
MEMORY_TOTAL = 3  # rda: the sum of the iterates (for the averaged iterate)
MEMORY_SIZE = 4


# The penalties' formulas, compiled from their one home (:mod:`sparsity_lab.penalties`).
_soft_threshold = jitted(penalties.soft_threshold)
_enet_subgradient = jitted(penalties.enet_subgradient)
_enet_prox = jitted(penalties.enet_prox)


@njit(inline="always")
def subgradient_1d(penalty, w):
    """A subgradient of Omega at the scalar ``w``: sign(w) with sign(0) = 0 (L1), or w (L2)."""
    if penalty == PENALTY_L1:
        return _enet_subgradient(w, 1.0, 1.0)
    return _enet_subgradient(w, 1.0, 0.0)


@njit(inline="always")
def prox_1d(penalty, z, step):
    """prox of ``step * Omega`` at the scalar ``z``: soft-threshold (L1) or shrinkage (L2)."""
    if penalty == PENALTY_L1:
        return _enet_prox(z, step, 1.0, 1.0)
    return _enet_prox(z, step, 1.0, 0.0)


@njit(inline="always")
def truncate_1d(z, amount, theta):
    """Langford et al.'s T1: move ``z`` by ``amount`` towards 0 (not past it) if |z| <= theta."""
    if 0.0 < z <= theta:
        return max(0.0, z - amount)
    if -theta <= z < 0.0:
        return min(0.0, z + amount)
    return z


@njit(inline="always")
def _subgradient_update(penalty, w, direction, scale, eta_alpha):
    for j in range(w.shape[0]):
        w[j] = w[j] - scale * direction[j] - eta_alpha * subgradient_1d(penalty, w[j])


@njit(inline="always")
def _prox_update(penalty, w, direction, scale, eta_alpha):
    for j in range(w.shape[0]):
        w[j] = prox_1d(penalty, w[j] - scale * direction[j], eta_alpha)


@njit(inline="always")
def _truncated_update(w, direction, scale, truncation, theta):
    if truncation > 0.0:
        for j in range(w.shape[0]):
            w[j] = truncate_1d(w[j] - scale * direction[j], truncation, theta)
    else:
        for j in range(w.shape[0]):
            w[j] = w[j] - scale * direction[j]


@njit(inline="always")
def _cumulative_update(w, direction, scale, u, q):
    # q[j] is the (signed) penalty weight j has actually received; u what it could have.
    for j in range(w.shape[0]):
        z = w[j] - scale * direction[j]
        new = z
        if z > 0.0:
            new = max(0.0, z - (u + q[j]))
        elif z < 0.0:
            new = min(0.0, z + (u - q[j]))
        q[j] += new - z
        w[j] = new


@njit(inline="always")
def _clip_update(w, direction, scale, eta_alpha, l1_ratio):
    # The L1 part is l1_ratio * sign(w), as the subgradient rule takes it; for l1_ratio = 1
    # the step is bitwise the subgradient rule's until the clip fires.
    for j in range(w.shape[0]):
        old = w[j]
        z = old - scale * direction[j]
        v = z - _enet_subgradient(old, eta_alpha, l1_ratio)
        w[j] = 0.0 if z * v < 0.0 else v


@njit(inline="always")
def _rda_update(w, direction, gscale, memory, inv_t, c, threshold, inv_denominator):
    gradient_sum = memory[MEMORY_SUM]
    center = memory[MEMORY_CENTER]
    total = memory[MEMORY_TOTAL]
    for j in range(w.shape[0]):
        g = gradient_sum[j] + gscale * direction[j]
        gradient_sum[j] = g
        new = _soft_threshold(c * center[j] - g * inv_t, threshold) * inv_denominator
        w[j] = new
        total[j] += new


@njit(inline="always")
def _ftrl_update(w, direction, gscale, memory, rate, beta, l1, l2):
    z = memory[MEMORY_SUM]
    root = memory[MEMORY_ROOT]
    inv_rate = 1.0 / rate
    for j in range(w.shape[0]):
        g = gscale * direction[j]
        old_root = root[j]
        new_root = np.sqrt(old_root * old_root + g * g)
        zj = z[j] + g - (new_root - old_root) * inv_rate * w[j]
        z[j] = zj
        root[j] = new_root
        # the soft-threshold has no branch: one division and no branch keep the loop
        # vectorised. + 0.0 turns -0.0 into 0.0.
        shrunk = _soft_threshold(zj, l1)
        w[j] = -shrunk / ((beta + new_root) * inv_rate + l2) + 0.0


@njit(inline="always")
def apply_update(
    rule, penalty, w, direction, gscale, eta, alpha, truncation, theta, u, memory, t,
    l1_ratio, eta0, beta, rho,
):  # fmt: skip
    """One step of ``rule`` on every weight, the data gradient being ``gscale * direction``.

    The branches run once per step, outside the coordinate loops, and every loop sees its
    penalty as a constant: each (rule, penalty) pair gets its own tight, vectorisable loop.
    """
    scale = eta * gscale
    eta_alpha = eta * alpha
    if rule == RULE_SUBGRADIENT:
        if penalty == PENALTY_L1:
            _subgradient_update(PENALTY_L1, w, direction, scale, eta_alpha)
        else:
            _subgradient_update(PENALTY_L2, w, direction, scale, eta_alpha)
    elif rule == RULE_PROX:
        if penalty == PENALTY_L1:
            _prox_update(PENALTY_L1, w, direction, scale, eta_alpha)
        else:
            _prox_update(PENALTY_L2, w, direction, scale, eta_alpha)
    elif rule == RULE_TRUNCATED:
        _truncated_update(w, direction, scale, truncation, theta)
    elif rule == RULE_CUMULATIVE:
        _cumulative_update(w, direction, scale, u, memory[MEMORY_SUM])
    elif rule == RULE_CLIP:
        _clip_update(w, direction, scale, eta_alpha, l1_ratio)
    elif rule == RULE_RDA:
        c = 1.0 / (t * eta)
        threshold = alpha * l1_ratio + rho * c
        inv_denominator = 1.0 / (alpha * (1.0 - l1_ratio) + c)
        _rda_update(w, direction, gscale, memory, 1.0 / t, c, threshold, inv_denominator)
    else:
        l1 = t * alpha * l1_ratio
        l2 = t * alpha * (1.0 - l1_ratio)
        _ftrl_update(w, direction, gscale, memory, eta0, beta, l1, l2)


@njit(inline="always")
def update_intercept(rule, intercept, gradient, eta, state, t, eta0, beta):
    """The unpenalised intercept's step under ``rule``; returns the new intercept.

    Gradient steps for the primal rules; the same dual-averaging (rda) or FTRL-Proximal (ftrl)
    formulas as the weights, with no penalty, for the others.
    """
    if rule == RULE_RDA:
        state[STATE_INTERCEPT_SUM] += gradient
        intercept = state[STATE_INTERCEPT_CENTER] - eta * state[STATE_INTERCEPT_SUM]
        state[STATE_INTERCEPT_TOTAL] += intercept
        return intercept
    if rule == RULE_FTRL:
        old_root = state[STATE_INTERCEPT_ROOT]
        new_root = np.sqrt(old_root * old_root + gradient * gradient)
        z = state[STATE_INTERCEPT_SUM] + gradient - (new_root - old_root) / eta0 * intercept
        state[STATE_INTERCEPT_SUM] = z
        state[STATE_INTERCEPT_ROOT] = new_root
        return -z * eta0 / (beta + new_root)
    return intercept - eta * gradient


@njit(fastmath={"reassoc", "contract"}, cache=True)
def _row_dot(x, w):
    # Reassociation lets LLVM vectorise the reduction; without it the sum is one serial chain
    # of additions and dominates the epoch.
    acc = 0.0
    for j in range(x.shape[0]):
        acc += x[j] * w[j]
    return acc


# error_model="numpy": no zero-division check (and branch) per division, which kept FTRL's
# per-coordinate loop from vectorising (no divisor here can be 0).
@njit(cache=True, error_model="numpy")
def sgd_epoch(
    X,
    y,
    w,
    state,
    order,
    batch_size,
    rule,
    penalty,
    alpha,
    eta0,
    schedule,
    power_t,
    theta,
    period,
    fit_intercept,
    memory,
    grad,
    residual_limit,
    l1_ratio,
    beta,
    rho,
):
    """Run one epoch in place on ``w``, ``state`` and ``memory``; return a STATUS_* code.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), C-contiguous, float64 or float32
    y : ndarray of shape (n_samples,), float64
    w : ndarray of shape (n_features,), dtype of X; updated in place
    state : ndarray of shape (STATE_SIZE,), float64; intercept, step counter, cumulative penalty
        and the intercept's dual-averaging / FTRL scalars (STATE_*)
    order : ndarray of shape (n_samples,), int64; the order in which samples are visited
    batch_size : int; consecutive entries of ``order`` form one mini-batch
    rule, penalty, schedule : int codes (RULE_*, PENALTY_*, SCHEDULE_*)
    alpha, eta0, power_t, theta : float
    period : int; truncation period K of the truncated-gradient rule
    fit_intercept : bool
    memory : ndarray of shape (MEMORY_SIZE, n_features), float64; per-weight memory of the
        cumulative, rda and ftrl rules (MEMORY_*)
    grad : ndarray of shape (n_features,), float64; work space for mini-batch gradients
    residual_limit : float; a residual above it (or NaN) stops the epoch as diverged
    l1_ratio : float; the L1 share of the elastic-net penalty (clip, rda, ftrl)
    beta, rho : float; FTRL-Proximal's beta and enhanced RDA's rho
    """
    n_features = X.shape[1]
    intercept = state[STATE_INTERCEPT]
    t = state[STATE_STEP]
    u = state[STATE_CUMULATIVE]
    status = STATUS_OK
    n = order.shape[0]
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        if schedule == SCHEDULE_CONSTANT:
            eta = eta0
        else:
            eta = eta0 / t**power_t
        eta_alpha = eta * alpha
        truncation = 0.0
        if rule == RULE_TRUNCATED and int(t) % period == 0:
            truncation = period * eta_alpha
        u += eta_alpha
        if stop - start == 1:
            # Per sample the row itself is the update direction: no work space, two passes.
            i = order[start]
            x = X[i]
            residual = _row_dot(x, w) + intercept - y[i]
            if not abs(residual) <= residual_limit:
                status = STATUS_DIVERGED
                break
            apply_update(
                rule, penalty, w, x, residual, eta, alpha, truncation, theta, u, memory, t,
                l1_ratio, eta0, beta, rho,
            )  # fmt: skip
            if fit_intercept:
                intercept = update_intercept(rule, intercept, residual, eta, state, t, eta0, beta)
        else:
            grad[:] = 0.0
            residual_sum = 0.0
            for k in range(start, stop):
                i = order[k]
                x = X[i]
                residual = _row_dot(x, w) + intercept - y[i]
                if not abs(residual) <= residual_limit:
                    status = STATUS_DIVERGED
                    break
                residual_sum += residual
                for j in range(n_features):
                    grad[j] += residual * x[j]
            if status != STATUS_OK:
                break
            gscale = 1.0 / (stop - start)
            apply_update(
                rule, penalty, w, grad, gscale, eta, alpha, truncation, theta, u, memory, t,
                l1_ratio, eta0, beta, rho,
            )  # fmt: skip
            if fit_intercept:
                intercept = update_intercept(
                    rule, intercept, gscale * residual_sum, eta, state, t, eta0, beta
                )
        t += 1.0
    state[STATE_INTERCEPT] = intercept
    state[STATE_STEP] = t
    state[STATE_CUMULATIVE] = u
    return status


def largest_eigenvalue(X: np.ndarray, fit_intercept: bool, n_iter: int = 100) -> float:
    """Largest eigenvalue of A^T A / n, A = [X, 1] (or X): the Lipschitz constant of the data term.

    Power iteration from a fixed start, so the value (and thus the step 1/L) does not depend on
    any seed. It approaches the eigenvalue from below; a step 1/L_est < 2/L is still stable.
    """
    n, p = X.shape
    v = np.random.default_rng(0).standard_normal(p + int(fit_intercept))
    value = 0.0
    for _ in range(n_iter):
        v /= np.linalg.norm(v)
        Av = X @ v[:p] + (v[p] if fit_intercept else 0.0)
        new = np.empty_like(v)
        new[:p] = X.T @ Av / n
        if fit_intercept:
            new[p] = Av.sum() / n
        previous, value = value, float(v @ new)
        v = new
        if abs(value - previous) <= 1e-6 * value:
            break
    return value
