"""Users and their API tokens (domain/user.py)."""

from datetime import UTC, datetime, timedelta

from cronium.domain.user import ApiToken, Scope

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_token_is_unusable_once_expired_or_revoked() -> None:
    token = ApiToken(1, 1, "t", "crn_x", frozenset(Scope), NOW, NOW + timedelta(days=1), None, None)
    assert token.is_usable(NOW)
    assert not token.is_usable(NOW + timedelta(days=2))
    revoked = ApiToken(1, 1, "t", "crn_x", frozenset(Scope), NOW, None, NOW, None)
    assert not revoked.is_usable(NOW)
