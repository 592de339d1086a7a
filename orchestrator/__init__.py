"""orchestrator: a slim data orchestrator (public API filled in below)."""
__version__ = "0.1.0"
