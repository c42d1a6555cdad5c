"""All tables. Import from here so SQLModel.metadata knows every table (Alembic needs it)."""

from lims.models.instruments import CalibrationRecord, Instrument
from lims.models.people import AuditEvent, OutreachEvent, User
from lims.models.reference import Analyte, Commodity, GridGroup, Market, Method, Threshold, Vendor
from lims.models.results import Sample, TestResult

__all__ = [
    "Analyte",
    "AuditEvent",
    "CalibrationRecord",
    "Commodity",
    "GridGroup",
    "Instrument",
    "Market",
    "Method",
    "OutreachEvent",
    "Sample",
    "TestResult",
    "Threshold",
    "User",
    "Vendor",
]
