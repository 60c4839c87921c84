"""The authentication layer's error family.

Every way a credential can fail to identify a caller derives from `AuthenticationError`, so the
HTTP layer can answer all of them with one `401` (or a `503` for the subclasses that say the
identity provider could not be reached). Messages say what was wrong in general terms and never
quote the credential.
"""

from __future__ import annotations


class AuthenticationError(Exception):
    """The presented credentials do not identify a caller; the message never contains them."""
