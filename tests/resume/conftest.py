"""Fixtures of the resume tests (helpers live in ``resume_helpers``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from resume_helpers import project  # noqa: F401  (a fixture)
