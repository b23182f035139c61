"""Free text from a form, made safe to store and show: NFC, no invisible or control characters.

Zero-width characters, bidi overrides and C0/C1 controls are removed (newlines and tabs stay in
long text); a value with nothing visible left is empty, so "required" means something a person can see.
"""
from __future__ import annotations

import unicodedata

# Format characters (Cf: zero-width space/joiners, bidi marks and overrides, the BOM, soft hyphen…)
# and controls (Cc); plus the few invisible ones Unicode files elsewhere.
_INVISIBLE_EXTRA = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_KEEP_IN_LONG = frozenset("\n\t")


def _dropped(ch: str, multiline: bool) -> bool:
    if multiline and ch in _KEEP_IN_LONG:
        return False
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") or ch in _INVISIBLE_EXTRA


def normalise(text: str | None, *, multiline: bool = False) -> str | None:
    """The text as stored: None when nothing visible is left."""
    if not isinstance(text, str):
        return None
    cleaned = "".join(ch for ch in unicodedata.normalize("NFC", text) if not _dropped(ch, multiline))
    cleaned = cleaned.strip()  # Unicode whitespace too: a name of only no-break spaces is empty
    return cleaned or None
