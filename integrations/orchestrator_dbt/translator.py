"""How dbt nodes become assets: keys, groups, descriptions, metadata, owners, tags.

Subclass :class:`DbtTranslator` and override what you want to change::

    class PrefixedTranslator(DbtTranslator):
        def get_asset_key(self, node):
            return super().get_asset_key(node).with_prefix("warehouse")

        def get_group_name(self, node):
            return "dbt"

Every method receives a :class:`~orchestrator_dbt.DbtNode` (a model, seed, snapshot or source).
The defaults follow dagster-dbt's, so keys stay the same when a project moves over:

- asset key: the node's name (``<name>_v<version>`` for versioned models), prefixed with the
  node's configured ``schema`` when it sets one; sources: ``[source_name, table]``. A node can
  set its own key with ``meta: {orchestrator: {asset_key: [...]}}`` (``meta.dagster.asset_key``
  is honoured too).
- group: the dbt group, else the folder under ``models/`` (``staging``, ``marts_finance``),
  else ``"default"``;
- metadata: unique id, materialization, relation name, tags and the column schema;
- code version: dbt's checksum of the node's file;
- owners: ``meta.owner`` and the dbt group's owner; tags: dbt tags as ``{tag: ""}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.asset_key import AssetKey

from .manifest import DbtNode, DbtTest

__all__ = ["DbtTranslator"]

_GROUP_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


_NO_SECTION: Mapping[str, Any] = {}


def _meta_section(node: DbtNode) -> Mapping[str, Any]:
    meta = node.meta
    if not meta:  # the common case, checked first: this runs three times per node
        return _NO_SECTION
    section = meta.get("orchestrator")
    if isinstance(section, Mapping):
        return section
    section = meta.get("dagster")
    return section if isinstance(section, Mapping) else _NO_SECTION


class DbtTranslator:
    """Maps dbt nodes to asset keys, groups, descriptions, metadata, code versions, owners, tags."""

    def get_asset_key(self, node: DbtNode) -> AssetKey:
        """The asset key of a node or source."""
        custom = _meta_section(node).get("asset_key")
        if isinstance(custom, str) and custom:
            return AssetKey.from_user_string(custom)
        if isinstance(custom, Sequence) and custom and not isinstance(custom, str):
            return AssetKey([str(p) for p in custom])
        if node.resource_type == "source":
            return AssetKey([node.source_name or "source", node.name])
        name = node.name if node.version is None else f"{node.name}_v{node.version}"
        if node.configured_schema:
            return AssetKey([node.configured_schema, name])
        return AssetKey(name)

    def get_group_name(self, node: DbtNode) -> str:
        """The asset group: the dbt group, else the node's folder, else ``"default"``."""
        custom = _meta_section(node).get("group")
        if isinstance(custom, str) and custom:
            return custom
        if node.group:
            return node.group
        if node.resource_type == "source":
            # fqn is [package, folder..., source_name, table]
            folders: Sequence[str] = node.fqn[1:-2]
        else:
            # path is relative to the resource's directory: "marts/finance/orders.sql"
            folders = node.path.replace("\\", "/").split("/")[:-1]
        if not folders:
            return "default"
        return _GROUP_UNSAFE.sub("_", "_".join(folders))

    def get_description(self, node: DbtNode) -> str:
        """The node's dbt description, else ``"dbt <resource type> <name>"``."""
        if node.description:
            return node.description
        if node.resource_type == "source":
            return f"dbt source {node.source_name}.{node.name}"
        return f"dbt {node.resource_type} {node.name}"

    def get_metadata(self, node: DbtNode) -> dict[str, Any]:
        """Definition metadata: unique id, materialization, relation, tags, column schema.

        ``table_schema`` is a :class:`orchestrator.metadata.TableSchema` value when the core
        offers it, else a plain ``{"columns": [{"name", "type", "description"}]}`` dict.
        """
        md: dict[str, Any] = {"dbt/unique_id": node.unique_id}
        if node.materialized:
            md["dbt/materialization"] = node.materialized
        if node.relation_name:
            md["dbt/relation_name"] = node.relation_name
        if node.tags:
            md["dbt/tags"] = list(node.tags)
        if node.columns:
            md["table_schema"] = _table_schema(node)
        return md

    def get_code_version(self, node: DbtNode) -> str | None:
        """dbt's checksum of the node's file (``None`` for sources)."""
        return node.checksum

    def get_owners(self, node: DbtNode) -> list[str]:
        """``meta.owner`` (string or list) and the owner of the node's dbt group."""
        custom = _meta_section(node).get("owners")
        if isinstance(custom, Sequence) and not isinstance(custom, str):
            return [str(o) for o in custom]
        return list(node.owners)

    def get_tags(self, node: DbtNode) -> dict[str, str]:
        """dbt tags as asset tags: ``["pii", "core"]`` becomes ``{"pii": "", "core": ""}``."""
        return {tag: "" for tag in node.tags}

    def get_asset_spec(
        self, node: DbtNode, key: AssetKey, deps: Sequence[Any], kinds: frozenset[str]
    ) -> Any:
        """The core ``AssetSpec`` of a node, from the other ``get_*`` methods.

        ``key`` is :meth:`get_asset_key` of the node and ``deps`` the ``AssetDep`` of its
        upstream nodes; ``kinds`` is ``{"dbt", <adapter>}``. Override to add or change fields.
        """
        from orchestrator.assets.spec import AssetSpec

        return AssetSpec(
            key,
            deps=deps,
            description=self.get_description(node),
            metadata=self.get_metadata(node),
            group_name=self.get_group_name(node),
            code_version=self.get_code_version(node),
            tags=self.get_tags(node),
            owners=self.get_owners(node),
            kinds=kinds,
        )

    def get_check_spec(self, test: DbtTest, asset_key: AssetKey) -> Any:
        """The core ``AssetCheckSpec`` of a dbt test on the asset ``asset_key``.

        The check is named after the dbt test and blocks downstream assets when the test's
        severity is ``error``.
        """
        from orchestrator.assets.spec import AssetCheckSpec

        metadata: dict[str, Any] = {
            "dbt/unique_id": test.unique_id,
            "dbt/test_kind": test.kind,
            "dbt/test_name": test.test_name,
            "dbt/severity": test.severity,
        }
        if test.column_name:
            metadata["dbt/column_name"] = test.column_name
        description = test.description or (
            f"dbt {test.test_name} test on column {test.column_name}"
            if test.column_name
            else f"dbt {test.kind} test {test.name}"
        )
        return AssetCheckSpec(
            name=test.name,
            asset=asset_key,
            description=description,
            blocking=test.severity == "error",
            metadata=metadata,
        )


def _table_schema(node: DbtNode) -> Any:
    # The wire form of a table_schema value (what MetadataValue.table_schema(TableSchema(...))
    # produces), built directly: thousands of models, each with a dozen columns.
    columns = [
        {
            "name": c.name,
            "type": c.data_type or "unknown",
            "description": c.description or None,
            "constraints": {"nullable": True, "unique": False, "other": []},
            "tags": {},
        }
        for c in node.columns
    ]
    raw = {"columns": columns, "constraints": {"other": []}}
    try:
        from orchestrator.metadata import MetadataValue
    except ImportError:  # pragma: no cover - the core always has it
        return {"type": "table_schema", "raw_value": raw}
    return MetadataValue("table_schema", raw)
