"""dbt projects as assets.

Load a dbt project's manifest quickly (no dbt import needed) and map its nodes to assets::

    from orchestrator_dbt import DbtProject, DbtTranslator

    project = DbtProject("analytics")          # finds target/manifest.json, or runs `dbt parse`
    manifest = project.load_manifest()         # compact index, cached by the manifest's hash
    translator = DbtTranslator()
    for node in manifest:                      # models, seeds, snapshots
        print(translator.get_asset_key(node), [t.test_name for t in manifest.tests_for(node)])

Run it as assets, one ``dbt build`` per run, results streamed as they come::

    from orchestrator_dbt import DbtCliResource, dbt_assets, dbt_source_specs

    @dbt_assets(manifest=project)
    def analytics(context, dbt: DbtCliResource):
        yield from dbt.cli(["build"], context=context).stream()

    materialize([analytics, *dbt_source_specs(analytics)],
                resources={"dbt": DbtCliResource(project)})

See docs/integrations/dbt.md.
"""

from __future__ import annotations

from .asset_decorator import (
    DbtAssetsInfo,
    dbt_assets,
    dbt_source_specs,
    get_dbt_assets_info,
    select_unique_ids,
)
from .errors import DbtManifestError, DbtProjectError
from .manifest import (
    DbtColumn,
    DbtGroup,
    DbtManifest,
    DbtNode,
    DbtTest,
    default_cache_dir,
    load_manifest,
)
from .project import DbtProject
from .resource import DbtCliInvocation, DbtCliResource, DbtNodeResult, DbtRunError
from .specs import DbtSpecs, build_dbt_specs
from .translator import DbtTranslator

__all__ = [
    "DbtAssetsInfo",
    "DbtCliInvocation",
    "DbtCliResource",
    "DbtColumn",
    "DbtGroup",
    "DbtManifest",
    "DbtManifestError",
    "DbtNode",
    "DbtNodeResult",
    "DbtProject",
    "DbtProjectError",
    "DbtRunError",
    "DbtSpecs",
    "DbtTest",
    "DbtTranslator",
    "build_dbt_specs",
    "dbt_assets",
    "dbt_source_specs",
    "default_cache_dir",
    "get_dbt_assets_info",
    "load_manifest",
    "select_unique_ids",
]
