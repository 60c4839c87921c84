"""Settings that would weaken the server are refused when it starts, with a message saying what to do."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from metalgraph.server.settings import MIN_ADMIN_TOKEN_CHARS, Settings


def test_a_guessable_admin_token_is_refused_and_a_long_one_taken() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(admin_token="admin-2026")  # type: ignore[arg-type]
    token = "x" * MIN_ADMIN_TOKEN_CHARS
    settings = Settings(admin_token=token)  # type: ignore[arg-type]
    assert settings.admin_token is not None and settings.admin_token.get_secret_value() == token
    assert Settings().admin_token is None


def test_the_admin_token_from_the_environment_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METALGRAPH_ADMIN_TOKEN", "short")
    with pytest.raises(ValidationError, match="admin_token"):
        Settings()
