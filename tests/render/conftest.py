from pathlib import Path

import pytest

from coordinator.spec import load_incident

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def incident():
    return load_incident(FIXTURES / "incident.yaml")
