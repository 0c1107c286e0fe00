"""Embedding losses (issue 6): being written."""
from __future__ import annotations

__all__: list[str] = []
