"""The SGD family: eight update rules for the shared objective, as scikit-learn estimators.

    L(w) = 1/(2n) ||y - Xw - b||^2 + alpha * Omega(w)

Every estimator minimises this objective with its penalty (``||w||_1``, ``1/2 ||w||^2`` for
:class:`SGDL2`, the elastic net ``l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2`` for the rules
with an ``l1_ratio`` parameter) and differs from the others only in how a step treats the
penalty; see :mod:`sparsity_lab.models._kernels` for the update formulas. The estimators are
plain Python (picklable, cloneable); the hot loop is one numba kernel shared by all of them.

After ``fit`` every estimator carries ``coef_``, ``intercept_``, ``n_iter_`` (epochs run),
``converged_``, ``status_`` (``"ok"``, ``"not_converged"`` or ``"diverged"``) and ``message_``
(``""`` when ok). Divergence does not raise: it ends the fit and is reported in ``status_``.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from sparsity_lab import penalties
from sparsity_lab.errors import check_int as _check_int
from sparsity_lab.models import _kernels
from sparsity_lab.penalties import L1, L2, ElasticNet

_SCHEDULES = {"constant": _kernels.SCHEDULE_CONSTANT, "invscaling": _kernels.SCHEDULE_INVSCALING}

# A residual this many times larger than the largest |y| means the iterates are exploding; the
# fit stops there instead of running on into overflow.
_RESIDUAL_BLOWUP = 1e8


@dataclass(frozen=True)
class _RuleParams:
    """A rule's own kernel parameters; every other rule ignores them."""

    theta: float = np.inf  # truncated: only |w| <= theta is truncated
    period: int = 1  # truncated: K
    l1_ratio: float = 1.0  # clip, rda, ftrl: the L1 share of the elastic-net penalty
    beta: float = 1.0  # ftrl: beta of the per-coordinate rates
    rho: float = 0.0  # rda: the enhanced threshold's rho (0: plain l1-RDA)


