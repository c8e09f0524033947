"""What a pinned link may be: an http(s) URL that names a host, and a visible title.

Listeners open a pinned link from the Space's page, so anything a browser would run or
render inline instead of visiting (javascript:, data:, file:, …) is refused, and so are
URLs carrying a user name or password (`https://bank.example@evil.example/` reads as
the bank's). InvalidInput says what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from domain import text
from domain.errors import InvalidInput

MAX_URL_LENGTH = 2048  # what every browser and most servers take
MAX_LINK_TITLE_LENGTH = 100
SCHEMES = ("http", "https")


@dataclass(frozen=True)
class PinnedLink:
    url: str
    title: str


def pinned_link(url: str, title: str) -> PinnedLink:
    if any(character.isspace() for character in url):
        raise InvalidInput("A URL has no spaces in it; percent-encode them (%20).")
    url = text.visible(url, "A pinned link's URL", MAX_URL_LENGTH)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - urlsplit checks the port only when it is asked for
    except ValueError as error:
        raise InvalidInput(f"This is not a URL a browser can open ({error}).") from None
    if parts.scheme.lower() not in SCHEMES:
        raise InvalidInput("Only http:// and https:// links can be pinned.")
    if not parts.hostname:
        raise InvalidInput("A pinned link names a host, as in https://example.com/page.")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("A pinned link may not carry a user name or password (user@host).")
    title = text.visible(title, "A pinned link's title", MAX_LINK_TITLE_LENGTH)
    if not title:
        raise InvalidInput(f"A pinned link has a title of 1 to {MAX_LINK_TITLE_LENGTH} characters.")
    return PinnedLink(url, title)
