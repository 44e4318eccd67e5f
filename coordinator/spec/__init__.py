"""The incident file: models, loader and parameters."""

from coordinator.spec.loader import load_incident, parse_incident
from coordinator.spec.models import Incident

__all__ = ["Incident", "load_incident", "parse_incident"]
