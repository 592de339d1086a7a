"""Arrow/Parquet IO for the orchestrator: store pyarrow tables and pandas DataFrames as
Parquet files on any fsspec URL (``file://``, ``memory://``, ``s3://``, ...).

::

    from orchestrator import Definitions
    from orchestrator_arrow import ParquetIOManager

    defs = Definitions(
        assets=[orders, revenue],
        resources={"io_manager": ParquetIOManager("s3://lake/warehouse")},
    )

A downstream input annotated ``pd.DataFrame`` is loaded as a DataFrame, one annotated
``pa.Table`` (or not annotated) as a pyarrow Table. pyarrow (and pandas for DataFrames)
are imported only when a value is stored or loaded: ``pip install 'orchestrator[arrow]'``.
"""

from __future__ import annotations

from typing import Any

from orchestrator.errors import IOManagerError
from orchestrator.io_managers import InputContext, IOManager, OutputContext

__all__ = ["ParquetIOManager", "read_table", "write_table"]


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise IOManagerError(
            "the Parquet IO manager needs pyarrow: pip install 'orchestrator[arrow]'") from exc
    return pa, pq


def _to_table(obj: Any, where: str) -> tuple[Any, str]:
    pa, _ = _pyarrow()
    if isinstance(obj, pa.Table):
        return obj, "pyarrow"
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj]), "pyarrow"
    mod = type(obj).__module__
    if mod.startswith("pandas") and type(obj).__name__ == "DataFrame":
        return pa.Table.from_pandas(obj, preserve_index=False), "pandas"
    if mod.startswith("polars") and type(obj).__name__ == "DataFrame":
        return obj.to_arrow(), "polars"
    raise IOManagerError(
        f"{where}: the Parquet IO manager stores pyarrow Tables and pandas DataFrames, got "
        f"{type(obj).__name__}; return a table, or give this asset another io_manager_key")


def write_table(table: Any, url: str, storage_options: dict[str, Any] | None = None) -> None:
    """Write a pyarrow Table (or DataFrame) as Parquet to an fsspec URL, atomically where
    the filesystem allows (a temporary name moved into place)."""
    import fsspec

    _, pq = _pyarrow()
    table, _ = _to_table(table, url)
    fs, path = fsspec.core.url_to_fs(url, **(storage_options or {}))
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    if parent:
        fs.makedirs(parent, exist_ok=True)
    tmp = f"{path}.tmp"
    with fs.open(tmp, "wb") as f:
        pq.write_table(table, f)
    try:
        fs.mv(tmp, path)
    except Exception:  # some object stores cannot rename: write in place
        with fs.open(path, "wb") as f:
            pq.write_table(table, f)
        fs.rm(tmp)


def read_table(url: str, storage_options: dict[str, Any] | None = None) -> Any:
    """Read a Parquet file from an fsspec URL into a pyarrow Table."""
    import fsspec

    _, pq = _pyarrow()
    fs, path = fsspec.core.url_to_fs(url, **(storage_options or {}))
    with fs.open(path, "rb") as f:
        return pq.read_table(f)


def _wants_pandas(annotation: Any) -> bool:
    mod = getattr(annotation, "__module__", "") or ""
    return mod.startswith("pandas") and getattr(annotation, "__name__", "") == "DataFrame"


class ParquetIOManager(IOManager):
    """Store outputs as Parquet under ``base_url``.

    Assets go to ``<base_url>/<key parts...>[/<partition>].parquet``; op outputs to
    ``<base_url>/<run id>/<step>/<output>.parquet``. Materializations get ``path``,
    ``row_count`` and the table's schema as metadata.
    """

    def __init__(self, base_url: str, storage_options: dict[str, Any] | None = None) -> None:
        if "://" not in base_url and not base_url.startswith("/"):
            raise IOManagerError(
                f"ParquetIOManager base_url {base_url!r} must be an absolute path or an fsspec "
                f"URL such as file:///data, memory://lake or s3://bucket/prefix")
        self.base_url = base_url.rstrip("/")
        self.storage_options = dict(storage_options or {})

    def _url(self, parts: list[str]) -> str:
        return f"{self.base_url}/{'/'.join(parts)}.parquet"

    def _url_for_output(self, ctx: OutputContext) -> str:
        return self._url(ctx.get_asset_identifier() if ctx.has_asset_key else ctx.get_identifier())

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        if obj is None:
            return
        where = f"output '{context.name}' of '{context.step_key}'"
        table, _ = _to_table(obj, where)
        url = self._url_for_output(context)
        write_table(table, url, self.storage_options)
        from orchestrator.metadata import MetadataValue, TableColumn, TableSchema

        context.add_output_metadata({
            "path": MetadataValue.path(url),
            "row_count": table.num_rows,
            "schema": TableSchema([TableColumn(f.name, str(f.type)) for f in table.schema]),
        })

    def load_input(self, context: InputContext) -> Any:
        if context.has_asset_key:
            url = self._url(context.get_asset_identifier())
        elif context.upstream_output is not None:
            url = self._url_for_output(context.upstream_output)
        else:
            raise IOManagerError(f"input '{context.name}' has nothing to load")
        try:
            table = read_table(url, self.storage_options)
        except FileNotFoundError:
            raise IOManagerError(
                f"input '{context.name}' of '{context.step_key}': no Parquet file at {url}; "
                f"materialize the upstream asset first") from None
        if _wants_pandas(context.dagster_type):
            return table.to_pandas()
        return table
