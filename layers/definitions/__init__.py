"""Every layer of OneMap, grouped by theme; ``LAYERS`` is the ordered list the registry reads."""

from layers.definitions.admin import DISTRICTS, ROADS, STREETS
from layers.definitions.community import (
    GOVERNANCE_ISSUES,
    IDLE_PARCELS,
    RESIDENT_REQUESTS,
    SERVICE_FACILITIES,
)
from layers.definitions.estates import BUILDINGS, ELEVATOR_RETROFITS, ESTATES, HEALTH_CHECKS
from layers.definitions.networks import PIPELINES
from layers.definitions.workflow import CHANGE_HISTORY, OPINIONS, PLAN_BATCHES, PROJECTS

LAYERS = (
    DISTRICTS,
    STREETS,
    ROADS,
    PLAN_BATCHES,
    PROJECTS,
    ESTATES,
    BUILDINGS,
    ELEVATOR_RETROFITS,
    HEALTH_CHECKS,
    PIPELINES,
    IDLE_PARCELS,
    SERVICE_FACILITIES,
    GOVERNANCE_ISSUES,
    RESIDENT_REQUESTS,
    OPINIONS,
    CHANGE_HISTORY,
)
