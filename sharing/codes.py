"""Items' short codes: six characters printed beside each item on a paper sheet (with a QR code
of ``/i/<code>``), that the app or a volunteer turns back into the item.

The alphabet leaves out what reads two ways on paper or by phone: no 0 or O, no 1, I or L. Codes
are drawn at random (31^6, about 887 million) when the item is listed, unique by a database
constraint (``sharing_item_code_unique``) and checked by another (``sharing_item_code_shape``).
A code someone typed is read in capitals, spaces and dashes left out.
"""

from __future__ import annotations

import re
import secrets

ITEM_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ITEM_CODE_LENGTH = 6
# The shape the database checks too (sharing.models.Item.Meta.constraints).
ITEM_CODE_PATTERN = f"^[{ITEM_CODE_ALPHABET}]{{{ITEM_CODE_LENGTH}}}$"
_SHAPE = re.compile(ITEM_CODE_PATTERN)
_SEPARATORS = re.compile(r"[\s\-]+")


def new_item_code() -> str:
    """A new random code (its uniqueness is the database's business)."""
    return "".join(secrets.choice(ITEM_CODE_ALPHABET) for _ in range(ITEM_CODE_LENGTH))


def item_code_read(raw: str) -> str | None:
    """The code someone typed or scanned, as stored (``"abc-d2f"`` is ``"ABCD2F"``); ``None``
    when it cannot be a code."""
    if not isinstance(raw, str) or len(raw) > 3 * ITEM_CODE_LENGTH:
        return None
    code = _SEPARATORS.sub("", raw).upper()
    return code if _SHAPE.match(code) else None
