"""Escaped asset-key strings: components joined by ``/``, with ``\\`` and ``/`` escaped."""

from __future__ import annotations

from collections.abc import Sequence

from ._base import ProtocolError, quote

__all__ = ["escape_asset_key", "unescape_asset_key"]


def escape_asset_key(parts: Sequence[str] | str | object) -> str:
    """Join asset-key components into the escaped string used on the wire.

    Inside a component ``\\`` becomes ``\\\\`` and ``/`` becomes ``\\/``. A plain ``str`` is
    one component (like ``AssetKey("a/b")``); objects with a ``.path`` list (AssetKey) work::

        >>> escape_asset_key(["a", "b/c"])
        'a/b\\\\/c'
        >>> unescape_asset_key('a/b\\\\/c')
        ['a', 'b/c']
    """
    path = getattr(parts, "path", None)
    if path is not None and not isinstance(parts, str):
        parts = path
    if isinstance(parts, str):
        parts = [parts]
    try:
        items = list(parts)  # type: ignore[call-overload]
    except TypeError:
        raise ProtocolError(
            f"asset key {quote(parts)} must be a list of strings or an AssetKey"
        ) from None
    if not items:
        raise ProtocolError("asset key [] is empty; give at least one component, e.g. ['orders']")
    out = []
    for item in items:
        if not isinstance(item, str):
            raise ProtocolError(
                f"asset key {quote(items)} has a non-string component {quote(item)}; "
                "every component must be a str"
            )
        if not item:
            raise ProtocolError(
                f"asset key {quote(items)} has an empty component; components must be non-empty"
            )
        out.append(item.replace("\\", "\\\\").replace("/", "\\/"))
    return "/".join(out)


def unescape_asset_key(value: str) -> list[str]:
    """Split an escaped asset-key string into its components.

    ``\\X`` means a literal ``X``; an unescaped ``/`` splits; a trailing empty component is
    dropped (``"a/"`` is ``["a"]``). A dangling ``\\`` at the end, an empty component
    (``"a//b"``) or a string with no component raises :class:`ProtocolError`.
    """
    if not isinstance(value, str):
        raise ProtocolError(
            f"escaped asset key must be a string like 'a/b', got {type(value).__name__} "
            f"{quote(value)}"
        )
    if "\\" not in value:
        parts = value.split("/")
    else:
        parts = []
        buf: list[str] = []
        i, n = 0, len(value)
        while i < n:
            ch = value[i]
            if ch == "\\":
                if i + 1 >= n:
                    raise ProtocolError(
                        f"escaped asset key {quote(value)} ends with a dangling backslash; "
                        "write a literal backslash as \\\\\\\\ (see escape_asset_key)"
                    )
                buf.append(value[i + 1])
                i += 2
                continue
            if ch == "/":
                parts.append("".join(buf))
                buf = []
            else:
                buf.append(ch)
            i += 1
        parts.append("".join(buf))
    if parts and parts[-1] == "":
        parts.pop()
    if not parts or parts == [""]:
        raise ProtocolError(
            f"escaped asset key {quote(value)} has no component; expected e.g. 'orders' or 'a/b'"
        )
    if "" in parts:
        raise ProtocolError(
            f"escaped asset key {quote(value)} has an empty component; components are "
            "separated by a single '/' and must be non-empty"
        )
    return parts
