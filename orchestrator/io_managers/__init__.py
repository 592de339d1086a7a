"""IO managers: the contract and the built-in ones (filesystem pickle, in memory)."""

from .base import InputContext, IOManager, IOManagerDefinition, OutputContext, io_manager
from .fs import FilesystemIOManager
from .memory import InMemoryIOManager

__all__ = ["FilesystemIOManager", "IOManager", "IOManagerDefinition", "InMemoryIOManager",
           "InputContext", "OutputContext", "io_manager"]
