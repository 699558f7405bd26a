"""sparsity-lab: how often do L1, L2 and SGD-style penalties make coefficients exactly zero?"""

__version__ = "0.1.0"
