"""Telling whether a widget would show anything new: redrawing the same content is not free."""

from __future__ import annotations

from rich.text import Text


def same_text(a: Text | str | None, b: object) -> bool:
    """``a`` and ``b`` show alike: the same characters in the same styles. (``Text``'s own
    ``==`` ignores its base style.)"""
    if isinstance(a, Text) and isinstance(b, Text):
        return a.plain == b.plain and a.style == b.style and a.spans == b.spans and a.end == b.end
    return type(a) is type(b) and a == b
