"""tamis: consent-aware training snapshots from a platform's member data.

The public surface is small on purpose; everything else lives in the area packages
(``tamis.policy``, ``tamis.consent``, ``tamis.sources``, ``tamis.pipeline`` ...).
"""

# The one place the version is written: pyproject.toml reads it from here (asking the installed
# metadata at run time cost every command 40-60 ms of importlib.metadata).
__version__ = "0.1.0"

__all__ = ["__version__"]
