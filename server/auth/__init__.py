"""Identities: API tokens, OIDC bearer JWTs, and the principal they resolve to."""
