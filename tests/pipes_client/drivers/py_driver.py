"""Conformance driver for the Python client: runs client_calls.json, prints one JSON result per
case: {"name", "lines": [sent lines except opened/closed], "error": str|null}."""

import json
import sys

from pipes_client import PipesClientError, PipesContext, PipesMappingParamsLoader, open_pipes


class _Capture:
    def __init__(self):
        self.lines = []

    def open(self, params):
        return self

    def get_opened_extras(self):
        return {}

    def write_line(self, line):
        self.lines.append(line)

    def close(self):
        pass


def case_context(doc, case):
    """The shared context, with the case's own pipes_features (negotiated extensions) if any."""
    if "pipes_features" not in case:
        return doc["context"]
    return {**doc["context"], "pipes_features": case["pipes_features"]}


def main(path):
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    for case in doc["cases"]:
        cap = _Capture()
        loader = PipesMappingParamsLoader({
            "DAGSTER_PIPES_CONTEXT": {"data": case_context(doc, case)},
            "DAGSTER_PIPES_MESSAGES": {"stdio": "stdout"}})
        PipesContext.set(None)
        pipes = open_pipes(params_loader=loader, message_writer=cap)
        error = None
        try:
            for call in case["calls"]:
                args = dict(call["args"])
                if "metadata" in args:
                    args["metadata"] = {n: {"type": t, "raw_value": v}
                                        for n, t, v in args["metadata"]}
                if call["call"] == "log":
                    pipes.log.log(args["level"], args["message"])
                else:
                    getattr(pipes, call["call"])(**args)
        except PipesClientError as exc:
            error = str(exc)
        pipes.close()
        lines = [ln for ln in cap.lines if json.loads(ln)["method"] not in ("opened", "closed")]
        print(json.dumps({"name": case["name"], "lines": lines, "error": error}))


if __name__ == "__main__":
    main(sys.argv[1])
