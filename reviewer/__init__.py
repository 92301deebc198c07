"""reviewer: check a doctor's social-media draft against the GMC guidance, locally."""

from reviewer import offline as _offline

_offline.enforce()

__version__ = "0.1.0"
