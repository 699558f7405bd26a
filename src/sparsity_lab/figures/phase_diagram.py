"""The phase diagram of exact support recovery by L1, with the Donoho-Tanner curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sparsity_lab.figures._common import new_figure, require_columns
from sparsity_lab.figures.style import theme

#: The empirical transition drawn as this level set of the success rate.
TRANSITION_LEVEL = 0.5
CURVE_COLOR = "black"
CONTOUR_COLOR = "white"


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges around sorted centres: midpoints inside, half a step out, clipped to [0, 1]."""
    if centres.size == 1:
        return np.array([max(0.0, centres[0] - 0.05), min(1.0, centres[0] + 0.05)])
    mid = (centres[1:] + centres[:-1]) / 2
    first = centres[0] - (mid[0] - centres[0])
    last = centres[-1] + (centres[-1] - mid[-1])
    return np.clip(np.concatenate([[first], mid, [last]]), 0.0, 1.0)


def phase_grid(phase: pd.DataFrame) -> pd.DataFrame:
    """Pooled success rate per grid cell (over seeds and repeated rows).

    Returns
    -------
    DataFrame, shape (n_cells, 5)
        ``delta_target``, ``rho_target``, ``n_success``, ``n_trials``, ``success_rate``.
    """
    grid = phase.groupby(["delta_target", "rho_target"], sort=True)[["n_success", "n_trials"]]
    out = grid.sum().reset_index()
    out["success_rate"] = out["n_success"] / out["n_trials"]
    return out


def plot_phase_diagram(phase: pd.DataFrame, curve: pd.DataFrame | None = None) -> Figure:
    """Heatmap of the success rate over (delta = n/p, rho = k/n), with rho_DT(delta) on top.

    Parameters
    ----------
    phase : DataFrame, shape (n_cells, >= 6)
        A phase table: ``delta_target``, ``rho_target``, ``n_success``, ``n_trials``,
        ``p``, ``rho_theory`` and ``delta`` (several seeds are pooled per cell).
    curve : DataFrame, shape (m, 2), optional
        ``delta``, ``rho_theory`` on a fine grid (``phase_curve.parquet``); without it the curve
        is drawn through the table's own ``(delta, rho_theory)`` points.

    Returns
    -------
    Figure
        One panel: the success rate per cell (colour, 0 to 1), the empirical 50% level set
        (white) and the theoretical curve (black).
    """
    need = ["delta_target", "rho_target", "n_success", "n_trials", "p", "delta", "rho_theory"]
    require_columns(phase, need, "phase table")
    grid = phase_grid(phase)
    deltas = np.unique(grid["delta_target"])
    rhos = np.unique(grid["rho_target"])
    rate = (
        grid.pivot(index="rho_target", columns="delta_target", values="success_rate")
        .reindex(index=rhos, columns=deltas)
        .to_numpy()
    )
    if curve is None or curve.empty:
        curve = phase[["delta", "rho_theory"]].drop_duplicates().sort_values("delta")
    p = sorted(int(v) for v in phase["p"].unique())
    trials = int(grid["n_trials"].min())

    with theme():
        fig, (ax,) = new_figure(1)
        fig.set_size_inches(5.4, 4.2)
        mesh = ax.pcolormesh(_edges(deltas), _edges(rhos), np.ma.masked_invalid(rate),
                             cmap="viridis", vmin=0.0, vmax=1.0, shading="flat")  # fmt: skip
        crosses = np.nanmin(rate) < TRANSITION_LEVEL < np.nanmax(rate)
        if deltas.size > 1 and rhos.size > 1 and crosses:
            ax.contour(deltas, rhos, rate, levels=[TRANSITION_LEVEL], colors=CONTOUR_COLOR,
                       linewidths=1.5, linestyles="--")  # fmt: skip
            ax.plot([], [], color=CONTOUR_COLOR, ls="--", label="empirical 50% success")
        ax.plot(curve["delta"], curve["rho_theory"], color=CURVE_COLOR, lw=2,
                label=r"Donoho-Tanner $\rho_{DT}(\delta)$")  # fmt: skip
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel(r"$\delta = n/p$ (measurements / dimension)")
        ax.set_ylabel(r"$\rho = k/n$ (nonzeros / measurements)")
        p_text = ", ".join(map(str, p))
        ax.set_title(f"L1 exact recovery, p = {p_text}, {trials} trials/cell")
        fig.colorbar(mesh, ax=ax, label="success rate")
        ax.legend(loc="upper left", facecolor="0.85", framealpha=0.9, frameon=True)
    return fig
