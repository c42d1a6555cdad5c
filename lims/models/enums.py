"""Closed vocabularies, stored as their string values."""

from __future__ import annotations

from enum import StrEnum


class MarketKind(StrEnum):
    FARMERS = "farmers"          # 农贸市场/集贸市场
    WHOLESALE = "wholesale"      # 批发市场
    SUPERMARKET = "supermarket"  # 超市
    CANTEEN = "canteen"          # 食堂
    NIGHT_MARKET = "night_market"  # 夜市


class CreditGrade(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


class MethodKind(StrEnum):
    """The method kinds shipped with the product, named in code (labels, demo data).

    Not the list of valid kinds: that is the verdict engine's registry, ``lims.verdicts.kinds()``
    (one line per kind in lims/refdata/method_kinds.toml), which may hold more.
    """

    ENZYME_INHIBITION = "enzyme_inhibition"
    TEST_CARD = "test_card"
    COLLOIDAL_GOLD = "colloidal_gold"
    LAB_QUANTITATIVE = "lab_quantitative"


class InstrumentKind(StrEnum):
    PESTICIDE_ANALYZER = "pesticide_analyzer"  # enzyme inhibition, multi-channel
    CARD_READER = "card_reader"                # colloidal gold strip reader
    LAB_ANALYZER = "lab_analyzer"              # ASTM LIS port
    BALANCE = "balance"
    PLATFORM_SCALE = "platform_scale"
    BP_METER = "bp_meter"


class ResultStatus(StrEnum):
    RECORDED = "recorded"    # stored, counts in statistics
    HELD = "held"            # calibration gate: kept out of pass rates until reviewed
    ACCEPTED = "accepted"    # held result accepted by a technician with a reason
    VOIDED = "voided"        # never deleted, voided with a reason
    STAGED = "staged"        # stored by an import that is not published yet (issue 18):
    #                          counted nowhere, shown nowhere, until the whole file is in


#: statuses no list, board, export or sync shows as a result (voided: kept for the record;
#: staged: part of an import still being stored, ``lims.files.import_publish``)
NOT_SHOWN_STATUSES = (ResultStatus.VOIDED.value, ResultStatus.STAGED.value)


class CalibrationState(StrEnum):
    OK = "ok"
    OVERDUE = "overdue"
    FAILED = "failed"
    UNKNOWN = "unknown"      # no calibration record at all
    NOT_APPLICABLE = "not_applicable"  # manual entry (test card), no instrument


class CalibrationKind(StrEnum):
    VERIFICATION = "verification"            # 检定
    CALIBRATION = "calibration"              # 校准
    INTERMEDIATE_CHECK = "intermediate_check"  # 期间核查
    DAILY_QC = "daily_qc"


class EventKind(StrEnum):
    COMMUNITY = "community"
    VILLAGE = "village"
    SCHOOL = "school"
    MARKET = "market"
    NIGHT_MARKET = "night_market"


class Role(StrEnum):
    FIELD_TESTER = "field_tester"
    LAB_TECHNICIAN = "lab_technician"
    MANAGER = "manager"
    ADMIN = "admin"
