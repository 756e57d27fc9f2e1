"""Shared fixtures for the pure unit tests.

The conformance corpus (external inputs no one here wrote) lives in ../shared/conformance beside
the repository; tests that need it skip, saying so, when it is missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"


@pytest.fixture(scope="session")
def conformance() -> Path:
    """The conformance folder; skips the test when it is missing."""
    if not CONFORMANCE.is_dir():
        pytest.skip(f"conformance corpus not found at {CONFORMANCE} "
                    "(expected ../shared/conformance beside the repository)")
    return CONFORMANCE
