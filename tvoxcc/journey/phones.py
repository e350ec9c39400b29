"""Phone numbers in E.164, the one form contacts are stored and matched in."""

from __future__ import annotations

import phonenumbers


def to_e164(number: str, country: str) -> str | None:
    """``02 1234 5678`` with country IT -> ``+390212345678``; None when it is not a phone number.

    Short internal numbers (extensions) are not phone numbers: they stay unmatched rather than being
    taken for a wrong national number.
    """
    text = number.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, country.upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
