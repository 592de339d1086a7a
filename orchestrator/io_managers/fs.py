"""The default IO manager: pickles each output to a file under a base directory.

Assets go to ``<base>/<key parts...>[/<partition>]``; op outputs to
``<base>/<run id>/<step key>/<output>[/<mapping key>]``. Files are written atomically
(a temporary file renamed into place), so a crashed step never leaves half a value.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from ..errors import IOManagerError
from .base import InputContext, IOManager, OutputContext, values_by_partition

__all__ = ["FilesystemIOManager"]


class FilesystemIOManager(IOManager):
    """Pickle outputs to files. ``base_dir`` defaults to the instance's storage directory."""

    def __init__(self, base_dir: str | os.PathLike[str] | None = None) -> None:
        self.base_dir = Path(base_dir) if base_dir is not None else None

    def _base(self, context: Any) -> Path:
        if self.base_dir is None:
            raise IOManagerError("FilesystemIOManager has no base_dir")  # set by the executor
        return self.base_dir

    def _path_for_output(self, context: OutputContext) -> Path:
        if context.has_asset_key:
            return self._base(context).joinpath(*context.get_asset_identifier())
        return self._base(context).joinpath(*context.get_identifier())

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        if context.has_asset_key and len(context.asset_partition_keys) > 1:
            for key, value in values_by_partition(context, obj).items():
                self.handle_output(context.for_partition(key), value)
            return
        path = self._path_for_output(context)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise IOManagerError(
                f"cannot pickle the value of output '{context.name}' of step "
                f"'{context.step_key}' ({type(obj).__name__}): {exc}. Return a picklable value "
                f"or give the asset an io_manager_key for an IO manager that can store it"
            ) from exc
        try:
            try:
                tmp.write_bytes(data)
            except FileNotFoundError:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp.write_bytes(data)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)  # never leave a half-written temporary file behind
            raise
        context.add_output_metadata({"path": str(path)})

    def load_input(self, context: InputContext) -> Any:
        if context.has_asset_key and len(context.asset_partition_keys) > 1:
            # several upstream partitions: a dict of partition key -> value
            return {k: self.load_input(context.for_partition(k))
                    for k in context.asset_partition_keys}
        if context.upstream_output is not None and not context.has_asset_key:
            path = self._path_for_output(context.upstream_output)
        else:
            path = self._base(context).joinpath(*context.get_asset_identifier())
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            what = (f"asset '{context.asset_key.to_user_string()}'" if context.has_asset_key
                    else f"output of '{context.upstream_output.step_key}'"
                    if context.upstream_output else f"input '{context.name}'")
            raise IOManagerError(
                f"input '{context.name}' of step '{context.step_key}': no stored value for "
                f"{what} at {path}. Materialize it first (e.g. include it in the selection)"
            ) from None
        return pickle.loads(data)
