"""What a person's text (a title, a reason) may hold: visible characters only.

Control characters (NUL among them), lone surrogates, invisible characters and the ones
that reverse the direction of what follows would let text look like something it is not,
or fail to store; they are refused with the character named, never silently dropped."""

from __future__ import annotations

import unicodedata

from domain.errors import InvalidInput

MAX_REASON_LENGTH = 500
INVISIBLE = {0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF, 0x061C}
DIRECTION_CHANGING = {*range(0x202A, 0x202F), *range(0x2066, 0x206A)}


def visible(value: str, what: str, longest: int) -> str:
    """`value` without surrounding spaces, checked; InvalidInput says what is wrong."""
    value = value.strip()
    if len(value) > longest:
        raise InvalidInput(f"{what} is at most {longest} characters.")
    for character in value:
        code = ord(character)
        if (code in INVISIBLE or code in DIRECTION_CHANGING
                or unicodedata.category(character) in ("Cc", "Cs")):
            raise InvalidInput(f"{what} may not contain control, invisible or direction-changing "
                               f"characters (U+{code:04X}).")
    return value


def reason(value: str | None) -> str | None:
    return None if value is None else visible(value, "A reason", MAX_REASON_LENGTH) or None
