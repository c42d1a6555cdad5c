"""All tables. Import from here so SQLModel.metadata knows every table (Alembic needs it)."""

from lims.models.api import ApiToken
from lims.models.attachments import Attachment
from lims.models.batches import Batch, BatchSlot, UnboundReading
from lims.models.calibration import MeterCheck, QcControlValue
from lims.models.enforcement import (
    Alert,
    CaseStep,
    EnforcementCase,
    VendorGradeHistory,
    VendorRefusal,
)
from lims.models.instruments import CalibrationRecord, Instrument
from lims.models.kits import Kit, KitLot
from lims.models.listener import (
    ListenerHeartbeat,
    ListenerOffset,
    MeteringReading,
    QuarantineItem,
)
from lims.models.notices import Notice
from lims.models.outreach import (
    EventService,
    EventTeam,
    PatrolLog,
    Volunteer,
    VolunteerTeam,
)
from lims.models.people import AuditEvent, OutreachEvent, User
from lims.models.reference import Analyte, Commodity, GridGroup, Market, Method, Threshold, Vendor
from lims.models.results import ImportStage, Sample, TestResult
from lims.models.rollups import (
    RollupCountyItemWeek,
    RollupItemWeek,
    RollupMarketDay,
    RollupMarketWeek,
    RollupVendorMonth,
    RollupVendorWeek,
)
from lims.models.security import AppSession
from lims.models.sync import (
    ResultOwner,
    StationChainHead,
    SyncChange,
    SyncParked,
    SyncPeer,
    SyncRefused,
)
from lims.models.watch import LabAlert

__all__ = [
    "Alert",
    "Analyte",
    "ApiToken",
    "Attachment",
    "AppSession",
    "AuditEvent",
    "Batch",
    "BatchSlot",
    "CalibrationRecord",
    "CaseStep",
    "Commodity",
    "EnforcementCase",
    "EventService",
    "EventTeam",
    "GridGroup",
    "Instrument",
    "Kit",
    "KitLot",
    "LabAlert",
    "ListenerHeartbeat",
    "ListenerOffset",
    "Market",
    "MeterCheck",
    "Notice",
    "MeteringReading",
    "Method",
    "OutreachEvent",
    "PatrolLog",
    "QuarantineItem",
    "QcControlValue",
    "ResultOwner",
    "RollupCountyItemWeek",
    "RollupItemWeek",
    "RollupMarketDay",
    "RollupMarketWeek",
    "RollupVendorMonth",
    "RollupVendorWeek",
    "ImportStage",
    "Sample",
    "StationChainHead",
    "SyncChange",
    "SyncParked",
    "SyncPeer",
    "SyncRefused",
    "TestResult",
    "UnboundReading",
    "Threshold",
    "User",
    "Vendor",
    "VendorGradeHistory",
    "VendorRefusal",
    "Volunteer",
    "VolunteerTeam",
]
