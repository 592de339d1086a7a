"""Generate a large, realistic dbt manifest.json for benchmarks.

The shape comes from a real manifest: by default the test project ``tests/dbt/projects/passing``
is copied to a temporary directory and parsed with the installed dbt (``dbt parse``); every
generated node is a copy of a real node of the same kind (seed, view/table/incremental/ephemeral
model, snapshot, generic and singular test, unit test, source, macro) with its fields rewritten.
The project is layered like real ones::

    sources ─┐
    seeds ───┴─> staging (views) ─> intermediate (ephemeral/view/table) ─> marts (table/incremental)
                                 └─> snapshots

with generic tests (not_null + unique on most models, accepted_values, relationships), source
tests, singular tests over two marts, unit tests, groups with owners, documented and typed
columns, tags, meta, and the macros of dbt and the adapter plus project macros.

    python benchmarks/gen_dbt_manifest.py out/manifest.json --models 2000
    python benchmarks/gen_dbt_manifest.py out.json --models 500 --template target/manifest.json
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PROJECT = ROOT / "tests" / "dbt" / "projects" / "passing"
TEMPLATE_NAME = "passing_shop"

DOMAINS = ["sales", "finance", "marketing", "product", "support", "logistics", "hr", "risk",
           "growth", "billing"]
GROUPS = {"finance": "finance@example.com", "growth": "growth@example.com",
          "product": "product@example.com", "operations": "ops@example.com",
          "risk": "risk@example.com"}
COLUMN_TYPES = ["integer", "bigint", "varchar", "date", "timestamp", "decimal(18, 2)", "boolean"]
WORDS = ["amount", "status", "created_at", "updated_at", "customer_id", "order_id", "region",
         "channel", "quantity", "price", "currency", "country", "is_active", "segment", "score",
         "product_id", "session_id", "campaign", "discount", "tax"]


def parse_template_project() -> dict[str, Any]:
    """Parse the passing test project with the installed dbt and return its manifest."""
    from dbt.cli.main import dbtRunner  # imported here: dbt is only needed for the template

    with tempfile.TemporaryDirectory(prefix="gen-dbt-template-") as tmp:
        pdir = Path(tmp) / "passing"
        shutil.copytree(TEMPLATE_PROJECT, pdir,
                        ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*"))
        res = dbtRunner().invoke(["parse", "--project-dir", str(pdir), "--profiles-dir",
                                  str(pdir), "--log-level", "none"])
        if not res.success:
            raise SystemExit(f"dbt parse of the template project failed: {res.exception}")
        return json.loads((pdir / "target" / "manifest.json").read_text())


class _Templates:
    """Serialized copies of real nodes; ``new(kind)`` returns a fresh, independent copy."""

    def __init__(self, doc: dict[str, Any]) -> None:
        nodes = doc["nodes"]
        p = TEMPLATE_NAME

        def pick(uid: str) -> str:
            return json.dumps(nodes[uid])

        by_test = {n["test_metadata"]["name"]: n for n in nodes.values()
                   if n["resource_type"] == "test" and n.get("test_metadata")
                   and n.get("attached_node")}
        self.raw = {
            "seed": pick(f"seed.{p}.raw_orders"),
            "view": pick(f"model.{p}.stg_orders"),
            "table": pick(f"model.{p}.customers"),
            "incremental": pick(f"model.{p}.orders"),
            "snapshot": pick(f"snapshot.{p}.customers_snapshot"),
            "singular": pick(f"test.{p}.assert_order_amounts_positive"),
            "source": json.dumps(next(iter(doc["sources"].values()))),
            "unit": json.dumps(next(iter(doc["unit_tests"].values()))),
            "macro": json.dumps(doc["macros"][f"macro.{p}.cents_to_dollars"]),
            "group": json.dumps(next(iter(doc["groups"].values()))),
        }
        for name in ("not_null", "unique", "accepted_values", "relationships"):
            self.raw[name] = json.dumps(by_test[name])
        src_test = next(n for n in nodes.values() if n["resource_type"] == "test"
                        and n.get("test_metadata") and not n.get("attached_node"))
        self.raw["source_test"] = json.dumps(src_test)

    def new(self, kind: str) -> dict[str, Any]:
        return json.loads(self.raw[kind])


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _ref(name: str) -> dict[str, Any]:
    return {"name": name, "package": None, "version": None}


def _columns(rng: random.Random, col_template: dict[str, Any], n: int) -> dict[str, Any]:
    cols: dict[str, Any] = {}
    names = ["id", *rng.sample(WORDS, min(n - 1, len(WORDS)))]
    for name in names:
        c = copy.deepcopy(col_template)
        c["name"] = name
        c["description"] = f"The {name.replace('_', ' ')} of the row." if rng.random() < 0.7 else ""
        c["data_type"] = rng.choice(COLUMN_TYPES) if rng.random() < 0.6 else None
        cols[name] = c
    return cols


def _model_sql(rng: random.Random, parents: list[tuple[str, str]], cols: list[str]) -> str:
    """Plausible SQL: a CTE per parent, joins, a few expressions (real projects' size)."""
    ctes = []
    for i, (_kind, ref) in enumerate(parents):
        ctes.append(f"p{i} as (\n    select *\n    from {ref}\n    where 1 = 1\n)")
    select = ",\n    ".join(
        f"coalesce(p0.{c}, {rng.randint(0, 9)}) as {c}" if rng.random() < 0.3 else f"p0.{c}"
        for c in cols)
    joins = "\n".join(f"left join p{i} on p0.id = p{i}.id" for i in range(1, len(parents)))
    return (
        "{{ config(tags=['generated']) }}\n\nwith " + ",\n".join(ctes)
        + f"\n\nselect\n    {select}\nfrom p0\n{joins}\n"
    )


def generate(template: dict[str, Any], n_models: int = 2000, seed: int = 0,
             project: str = "bench_shop") -> dict[str, Any]:
    """A manifest with ``n_models`` models shaped like ``template`` (a real manifest)."""
    rng = random.Random(seed)
    tpl = _Templates(template)
    col_template = next(iter(json.loads(tpl.raw["table"])["columns"].values()))
    db = "warehouse"
    nodes: dict[str, Any] = {}
    sources: dict[str, Any] = {}
    unit_tests: dict[str, Any] = {}
    macros: dict[str, Any] = {k: v for k, v in template["macros"].items()
                              if v["package_name"] != TEMPLATE_NAME}
    groups: dict[str, Any] = {}

    def fill_common(node: dict[str, Any], uid: str, name: str, folder: list[str],
                    file_path: str, resource_dir: str) -> None:
        node["unique_id"] = uid
        node["name"] = name
        node["alias"] = name
        node["package_name"] = project
        node["database"] = db
        node["schema"] = "analytics"
        node["fqn"] = [project, *folder, name]
        node["path"] = file_path
        node["original_file_path"] = f"{resource_dir}/{file_path}"
        node["relation_name"] = f'"{db}"."analytics"."{name}"'
        node["created_at"] = 1700000000.0 + len(nodes)
        if "root_path" in node:
            node["root_path"] = f"/srv/{project}"
        if "build_path" in node:
            node["build_path"] = None

    # groups
    for gname, email in GROUPS.items():
        g = tpl.new("group")
        g.update(name=gname, unique_id=f"group.{project}.{gname}", package_name=project,
                 owner={"email": email, "name": gname.title() + " Team"},
                 path="marts/_groups.yml", original_file_path="models/marts/_groups.yml")
        groups[g["unique_id"]] = g

    # macros of the project (dbt's and the adapter's come from the template)
    for i in range(max(5, n_models // 20)):
        m = tpl.new("macro")
        name = f"project_macro_{i:04d}"
        m.update(name=name, unique_id=f"macro.{project}.{name}", package_name=project,
                 path=f"macros/{name}.sql", original_file_path=f"macros/{name}.sql",
                 macro_sql=f"{{% macro {name}(col) %}}\n  coalesce({{{{ col }}}}, {i})\n"
                           "{% endmacro %}")
        macros[m["unique_id"]] = m

    # sources
    source_tables: list[tuple[str, str, str]] = []  # (uid, source_name, table)
    n_source_groups = max(1, n_models // 100)
    for i in range(max(2, n_models // 10)):
        sname = f"src_{DOMAINS[i % len(DOMAINS)]}_{(i // len(DOMAINS)) % n_source_groups:02d}"
        table = f"{WORDS[i % len(WORDS)]}_{i:04d}"
        s = tpl.new("source")
        uid = f"source.{project}.{sname}.{table}"
        s.update(unique_id=uid, name=table, source_name=sname, identifier=table,
                 package_name=project, database=db, schema="raw",
                 fqn=[project, "staging", sname, table],
                 path=f"models/staging/{sname}/_sources.yml",
                 original_file_path=f"models/staging/{sname}/_sources.yml",
                 relation_name=f'"{db}"."raw"."{table}"', description=f"Raw {table} rows.",
                 columns=_columns(rng, col_template, rng.randint(3, 8)))
        s["meta"] = s["config"]["meta"] = {"owner": f"{sname}@example.com"}
        sources[uid] = s
        source_tables.append((uid, sname, table))

    # seeds
    names: dict[str, str] = {}  # unique id -> name, for refs
    seeds: list[str] = []
    for i in range(max(2, n_models // 50)):
        name = f"seed_{WORDS[i % len(WORDS)]}_{i:03d}"
        s = tpl.new("seed")
        uid = f"seed.{project}.{name}"
        fill_common(s, uid, name, [], f"{name}.csv", "seeds")
        s["checksum"] = {"name": "sha256", "checksum": _sha(name)}
        nodes[uid] = s
        names[uid] = name
        seeds.append(uid)

    # models in layers
    n_stg = max(1, int(n_models * 0.3))
    n_int = max(1, int(n_models * 0.4))
    n_mart = max(1, n_models - n_stg - n_int)
    staging: list[str] = []
    intermediate: list[str] = []
    marts: list[str] = []

    def add_model(uid: str, name: str, kind: str, materialized: str, layer: str, domain: str,
                  parents: list[str]) -> dict[str, Any]:
        node = tpl.new(kind)
        fill_common(node, uid, name, [layer, domain], f"{layer}/{domain}/{name}.sql", "models")
        cols = _columns(rng, col_template, rng.randint(4, 12))
        refs, srcs, sql_parents = [], [], []
        for p in parents:
            if p.startswith("source."):
                s = sources[p]
                srcs.append([s["source_name"], s["name"]])
                call = f"{{{{ source('{s['source_name']}', '{s['name']}') }}}}"
                sql_parents.append(("source", call))
            else:
                refs.append(_ref(names[p]))
                sql_parents.append(("ref", f"{{{{ ref('{names[p]}') }}}}"))
        raw = _model_sql(rng, sql_parents, list(cols))
        node.update(raw_code=raw, refs=refs, sources=srcs, columns=cols,
                    description=f"{layer.title()} model {name} for {domain}."
                    if rng.random() < 0.8 else "",
                    checksum={"name": "sha256", "checksum": _sha(raw)},
                    patch_path=f"{project}://models/{layer}/{domain}/_{layer}.yml")
        node["depends_on"]["nodes"] = list(parents)
        node["config"]["materialized"] = materialized
        tags = [layer, domain] + (["pii"] if rng.random() < 0.1 else [])
        node["tags"] = node["config"]["tags"] = tags
        meta: dict[str, Any] = {"owner": f"{domain}-analytics@example.com"} \
            if rng.random() < 0.5 else {}
        node["meta"] = node["config"]["meta"] = meta
        group = rng.choice(list(GROUPS)) if layer == "marts" and rng.random() < 0.7 else None
        node["group"] = node["config"]["group"] = group
        node["primary_key"] = ["id"]
        nodes[uid] = node
        names[uid] = name
        return node

    for i in range(n_stg):
        domain = DOMAINS[i % len(DOMAINS)]
        if rng.random() < 0.85:
            parent = source_tables[i % len(source_tables)][0]
        else:
            parent = seeds[i % len(seeds)]
        name = f"stg_{domain}__{i:05d}"
        uid = f"model.{project}.{name}"
        add_model(uid, name, "view", "view", "staging", domain, [parent])
        staging.append(uid)
    for i in range(n_int):
        domain = DOMAINS[i % len(DOMAINS)]
        pool = staging + intermediate[-200:]
        parents = sorted(set(rng.sample(pool, min(len(pool), rng.randint(1, 3)))))
        mat = rng.choices(["ephemeral", "view", "table"], [0.15, 0.35, 0.5])[0]
        name = f"int_{domain}_{i:05d}"
        uid = f"model.{project}.{name}"
        node = add_model(uid, name, "table", mat, "intermediate", domain, parents)
        if mat == "ephemeral":
            node["relation_name"] = None
        intermediate.append(uid)
    for i in range(n_mart):
        domain = DOMAINS[i % len(DOMAINS)]
        pool = intermediate[-400:] + staging[-100:] + marts[-50:]
        parents = sorted(set(rng.sample(pool, min(len(pool), rng.randint(2, 5)))))
        incremental = rng.random() < 0.4
        name = f"{'fct' if incremental else 'dim'}_{domain}_{i:05d}"
        uid = f"model.{project}.{name}"
        add_model(uid, name, "incremental" if incremental else "table",
                  "incremental" if incremental else "table", "marts", domain, parents)
        marts.append(uid)

    # snapshots
    for i in range(max(1, n_models // 100)):
        parent = staging[i % len(staging)]
        name = f"snap_{names[parent]}"
        s = tpl.new("snapshot")
        uid = f"snapshot.{project}.{name}"
        fill_common(s, uid, name, [name], f"{name}.sql", "snapshots")
        raw = (f"\n{{{{ config(unique_key='id', strategy='check', check_cols='all') }}}}\n"
               f"select * from {{{{ ref('{names[parent]}') }}}}\n")
        s.update(raw_code=raw, refs=[_ref(names[parent])],
                 checksum={"name": "sha256", "checksum": _sha(raw)})
        s["depends_on"]["nodes"] = [parent]
        nodes[uid] = s

    # tests
    def add_generic(kind: str, target_uid: str, column: str, extra: dict[str, Any],
                    severity: str = "ERROR") -> None:
        t = tpl.new(kind)
        target = nodes.get(target_uid) or sources[target_uid]
        is_source = target_uid.startswith("source.")
        base = (f"source_{kind}_{target['source_name']}_{target['name']}_{column}"
                if is_source else f"{kind}_{target['name']}_{column}")
        uid = f"test.{project}.{base}.{_sha(base)[:10]}"
        model_arg = (f"{{{{ get_where_subquery(source('{target['source_name']}', "
                     f"'{target['name']}')) }}}}" if is_source
                     else f"{{{{ get_where_subquery(ref('{target['name']}')) }}}}")
        t.update(unique_id=uid, name=base, alias=base, package_name=project, database=db,
                 fqn=[project, *target["fqn"][1:-1], base], path=f"{base}.sql",
                 original_file_path=target["original_file_path"] if is_source else
                 f"models/{target['path'].rsplit('/', 1)[0]}/_models.yml",
                 column_name=column, attached_node=None if is_source else target_uid,
                 file_key_name=("sources." if is_source else "models.") + target["name"],
                 group=target.get("group"))
        t["test_metadata"]["kwargs"] = {**extra, "column_name": column, "model": model_arg}
        deps = [target_uid]
        if kind == "relationships":
            deps.append(extra["_parent"])
            t["test_metadata"]["kwargs"].pop("_parent")
            t["refs"] = [_ref(names[extra["_parent"]]), _ref(target["name"])]
        else:
            t["refs"] = [] if is_source else [_ref(target["name"])]
        t["sources"] = [[target["source_name"], target["name"]]] if is_source else []
        t["depends_on"]["nodes"] = deps
        t["config"]["severity"] = severity
        nodes[uid] = t

    for uid in staging + intermediate + marts:
        node = nodes[uid]
        if rng.random() < 0.85:
            add_generic("not_null", uid, "id", {})
            add_generic("unique", uid, "id", {})
        if rng.random() < 0.25:
            add_generic("accepted_values", uid, "status",
                        {"values": ["new", "active", "closed"]},
                        "warn" if rng.random() < 0.3 else "ERROR")
        parents = [p for p in node["depends_on"]["nodes"] if p.startswith("model.")]
        if parents and rng.random() < 0.2:
            add_generic("relationships", uid, "customer_id",
                        {"to": f"ref('{names[parents[0]]}')", "field": "id",
                         "_parent": parents[0]})
    for uid, _sname, _table in source_tables:
        if rng.random() < 0.5:
            add_generic("not_null", uid, "id", {})
    for _ in range(max(1, n_models // 100)):
        a, b = rng.sample(marts, 2) if len(marts) > 1 else (marts[0], marts[0])
        t = tpl.new("singular")
        name = f"assert_{names[a]}_matches_{names[b]}"
        uid = f"test.{project}.{name}"
        raw = (f"select a.id from {{{{ ref('{names[a]}') }}}} as a\n"
               f"left join {{{{ ref('{names[b]}') }}}} as b using (id)\nwhere b.id is null\n")
        t.update(unique_id=uid, name=name, alias=name, package_name=project,
                 fqn=[project, name], path=f"{name}.sql", original_file_path=f"tests/{name}.sql",
                 raw_code=raw, refs=[_ref(names[a]), _ref(names[b])],
                 checksum={"name": "sha256", "checksum": _sha(raw)})
        t["depends_on"]["nodes"] = sorted({a, b})
        nodes[uid] = t
    for i in range(max(1, n_models // 50)):
        target = marts[i % len(marts)]
        u = tpl.new("unit")
        name = f"test_{names[target]}_{i}"
        uid = f"unit_test.{project}.{names[target]}.{name}"
        parents = [p for p in nodes[target]["depends_on"]["nodes"] if p in names]
        u.update(unique_id=uid, name=name, model=names[target], package_name=project,
                 fqn=[project, *nodes[target]["fqn"][1:], name],
                 path=nodes[target]["path"].rsplit("/", 1)[0] + "/_unit.yml",
                 original_file_path="models/" + nodes[target]["path"].rsplit("/", 1)[0]
                 + "/_unit.yml", checksum=_sha(name),
                 given=[{"input": f"ref('{names[p]}')", "rows": [{"id": 1}, {"id": 2}],
                         "format": "dict", "fixture": None} for p in parents],
                 expect={"rows": [{"id": 1}, {"id": 2}], "format": "dict", "fixture": None})
        u["depends_on"]["nodes"] = [target]
        unit_tests[uid] = u

    # maps dbt writes beside the nodes
    parent_map: dict[str, list[str]] = {}
    child_map: dict[str, list[str]] = {uid: [] for uid in [*nodes, *sources]}
    for uid, n in nodes.items():
        deps = n["depends_on"].get("nodes", [])
        parent_map[uid] = list(deps)
        for d in deps:
            child_map.setdefault(d, []).append(uid)
    for uid in sources:
        parent_map[uid] = []
    group_map: dict[str, list[str]] = {}
    for uid, n in nodes.items():
        if n.get("group"):
            group_map.setdefault(n["group"], []).append(uid)

    out = copy.deepcopy({k: v for k, v in template.items()
                         if k not in ("nodes", "sources", "macros", "unit_tests", "groups")})
    out["metadata"]["project_name"] = project
    out["metadata"]["project_id"] = _sha(project)[:32]
    out.update(nodes=nodes, sources=sources, macros=macros, groups=groups,
               unit_tests=unit_tests, parent_map=parent_map, child_map=child_map,
               group_map=group_map, disabled={}, selectors={})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("output", type=Path, help="where to write manifest.json")
    ap.add_argument("--models", type=int, default=2000, help="number of models (default 2000)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--template", type=Path,
                    help="a real manifest.json to copy node shapes from (default: parse "
                         "tests/dbt/projects/passing with the installed dbt)")
    args = ap.parse_args(argv)
    if args.models < 10:
        ap.error("--models must be at least 10")
    if args.template is not None:
        template = json.loads(args.template.read_text())
        if template.get("metadata", {}).get("project_name") != TEMPLATE_NAME:
            ap.error(f"--template must be a manifest of tests/dbt/projects/passing "
                     f"(project {TEMPLATE_NAME!r})")
    else:
        template = parse_template_project()
    doc = generate(template, n_models=args.models, seed=args.seed)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc))
    kinds: dict[str, int] = {}
    for n in doc["nodes"].values():
        kinds[n["resource_type"]] = kinds.get(n["resource_type"], 0) + 1
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB): "
          + ", ".join(f"{v} {k}s" for k, v in sorted(kinds.items()))
          + f", {len(doc['sources'])} sources, {len(doc['unit_tests'])} unit tests, "
          f"{len(doc['macros'])} macros", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
