"""The Parquet IO manager on real fsspec filesystems: local files, memory, and S3 served by
a moto server on 127.0.0.1."""

from __future__ import annotations

import uuid

import pytest

pa = pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")

from orchestrator_arrow import ParquetIOManager, read_table  # noqa: E402

from orchestrator import AssetIn, IOManagerError, asset, materialize  # noqa: E402


def _assets():
    @asset(io_manager_key="lake")
    def orders() -> pd.DataFrame:
        return pd.DataFrame({"id": [1, 2, 3], "amount": [10.0, 20.5, 3.0]})

    @asset(io_manager_key="lake")
    def big_orders(orders: pd.DataFrame) -> pa.Table:
        return pa.Table.from_pandas(orders[orders.amount > 5], preserve_index=False)

    @asset
    def revenue(big_orders: pd.DataFrame) -> float:
        return float(big_orders.amount.sum())

    @asset
    def n_rows(table: pa.Table) -> int:
        return table.num_rows

    n_rows_in = asset(name="n_rows", ins={"table": AssetIn("orders")})(n_rows.op.compute_fn)
    return [orders, big_orders, revenue, n_rows_in]


def _run(base_url: str, **kw):
    return materialize(_assets(), resources={"lake": ParquetIOManager(base_url, **kw)},
                       log_level="error")


def test_local_files_roundtrip_dataframes_and_tables(tmp_path):
    r = _run(tmp_path.as_uri())
    assert r.success
    assert r.output_for_node("revenue") == 30.5
    assert r.output_for_node("n_rows") == 3
    path = tmp_path / "orders.parquet"
    assert path.exists()
    assert read_table(str(path)).num_rows == 3
    md = r.asset_materializations_for_node("big_orders")[0].metadata
    assert md["row_count"] == 2
    assert [c["name"] for c in md["schema"]["columns"]] == ["id", "amount"]
    assert md["path"].endswith("big_orders.parquet")


def test_memory_filesystem():
    r = _run(f"memory://lake-{uuid.uuid4().hex}")
    assert r.success and r.output_for_node("revenue") == 30.5


def test_partitioned_outputs_get_one_file_per_partition(tmp_path):
    @asset(io_manager_key="lake")
    def daily(context) -> pa.Table:
        return pa.table({"day": [context.partition_key]})

    for day in ("2024-01-01", "2024-01-02"):
        assert materialize([daily], partition_key=day, log_level="error",
                           resources={"lake": ParquetIOManager(tmp_path.as_uri())}).success
    assert read_table(str(tmp_path / "daily" / "2024-01-02.parquet")).column("day").to_pylist() \
        == ["2024-01-02"]


def test_non_table_output_is_a_clear_error(tmp_path):
    @asset(io_manager_key="lake")
    def number() -> int:
        return 3

    r = materialize([number], resources={"lake": ParquetIOManager(tmp_path.as_uri())},
                    raise_on_error=False, log_level="critical")
    assert not r.success
    msg = r.get_step_failure_events()[0].data["error"]["message"]
    assert "stores pyarrow Tables and pandas DataFrames, got int" in msg
    assert "io_manager_key" in msg


def test_relative_base_url_is_rejected():
    with pytest.raises(IOManagerError, match="absolute path or an fsspec URL"):
        ParquetIOManager("relative/dir")


def test_missing_upstream_file_names_the_path(tmp_path):
    @asset(io_manager_key="lake")
    def never() -> pa.Table:
        return pa.table({"x": [1]})

    @asset
    def child(never: pa.Table) -> int:
        return never.num_rows

    r = materialize([never, child], selection="child", raise_on_error=False,
                    resources={"lake": ParquetIOManager(tmp_path.as_uri())},
                    log_level="critical")
    assert not r.success
    msg = r.get_step_failure_events()[0].data["error"]["message"]
    assert "no Parquet file at" in msg and "never.parquet" in msg


@pytest.mark.system
def test_s3_on_a_local_moto_server(s3_endpoint, monkeypatch):
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    bucket = f"lake-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    r = _run(f"s3://{bucket}/warehouse",
             storage_options={"client_kwargs": {"endpoint_url": s3_endpoint}})
    assert r.success and r.output_for_node("revenue") == 30.5
    keys = {o["Key"] for o in boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(
        Bucket=bucket)["Contents"]}
    assert keys == {"warehouse/orders.parquet", "warehouse/big_orders.parquet"}
