"""The asset graph: every asset key, who computes it, its parents and children."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..asset_key import AssetKey
from ..errors import DefinitionError
from .definition import AssetChecksDefinition, AssetsDefinition
from .spec import AssetCheckKey, AssetSpec

__all__ = ["AssetGraph"]


def _did_you_mean(name: str, options: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class AssetGraph:
    """Built from the assets and checks of a Definitions; answers graph questions fast."""

    def __init__(self, assets: Sequence[AssetsDefinition],
                 checks: Sequence[AssetChecksDefinition] = ()) -> None:
        self.assets_defs = list(assets)
        self.checks_defs = list(checks)
        self.assets_def_by_key: dict[AssetKey, AssetsDefinition] = {}
        self.spec_by_key: dict[AssetKey, AssetSpec] = {}
        self.duplicates: list[str] = []
        def_by_key, spec_by_key = self.assets_def_by_key, self.spec_by_key
        for ad in self.assets_defs:
            for key, spec in ad.specs_by_key.items():
                prev = def_by_key.get(key)
                if prev is not None:
                    if prev.is_external and not ad.is_external:
                        pass  # a computed definition replaces an external declaration
                    elif ad.is_external:
                        continue
                    else:
                        self.duplicates.append(
                            f"asset key '{key.to_user_string()}' is defined twice (by "
                            f"'{prev.name}' and '{ad.name}'); rename one with key= or "
                            f"key_prefix="
                        )
                        continue
                def_by_key[key] = ad
                spec_by_key[key] = spec
        self.parents: dict[AssetKey, list[AssetKey]] = {}
        self.children: dict[AssetKey, list[AssetKey]] = {k: [] for k in self.spec_by_key}
        self.missing: list[tuple[AssetKey, AssetKey]] = []
        parents, children, missing = self.parents, self.children, self.missing
        for key, spec in spec_by_key.items():
            # the spec's own list, shared (the graph never changes it; nor may callers)
            ps = spec._dep_key_list()
            parents[key] = ps
            for p in ps:
                cs = children.get(p)
                if cs is not None:
                    cs.append(key)
                else:
                    missing.append((key, p))
        self.checks_by_asset: dict[AssetKey, list[tuple[AssetCheckKey, Any]]] = {}
        for ad in self.assets_defs:
            for ck, cs in ad.check_specs_by_key.items():
                self.checks_by_asset.setdefault(ck.asset_key, []).append((ck, cs))
        for cd in self.checks_defs:
            for cs in cd.specs:
                self.checks_by_asset.setdefault(cs.asset_key, []).append((cs.key, cs))
        self._topo: list[AssetKey] | None = None

    # questions ----------------------------------------------------------------------------
    @property
    def all_keys(self) -> list[AssetKey]:
        return list(self.spec_by_key)

    @property
    def executable_keys(self) -> list[AssetKey]:
        return [k for k, ad in self.assets_def_by_key.items() if not ad.is_external]

    def has(self, key: AssetKey) -> bool:
        return key in self.spec_by_key

    def is_external(self, key: AssetKey) -> bool:
        return self.assets_def_by_key[key].is_external

    def get(self, key: AssetKey) -> AssetsDefinition:
        try:
            return self.assets_def_by_key[key]
        except KeyError:
            raise DefinitionError(
                f"no asset '{key.to_user_string()}' is defined"
                + _did_you_mean(key.to_user_string(),
                                (k.to_user_string() for k in self.spec_by_key))
            ) from None

    def group_of(self, key: AssetKey) -> str:
        return self.spec_by_key[key].group_name or "default"

    def upstream(self, keys: Iterable[AssetKey], depth: int | None = None,
                 include_self: bool = True) -> set[AssetKey]:
        return self._walk(keys, self.parents, depth, include_self)

    def downstream(self, keys: Iterable[AssetKey], depth: int | None = None,
                   include_self: bool = True) -> set[AssetKey]:
        return self._walk(keys, self.children, depth, include_self)

    def _walk(self, keys: Iterable[AssetKey], edges: dict[AssetKey, list[AssetKey]],
              depth: int | None, include_self: bool) -> set[AssetKey]:
        start = set(keys)
        seen = set(start)
        frontier = list(start)
        level = 0
        while frontier and (depth is None or level < depth):
            level += 1
            nxt = []
            for k in frontier:
                for n in edges.get(k, ()):
                    if n not in seen and n in self.spec_by_key:
                        seen.add(n)
                        nxt.append(n)
            frontier = nxt
        return seen if include_self else seen - start

    def toposort(self) -> list[AssetKey]:
        """Keys in dependency order. Raises DefinitionError naming a cycle's path."""
        if self._topo is not None:
            return self._topo
        children = self.children
        indeg = dict.fromkeys(self.spec_by_key, 0)
        for k, ps in self.parents.items():
            n = 0
            for p in ps:
                if p in children:  # same keys as indeg
                    n += 1
            indeg[k] = n
        order = [k for k, d in indeg.items() if d == 0]
        for k in order:  # grows while it is walked
            for c in children[k]:
                d = indeg[c] - 1
                indeg[c] = d
                if d == 0:
                    order.append(c)
        if len(order) != len(indeg):
            msg = (f"assets form a cycle: {self.find_cycle()}; break it by removing one of "
                   f"these dependencies")
            raise DefinitionError(msg, [msg])
        self._topo = order
        return order

    def find_cycle(self) -> str:
        WHITE, GREY, BLACK = 0, 1, 2
        color = {k: WHITE for k in self.spec_by_key}
        stack_path: list[AssetKey] = []

        for root in self.spec_by_key:
            if color[root] != WHITE:
                continue
            stack = [(root, iter(self.children[root]))]
            color[root] = GREY
            stack_path.append(root)
            while stack:
                node, it = stack[-1]
                advanced = False
                for c in it:
                    if color[c] == GREY:
                        cyc = stack_path[stack_path.index(c):] + [c]
                        return " → ".join(k.to_user_string() for k in cyc)
                    if color[c] == WHITE:
                        color[c] = GREY
                        stack_path.append(c)
                        stack.append((c, iter(self.children[c])))
                        advanced = True
                        break
                if not advanced:
                    color[node] = BLACK
                    stack_path.pop()
                    stack.pop()
        return ""

    def check_problems(self) -> list[str]:
        """Every structural problem: duplicates, missing upstreams, cycles, bad checks."""
        problems = list(self.duplicates)
        known = [k.to_user_string() for k in self.spec_by_key] if self.missing or any(
            cs.asset_key not in self.spec_by_key for cd in self.checks_defs for cs in cd.specs
        ) else []
        for key, missing in self.missing:
            problems.append(
                f"asset '{key.to_user_string()}' depends on '{missing.to_user_string()}', "
                f"which no asset defines{_did_you_mean(missing.to_user_string(), known)}; "
                f"define it, declare it as external with AssetSpec('{missing.to_user_string()}'),"
                f" or fix the name"
            )
        for cd in self.checks_defs:
            for cs in cd.specs:
                if cs.asset_key not in self.spec_by_key:
                    problems.append(
                        f"asset check '{cs.name}' targets asset '{cs.asset_key.to_user_string()}'"
                        f", which no asset defines"
                        f"{_did_you_mean(cs.asset_key.to_user_string(), known)}"
                    )
        try:
            self.toposort()
        except DefinitionError as exc:
            problems.extend(exc.problems)
        return problems
