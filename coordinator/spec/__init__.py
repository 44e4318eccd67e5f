"""The incident file: models, loader and parameters."""

from coordinator.spec.loader import LoadedIncident, load_incident, parse_incident, read_incident
from coordinator.spec.models import Incident

__all__ = ["Incident", "LoadedIncident", "load_incident", "parse_incident", "read_incident"]
