"""tamis: consent-aware training snapshots from a platform's member data.

The public surface is small on purpose; everything else lives in the area packages
(``tamis.policy``, ``tamis.consent``, ``tamis.sources``, ``tamis.pipeline`` ...).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tamis")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
