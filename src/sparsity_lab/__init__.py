"""sparsity-lab: how often do L1, L2 and SGD-style penalties make coefficients exactly zero?

Reading results from Python::

    import sparsity_lab
    fits = sparsity_lab.read_fits("results/quickstart/latest")   # the newest quickstart run
    coefs = sparsity_lab.read_coefs("results/quickstart/latest")
    sparsity_lab.list_runs("quickstart")                         # every run, oldest first
"""

__version__ = "0.1.0"

#: Public readers, imported on first use (``import sparsity_lab`` stays cheap).
_READERS = ("read_fits", "read_coefs", "list_runs", "resolve_run")
__all__ = ["__version__", *_READERS]


def __getattr__(name: str):
    if name in _READERS:
        from sparsity_lab import results

        return getattr(results, name)
    raise AttributeError(f"module 'sparsity_lab' has no attribute {name!r}")