class _BaseSGD(RegressorMixin, BaseEstimator):
    """Shared parameters, validation and the epoch loop driver of the SGD family.

    Parameters
    ----------
    alpha : float, default=1e-4
        Regularization strength in the shared scale, alpha >= 0.
    eta0 : float or "auto", default="auto"
        Initial learning rate. ``"auto"`` is 1/L with L the Lipschitz constant of one step's
        data term (plus alpha for the L2 penalty): ``max_i ||x_i||^2`` (+1 with an intercept)
        for per-sample and mini-batch steps, the largest eigenvalue of ``X^T X / n`` for
        full-batch steps. It is stable on any data, standardised or not.
    learning_rate : {"constant", "invscaling"}, default="invscaling"
        ``eta_t = eta0`` or ``eta_t = eta0 / t**power_t``; t counts updates from 1, as in
        scikit-learn's SGDRegressor.
    power_t : float, default=0.5
        Exponent of the inverse scaling schedule (0.5: the classic Robbins-Monro decay, which
        lets per-sample iterates settle; scikit-learn's SGDRegressor uses 0.25).
    max_epochs : int, default=200
        Passes over the data (for ``batch_size="full"``: gradient-descent steps).
    batch_size : int or "full", default=1
        Samples per update: 1 is per-sample SGD, k a mini-batch of k, ``"full"`` full-batch
        gradient descent as in the seed note.
    shuffle : bool, default=True
        Visit the samples in a new random order every epoch (ignored for full batches).
    random_state : int, RandomState or None, default=None
        Seed of the shuffling.
    tol : float or None, default=1e-3
        Stop when an epoch changes no weight (intercept included) by more than
        ``tol * max|w|``; None runs all ``max_epochs`` and reports them as converged.
    fit_intercept : bool, default=True
        Fit an unpenalised intercept.
    warm_start : bool, default=False
        Start from the previous fit's ``coef_`` and ``intercept_`` (unless that fit diverged or
        had another number of features).
    """

    _rule: int
    _penalty: L1 | L2 | ElasticNet
    #: Which member of Omega = l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2 this model minimises.
    penalty_l1_ratio: float

    def __init__(
        self,
        alpha: float = 1e-4,
        eta0: float | str = "auto",
        learning_rate: str = "invscaling",
        power_t: float = 0.5,
        max_epochs: int = 200,
        batch_size: int | str = 1,
        shuffle: bool = True,
        random_state=None,
        tol: float | None = 1e-3,
        fit_intercept: bool = True,
        warm_start: bool = False,
    ):
        self.alpha = alpha
        self.eta0 = eta0
        self.learning_rate = learning_rate
        self.power_t = power_t
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.warm_start = warm_start

    def _check_params(self) -> None:
        _check_real("alpha", self.alpha, minimum=0.0)
        if not (isinstance(self.eta0, str) and self.eta0 == "auto"):
            _check_real("eta0", self.eta0, minimum=0.0, strict=True, allowed="'auto' or")
        _check_int("max_epochs", self.max_epochs, 1)
        if not (isinstance(self.batch_size, str) and self.batch_size == "full"):
            _check_int("batch_size", self.batch_size, 1, allowed="'full' or")
        if self.tol is not None:
            _check_real("tol", self.tol, minimum=0.0, allowed="None or")

    def _schedule(self) -> tuple[int, float]:
        """The kernel's (schedule code, power_t), validated."""
        if self.learning_rate not in _SCHEDULES:
            raise ValueError(
                f"learning_rate={self.learning_rate!r}: allowed values are {sorted(_SCHEDULES)}"
            )
        _check_real("power_t", self.power_t, minimum=0.0)
        return _SCHEDULES[self.learning_rate], float(self.power_t)

    def _check_rule_params(self) -> _RuleParams:
        """The rule's own parameters, validated; the defaults leave every rule unchanged."""
        return _RuleParams()

    def fit(self, X, y):
        """Fit the weights by the estimator's update rule.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        self._check_params()
        schedule, power_t = self._schedule()
        rule = self._check_rule_params()
        X, y = validate_data(self, X, y, y_numeric=True, dtype=[np.float64, np.float32], order="C")
        y = np.ascontiguousarray(y, dtype=np.float64)
        n_samples, n_features = X.shape
        full = self.batch_size == "full"
        batch_size = n_samples if full else min(int(self.batch_size), n_samples)

        w = np.zeros(n_features, dtype=X.dtype)
        state = np.zeros(_kernels.STATE_SIZE)
        state[_kernels.STATE_STEP] = 1.0
        # A diverged fit's weights are finite but huge more often than not: never resume them.
        if self.warm_start and hasattr(self, "coef_") and self.status_ != "diverged":
            previous = np.asarray(self.coef_)
            if previous.shape == w.shape and np.isfinite(previous).all():
                w[:] = previous
                if self.fit_intercept and np.isfinite(self.intercept_):
                    state[_kernels.STATE_INTERCEPT] = self.intercept_

        eta0 = self._initial_rate(X, full, rule) if self.eta0 == "auto" else float(self.eta0)
        memory = np.zeros((_kernels.MEMORY_SIZE, n_features))
        self._start_memory(w, state, memory, eta0, rule)
        rng = check_random_state(self.random_state)
        order = np.arange(n_samples, dtype=np.int64)
        grad = np.zeros(n_features)
        residual_limit = _RESIDUAL_BLOWUP * (1.0 + float(np.max(np.abs(y), initial=0.0)))

        status, message, converged = "not_converged", "", False
        epoch = 0
        for epoch in range(1, self.max_epochs + 1):
            if self.shuffle and not full:
                rng.shuffle(order)
            previous_w = w.copy()
            previous_b = state[_kernels.STATE_INTERCEPT]
            code = _kernels.sgd_epoch(
                X, y, w, state, order, batch_size, self._rule, self._penalty.code,
                float(self.alpha), eta0, schedule, power_t, rule.theta, rule.period,
                bool(self.fit_intercept), memory, grad, residual_limit, rule.l1_ratio,
                rule.beta, rule.rho,
            )  # fmt: skip
            intercept = state[_kernels.STATE_INTERCEPT]
            if code == _kernels.STATUS_DIVERGED or not (
                np.isfinite(w).all() and np.isfinite(intercept)
            ):
                status, converged = "diverged", False
                message = (
                    f"diverged in epoch {epoch}: residuals exceeded {residual_limit:.3g} or "
                    f"weights became non-finite (eta0={eta0:.3g}; try a smaller eta0)"
                )
                break
            if self.tol is not None:
                change = max(
                    float(np.max(np.abs(w - previous_w), initial=0.0)),
                    abs(intercept - previous_b),
                )
                scale = max(float(np.max(np.abs(w), initial=0.0)), abs(intercept))
                if change <= self.tol * scale:
                    status, converged = "ok", True
                    break
        else:
            if self.tol is None:
                status, converged = "ok", True
            else:
                message = (
                    f"not converged after max_epochs={self.max_epochs}: the last epoch moved "
                    f"a weight by {change:.3g} > tol * max|w| = {self.tol * scale:.3g}"
                )

        self.coef_ = w
        self.intercept_ = float(state[_kernels.STATE_INTERCEPT]) if self.fit_intercept else 0.0
        self.n_iter_ = epoch
        self.converged_ = converged
        self.status_ = status
        self.message_ = message
        self.eta0_ = eta0
        self._finish(memory, state)
        return self

    def _start_memory(self, w, state, memory, eta0, rule) -> None:
        """Set the rule's memory for the start ``w`` (and intercept in ``state``)."""

    def _finish(self, memory, state) -> None:
        """Set the rule's extra fitted attributes from its memory."""

    def _initial_rate(self, X: np.ndarray, full: bool, rule: _RuleParams) -> float:
        if full:
            lipschitz = _kernels.largest_eigenvalue(X, bool(self.fit_intercept))
        else:
            row_norms = np.einsum("ij,ij->i", X, X, dtype=np.float64)
            lipschitz = float(np.max(row_norms)) + float(bool(self.fit_intercept))
        if self._penalty.code == penalties.PENALTY_L2:
            lipschitz += float(self.alpha)
        else:
            lipschitz += float(self.alpha) * (1.0 - rule.l1_ratio)
        # All-zero X (and no intercept) has no curvature: any step is stable.
        return 1.0 / lipschitz if lipschitz > 0 else 1.0

    def predict(self, X):
        """Predictions ``X @ coef_ + intercept_``, shape (n_samples,)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return X @ self.coef_ + self.intercept_


class SGDSubgradient(_BaseSGD):
    """L1 by subgradient steps, ``w <- w - eta (grad + alpha sign(w))``, sign(0) = 0.

    The seed note's L1 rule. Parameters: see :class:`_BaseSGD`.
    """

    _rule = _kernels.RULE_SUBGRADIENT
    _penalty = L1()
    penalty_l1_ratio = 1.0


class SGDL2(_BaseSGD):
    """L2 by gradient steps (weight decay), ``w <- w - eta (grad + alpha w)``.

    The seed note's L2 rule; minimises the shared objective with Omega = 1/2 ||w||^2.
    Parameters: see :class:`_BaseSGD`.
    """

    _rule = _kernels.RULE_SUBGRADIENT
    _penalty = L2()
    penalty_l1_ratio = 0.0


class SGDProx(_BaseSGD):
    """L1 by proximal steps, ``w <- S(w - eta grad, eta alpha)``, S the soft-threshold.

    FOBOS for per-sample and mini-batch steps, ISTA for ``batch_size="full"``.
    Parameters: see :class:`_BaseSGD`.
    """

    _rule = _kernels.RULE_PROX
    _penalty = L1()
    penalty_l1_ratio = 1.0


class SGDCumulative(_BaseSGD):
    """L1 by the cumulative penalty of Tsuruoka, Tsujii and Ananiadou (ACL 2009).

    Each weight is clipped towards 0 (never past it) by the part of the total penalty
    ``u = sum_t eta_t alpha`` it has not received yet; scikit-learn's
    ``SGDRegressor(penalty="l1")`` runs the same algorithm. Parameters: see :class:`_BaseSGD`.
    """

    _rule = _kernels.RULE_CUMULATIVE
    _penalty = L1()
    penalty_l1_ratio = 1.0


class SGDTruncated(_BaseSGD):
    """L1 by the truncated gradient of Langford, Li and Zhang (JMLR 2009).

    Plain gradient steps; every ``period``-th step each weight with ``|w| <= theta`` moves
    ``period * eta * alpha`` towards 0, not past it. ``alpha`` is the paper's gravity g; with
    ``theta=inf`` and ``period=1`` the rule is :class:`SGDProx`.

    Parameters
    ----------
    theta : float, default=inf
        Only weights with ``|w| <= theta`` are truncated.
    period : int, default=10
        K: truncate every K-th update, by K times the per-step amount.
    Other parameters: see :class:`_BaseSGD`.
    """

    _rule = _kernels.RULE_TRUNCATED
    _penalty = L1()
    penalty_l1_ratio = 1.0

    def __init__(
        self,
        alpha: float = 1e-4,
        eta0: float | str = "auto",
        learning_rate: str = "invscaling",
        power_t: float = 0.5,
        max_epochs: int = 200,
        batch_size: int | str = 1,
        shuffle: bool = True,
        random_state=None,
        tol: float | None = 1e-3,
        fit_intercept: bool = True,
        warm_start: bool = False,
        theta: float = np.inf,
        period: int = 10,
    ):
        super().__init__(
            alpha=alpha,
            eta0=eta0,
            learning_rate=learning_rate,
            power_t=power_t,
            max_epochs=max_epochs,
            batch_size=batch_size,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            fit_intercept=fit_intercept,
            warm_start=warm_start,
        )
        self.theta = theta
        self.period = period

    def _check_rule_params(self) -> _RuleParams:
        _check_real("theta", self.theta, minimum=0.0)
        _check_int("period", self.period, 1)
        return _RuleParams(theta=float(self.theta), period=int(self.period))


def _check_real(name, value, minimum, strict=False, allowed=""):
    ok = isinstance(value, Real) and not isinstance(value, bool) and not np.isnan(value)
    ok = ok and (value > minimum if strict else value >= minimum)
    if not ok:
        relation = ">" if strict else ">="
        raise ValueError(
            f"{name}={value!r}: allowed values are {allowed}{' ' if allowed else ''}"
            f"reals {relation} {minimum}"
        )


class _ElasticNetRule(_BaseSGD):
    """A rule for the elastic-net penalty Omega = l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2."""

    @property
    def _penalty(self) -> ElasticNet:
        return ElasticNet(float(self.l1_ratio))

    @property
    def penalty_l1_ratio(self) -> float:
        """The ``l1_ratio`` of the penalty this model minimises (1: the Lasso's L1)."""
        return float(self.l1_ratio)

    def _check_l1_ratio(self) -> float:
        value = self.l1_ratio
        if not (isinstance(value, Real) and not isinstance(value, bool) and 0.0 <= value <= 1.0):
            raise ValueError(f"l1_ratio={value!r}: allowed values are reals in [0, 1]")
        return float(value)

    def _check_rule_params(self) -> _RuleParams:
        return _RuleParams(l1_ratio=self._check_l1_ratio())


class SGDClip(_ElasticNetRule):
    """L1 by subgradient steps that clip at 0: tensorflow/playground's L1 rule.

    ``v = w - eta (grad + alpha sign(w))`` as in :class:`SGDSubgradient`; a weight whose
    penalty step would carry it across 0 (``w - eta grad`` and ``v`` of opposite signs) is set
    to 0 instead. Where no weight crosses 0 the steps are those of :class:`SGDSubgradient`.

    Parameters
    ----------
    l1_ratio : float, default=1.0
        The L1 share of the penalty, in [0, 1]: the step uses the subgradient
        ``l1_ratio sign(w) + (1 - l1_ratio) w``.
    Other parameters: see :class:`_BaseSGD`.
    """

    _rule = _kernels.RULE_CLIP

    def __init__(
        self,
        alpha: float = 1e-4,
        eta0: float | str = "auto",
        learning_rate: str = "invscaling",
        power_t: float = 0.5,
        max_epochs: int = 200,
        batch_size: int | str = 1,
        shuffle: bool = True,
        random_state=None,
        tol: float | None = 1e-3,
        fit_intercept: bool = True,
        warm_start: bool = False,
        l1_ratio: float = 1.0,
    ):
        super().__init__(
            alpha=alpha,
            eta0=eta0,
            learning_rate=learning_rate,
            power_t=power_t,
            max_epochs=max_epochs,
            batch_size=batch_size,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            fit_intercept=fit_intercept,
            warm_start=warm_start,
        )
        self.l1_ratio = l1_ratio


class SGDRDA(_ElasticNetRule):
    """L1 (or elastic net) by regularized dual averaging (Xiao, JMLR 11, 2010).

    After step t the weights are a closed-form function of the average data gradient
    ``gbar = G / t``: ``w = S(c w0 - gbar, lam1 + rho c) / (lam2 + c)``, with ``c = 1/(t eta_t)``,
    S the soft-threshold, ``lam1 = alpha l1_ratio``, ``lam2 = alpha (1 - l1_ratio)`` and w0 the
    prox centre (0; the previous ``coef_`` with ``warm_start``, when the sums restart). A weight
    is exactly 0 while ``|c w0 - gbar| <= lam1 + rho c``. In Xiao's notation
    ``beta_t = 1/eta_t``: the default schedule ``eta_t = eta0 / sqrt(t)`` is his
    ``beta_t = gamma sqrt(t)`` with ``gamma = 1/eta0``; ``rho = 0`` is l1-RDA, ``rho > 0``
    enhanced l1-RDA (threshold ``lam1 + gamma rho / sqrt(t)``).

    Parameters
    ----------
    l1_ratio : float, default=1.0
        The L1 share of the elastic-net penalty, in [0, 1].
    rho : float, default=0.0
        Enhanced l1-RDA's rho >= 0 (0: plain l1-RDA).
    Other parameters: see :class:`_BaseSGD`.

    Attributes
    ----------
    coef_average_ : ndarray of shape (n_features,)
        The average of the iterates after each step of this fit, the point Xiao's
        convergence theorem is about (``coef_`` is the last, sparse, iterate).
    intercept_average_ : float
        The same average of the intercept.
    """

    _rule = _kernels.RULE_RDA

    def __init__(
        self,
        alpha: float = 1e-4,
        eta0: float | str = "auto",
        learning_rate: str = "invscaling",
        power_t: float = 0.5,
        max_epochs: int = 200,
        batch_size: int | str = 1,
        shuffle: bool = True,
        random_state=None,
        tol: float | None = 1e-3,
        fit_intercept: bool = True,
        warm_start: bool = False,
        l1_ratio: float = 1.0,
        rho: float = 0.0,
    ):
        super().__init__(
            alpha=alpha,
            eta0=eta0,
            learning_rate=learning_rate,
            power_t=power_t,
            max_epochs=max_epochs,
            batch_size=batch_size,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            fit_intercept=fit_intercept,
            warm_start=warm_start,
        )
        self.l1_ratio = l1_ratio
        self.rho = rho

    def _check_rule_params(self) -> _RuleParams:
        _check_real("rho", self.rho, minimum=0.0)
        return _RuleParams(l1_ratio=self._check_l1_ratio(), rho=float(self.rho))

    def _start_memory(self, w, state, memory, eta0, rule) -> None:
        memory[_kernels.MEMORY_CENTER] = w
        state[_kernels.STATE_INTERCEPT_CENTER] = state[_kernels.STATE_INTERCEPT]

    def _finish(self, memory, state) -> None:
        steps = max(state[_kernels.STATE_STEP] - 1.0, 1.0)
        self.coef_average_ = (memory[_kernels.MEMORY_TOTAL] / steps).astype(self.coef_.dtype)
        self.intercept_average_ = (
            float(state[_kernels.STATE_INTERCEPT_TOTAL] / steps) if self.fit_intercept else 0.0
        )


class SGDFTRL(_ElasticNetRule):
    """L1 (or elastic net) by FTRL-Proximal (McMahan et al., KDD 2013, Algorithm 1).

    Per-coordinate rates ``eta0 / (beta + sqrt(n_i))``, n_i the sum of coordinate i's squared
    gradients. The paper's parameters in the suite's scale: its alpha is ``eta0``, its beta
    ``beta``, and its lambda1, lambda2 after t steps are ``t alpha l1_ratio`` and
    ``t alpha (1 - l1_ratio)``: the penalty of the sum of t losses, so that the fixed point is
    the minimiser of the shared objective (the paper's constant lambda1 over T steps is
    ``alpha = lambda1 / T``). ``w_i = 0`` while ``|z_i| <= t alpha l1_ratio``. With
    ``alpha = 0`` it is per-coordinate adaptive gradient descent,
    ``w_i <- w_i - eta0 g_i / (beta + sqrt(n_i))``. The rates are the rule's own: it has no
    ``learning_rate`` or ``power_t``. ``warm_start`` starts from the previous ``coef_`` (the
    paper's initial quadratic centred there) with fresh sums.

    Parameters
    ----------
    eta0 : float or "auto", default="auto"
        The paper's alpha; ``"auto"`` is ``beta / L`` (the first step's rate ``eta0 / beta`` is
        the suite's stable 1/L, see :class:`_BaseSGD`).
    l1_ratio : float, default=1.0
        The L1 share of the elastic-net penalty, in [0, 1].
    beta : float, default=1.0
        The paper's beta > 0.
    Other parameters: see :class:`_BaseSGD`.
    """

    _rule = _kernels.RULE_FTRL

    def __init__(
        self,
        alpha: float = 1e-4,
        eta0: float | str = "auto",
        max_epochs: int = 200,
        batch_size: int | str = 1,
        shuffle: bool = True,
        random_state=None,
        tol: float | None = 1e-3,
        fit_intercept: bool = True,
        warm_start: bool = False,
        l1_ratio: float = 1.0,
        beta: float = 1.0,
    ):
        self.alpha = alpha
        self.eta0 = eta0
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.warm_start = warm_start
        self.l1_ratio = l1_ratio
        self.beta = beta

    def _schedule(self) -> tuple[int, float]:
        return _kernels.SCHEDULE_CONSTANT, 0.0

    def _check_rule_params(self) -> _RuleParams:
        _check_real("beta", self.beta, minimum=0.0, strict=True)
        return _RuleParams(l1_ratio=self._check_l1_ratio(), beta=float(self.beta))

    def _initial_rate(self, X: np.ndarray, full: bool, rule: _RuleParams) -> float:
        return rule.beta * super()._initial_rate(X, full, rule)

    def _start_memory(self, w, state, memory, eta0, rule) -> None:
        # z = -(beta / eta0) w0 makes the first weights w0: the paper's quadratic centred there.
        memory[_kernels.MEMORY_SUM] = -(rule.beta / eta0) * w
        state[_kernels.STATE_INTERCEPT_SUM] = -(rule.beta / eta0) * state[_kernels.STATE_INTERCEPT]
