from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Real statistics shipped in the repository (fixtures/real, see PROVENANCE.md there)."""
    return FIXTURES / "real"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES
