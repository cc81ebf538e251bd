"""A person's language is kept on the account, on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from obolo.bootstrap import Platform, build
from tests.integration.api_world import cheap_hashing


@pytest.fixture
def platform(db_url: str, clock) -> Iterator[Platform]:
    built = build(url=db_url, clock=clock, migrate=True)
    cheap_hashing(built)
    yield built
    built.close()


def test_the_language_is_kept_and_taken_to_the_nearest_spoken(platform: Platform) -> None:
    user = platform.identity.sign_up(
        "lucia@example.com", "correct horse battery staple", "Lucia", language="it-IT"
    )
    assert user.language == "it"
    assert platform.identity.get_user(user.id).language == "it"
    assert platform.identity.set_language(user.id, "EN") == "en"
    assert platform.identity.language(user.id) == "en"
    assert platform.identity.set_language(user.id, "fr") == "en"
    assert platform.identity.language("nobody") == "en"
