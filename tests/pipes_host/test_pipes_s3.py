"""The chunked channel on a real S3 API: a moto server on 127.0.0.1, s3fs on both sides."""

from __future__ import annotations

import pytest
from ph_helpers import PY, child_env, events, failure_text, messages

from orchestrator import asset, materialize
from orchestrator.pipes import PipesChunkedMessageReader, PipesSubprocessClient

pytestmark = pytest.mark.slow


def test_chunked_channel_on_s3(s3_endpoint, script, monkeypatch):
    import boto3

    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
             "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": s3_endpoint}
    for k, v in creds.items():
        monkeypatch.setenv(k, v)
    boto3.client("s3").create_bucket(Bucket="pipes-msgs")
    path = script("""
        from pipes_client import open_pipes, PipesBlobStoreMessageWriter
        with open_pipes(message_writer=PipesBlobStoreMessageWriter(interval=0.2)) as pipes:
            for i in range(30):
                pipes.log.info(f"s3 line {i}")
            pipes.report_asset_materialization(metadata={"via": "s3"})
    """)

    @asset
    def via_s3(context, pipes_subprocess_client: PipesSubprocessClient):
        return pipes_subprocess_client.run(
            command=[PY, path], context=context,
            message_reader=PipesChunkedMessageReader("s3://pipes-msgs")).get_results()

    res = materialize([via_s3], resources={"pipes_subprocess_client": PipesSubprocessClient(
        env=child_env())}, raise_on_error=False, log_level="CRITICAL")
    assert res.success, failure_text(res)
    assert [m for m in messages(res) if m.startswith("s3 line")] == \
        [f"s3 line {i}" for i in range(30)]
    assert events(res, "ASSET_MATERIALIZATION")[0].metadata == {"via": "s3"}
    left = boto3.client("s3").list_objects_v2(Bucket="pipes-msgs").get("KeyCount", 0)
    assert left == 0  # the session's chunks were deleted
