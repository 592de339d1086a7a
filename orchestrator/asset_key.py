"""Asset keys: the names of assets, made of one or more string parts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["AssetKey", "CoercibleToAssetKey", "AssetKeyLike"]


class AssetKey:
    """The name of an asset: a non-empty sequence of string parts.

    ``AssetKey("orders")``, ``AssetKey(["warehouse", "orders"])`` and
    ``AssetKey.from_user_string("warehouse/orders")`` are the usual ways to make one::

        >>> key = AssetKey(["warehouse", "orders"])
        >>> key.path
        ['warehouse', 'orders']
        >>> key.to_user_string()
        'warehouse/orders'
        >>> key.with_prefix("prod")
        AssetKey(['prod', 'warehouse', 'orders'])
    """

    __slots__ = ("_parts", "_hash")

    def __init__(self, path: str | Sequence[str]) -> None:
        if isinstance(path, str) and path:
            parts: tuple[str, ...] = (path,)
        else:
            parts = (path,) if isinstance(path, str) else tuple(path)
            if not parts:
                raise ValueError("AssetKey needs at least one part, got an empty path")
            for part in parts:
                if not isinstance(part, str) or not part:
                    raise ValueError(f"AssetKey parts must be non-empty strings, got {part!r} "
                                     f"in {list(parts)!r}")
        self._parts = parts
        self._hash = hash(parts)

    @property
    def path(self) -> list[str]:
        """The parts of the key, as a list (Dagster's shape)."""
        return list(self._parts)

    @property
    def parts(self) -> tuple[str, ...]:
        """The parts of the key, as a tuple."""
        return self._parts

    def to_user_string(self) -> str:
        """The parts joined with ``/``: how keys are shown and typed on the command line."""
        return "/".join(self._parts)

    def to_python_identifier(self, suffix: str | None = None) -> str:
        """A name usable as a Python identifier or step key (``warehouse__orders``)."""
        base = "__".join(self._parts)
        ident = base if base.isidentifier() else "".join(
            c if c.isalnum() or c == "_" else "_" for c in base)
        return f"{ident}_{suffix}" if suffix else ident

    @classmethod
    def from_user_string(cls, value: str) -> AssetKey:
        """Parse ``"a/b/c"`` into ``AssetKey(["a", "b", "c"])``."""
        if cls is AssetKey:
            if value and "/" not in value:
                return _interned((value,))
            parts = tuple(p for p in value.split("/") if p)
            if parts:
                return _interned(parts)
        return cls([p for p in value.split("/") if p] or [value])

    @classmethod
    def from_coercible(cls, value: CoercibleToAssetKey) -> AssetKey:
        """Accept an AssetKey, a string (``"a/b"`` splits on ``/``) or a sequence of parts."""
        if isinstance(value, AssetKey):
            return value
        if isinstance(value, str):
            return cls.from_user_string(value)
        if isinstance(value, (list, tuple)):
            return cls(value)
        key = getattr(value, "key", None)
        if isinstance(key, AssetKey):  # an AssetsDefinition with a single key, or an AssetSpec
            return key
        raise TypeError(
            f"expected an asset key (AssetKey, 'a/b' string or list of parts), got {value!r}"
        )

    def with_prefix(self, prefix: str | Sequence[str]) -> AssetKey:
        """This key with ``prefix`` parts in front."""
        pre = [prefix] if isinstance(prefix, str) else list(prefix)
        return AssetKey([*pre, *self._parts])

    def has_prefix(self, prefix: Sequence[str]) -> bool:
        """True if the key starts with the given parts."""
        return list(self._parts[: len(prefix)]) == list(prefix)

    def __eq__(self, other: object) -> bool:
        return other is self or (isinstance(other, AssetKey) and other._parts == self._parts)

    def __lt__(self, other: AssetKey) -> bool:
        return self._parts < other._parts

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"AssetKey({list(self._parts)!r})"

    def __str__(self) -> str:
        return self.to_user_string()

    def __reduce__(self):  # pickle compactly
        return (AssetKey, (self._parts,))


# Keys parsed from strings are shared: equal keys are then mostly the same object, which makes
# dict and set lookups of keys skip __eq__ (a 5,000-asset graph does ~40,000 such lookups).
# Keys are immutable, so sharing is invisible; the table is bounded.
_INTERNED: dict[tuple[str, ...], AssetKey] = {}
_INTERN_MAX = 200_000


def _interned(parts: tuple[str, ...]) -> AssetKey:
    """The shared AssetKey of ``parts`` (non-empty strings, already checked by the caller)."""
    key = _INTERNED.get(parts)
    if key is None:
        if len(_INTERNED) >= _INTERN_MAX:
            _INTERNED.clear()
        key = object.__new__(AssetKey)
        key._parts = parts
        key._hash = hash(parts)
        _INTERNED[parts] = key
    return key


def key_of_parts(parts: Sequence[str]) -> AssetKey:
    """``AssetKey(parts)``, shared with equal keys made the same way (internal fast path)."""
    t = tuple(parts)
    key = _INTERNED.get(t)
    if key is not None:
        return key
    AssetKey(t)  # validates, raising the usual ValueError
    return _interned(t)


CoercibleToAssetKey = AssetKey | str | Sequence[str]
AssetKeyLike = CoercibleToAssetKey


def keys_from(values: Iterable[CoercibleToAssetKey]) -> list[AssetKey]:
    """Coerce each value to an AssetKey."""
    return [AssetKey.from_coercible(v) for v in values]
