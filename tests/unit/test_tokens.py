"""API token secrets (tokens.py)."""

from cronium.tokens import hash_token, new_token_secret


def test_token_secrets_are_random_and_stored_hashed() -> None:
    first, second = new_token_secret(), new_token_secret()
    assert first != second
    assert first.startswith("crn_")
    assert len(hash_token(first)) == 64
    assert hash_token(first) == hash_token(first)
