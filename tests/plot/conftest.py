"""The plot tests render with the Agg backend (no display) (one torch thread: tests/conftest.py)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
