"""Analyzer profiles: a TOML data file says how one instrument model writes its results.

A profile names the framing (lines or STX…ETX frames), the text encoding, how a record splits into
fields (a delimiter with a column list, or a regular expression with named groups), how each field
is checked and converted, the instrument's verdict words, the sentinels meaning "no value" and
which test item is which method. ``load_profile`` validates a file completely and raises
``ProfileError`` naming the file and the key at fault. See README "Connecting an instrument".
"""

from __future__ import annotations

import codecs
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from instruments.base import PortSettings

DATA_DIR = Path(__file__).resolve().parent / "data"

#: field name → kind. Columns/groups not in this table must start with "_" (ignored).
FIELD_KINDS: dict[str, str] = {
    "channel": "text", "sample_id": "text", "sample_name": "text", "test_item": "text",
    "control_delta": "number", "sample_delta": "number", "inhibition": "number",
    "t": "number", "c": "number", "ratio": "number", "cutoff": "number", "limit": "number",
    "value": "number", "unit": "text", "verdict": "verdict", "time": "time",
    "operator": "text", "serial": "text", "tested_unit": "text", "lot": "text",
}
#: what a verdict word may mean (the product's outcome names)
OUTCOMES = ("negative", "positive", "suspicious", "invalid", "compliant", "noncompliant")
ENCODINGS = ("gb2312", "gbk", "gb18030", "utf-8", "ascii")
SECTIONS = ("profile", "port", "framing", "text", "parse", "fields", "verdicts", "invalid",
            "tests", "simulator")
SIM_KINDS = ("enzyme_inhibition", "colloidal_gold")


class ProfileError(ValueError):
    """A profile file is unusable; the message names the file and the key."""

    def __init__(self, file: str, key: str, message: str):
        self.file, self.key, self.problem = file, key, message
        super().__init__(f"profile {file}: [{key}] {message}")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    pattern: re.Pattern[str] | None = None    # full match; group 1 (if any) is the value
    format: str | None = None                 # strptime format for "time"


@dataclass(frozen=True)
class Profile:
    name: str
    file: str
    description: str
    kind: str
    source: str
    edition: str
    port: dict[str, Any]
    framing: str                               # "line" | "stx_etx"
    terminator: bytes
    max_length: int
    idle_timeout: float
    record_start: re.Pattern[bytes] | None
    ack: bytes
    nak: bytes
    encoding: str
    skip: tuple[re.Pattern[str], ...]
    delimiter: str | None
    columns: tuple[str, ...]
    pattern: re.Pattern[str] | None
    fields: dict[str, FieldSpec]
    verdicts: dict[str, str]
    invalid: frozenset[str]
    tests: dict[str, str]
    simulator: dict[str, Any] = field(default_factory=dict)

    def port_settings(self) -> PortSettings:
        return PortSettings().with_overrides(self.port)

    @property
    def field_names(self) -> tuple[str, ...]:
        if self.pattern is not None:
            return tuple(self.pattern.groupindex)
        return self.columns


def find_profile(name: str, dirs: tuple[Path, ...] = ()) -> Path:
    """The file for a profile name (searched in ``dirs`` then the built-in data) or a path."""
    p = Path(name)
    if p.suffix == ".toml" and p.exists():
        return p
    for d in (*dirs, DATA_DIR):
        candidate = Path(d) / f"{name}.toml"
        if candidate.exists():
            return candidate
    known = sorted(x.stem for d in (*dirs, DATA_DIR) if Path(d).is_dir()
                   for x in Path(d).glob("*.toml"))
    raise ProfileError(name, "profile", f"no profile named {name!r}; known: {known}")


def builtin_names() -> list[str]:
    return sorted(p.stem for p in DATA_DIR.glob("*.toml"))


def load_profile(name: str, dirs: tuple[Path, ...] = ()) -> Profile:
    path = find_profile(name, dirs)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(str(path), "toml", f"not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ProfileError(str(path), "toml", f"not UTF-8 text: {exc}") from None
    return parse_profile(data, str(path))


def _regex(file: str, key: str, text: Any, *, as_bytes_in: str | None = None):
    if not isinstance(text, str) or not text:
        raise ProfileError(file, key, "must be a non-empty regular expression string")
    try:
        if as_bytes_in:
            return re.compile(text.encode(as_bytes_in))
        return re.compile(text)
    except (re.error, UnicodeEncodeError) as exc:
        raise ProfileError(file, key, f"bad regular expression {text!r}: {exc}") from None


def _table(file: str, data: dict, key: str, required: bool = True) -> dict:
    value = data.get(key, None)
    if value is None:
        if required:
            raise ProfileError(file, key, "missing section")
        return {}
    if not isinstance(value, dict):
        raise ProfileError(file, key, "must be a table")
    return value


def _only(file: str, section: str, table: dict, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ProfileError(file, f"{section}.{unknown[0]}",
                           f"unknown key; allowed in [{section}]: {list(allowed)}")


def _str(file: str, key: str, value: Any, *, required: bool = True, default: str = "") -> str:
    if value is None and not required:
        return default
    if not isinstance(value, str) or (required and not value):
        raise ProfileError(file, key, "must be a non-empty string")
    return value


def parse_profile(data: dict[str, Any], file: str = "<profile>") -> Profile:
    """Validate a parsed TOML document; every problem names the file and key."""
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ProfileError(file, unknown[0], f"unknown section; allowed: {list(SECTIONS)}")
    meta = _table(file, data, "profile")
    _only(file, "profile", meta, ("name", "description", "kind", "source", "edition"))
    name = _str(file, "profile.name", meta.get("name"))
    source = _str(file, "profile.source", meta.get("source"))
    edition = _str(file, "profile.edition", meta.get("edition"))

    port = _table(file, data, "port", required=False)
    try:
        PortSettings().with_overrides(port)
    except (ValueError, TypeError) as exc:
        raise ProfileError(file, "port", str(exc)) from None

    text = _table(file, data, "text")
    _only(file, "text", text, ("encoding", "skip"))
    encoding = _str(file, "text.encoding", text.get("encoding")).lower()
    if encoding not in ENCODINGS:
        raise ProfileError(file, "text.encoding", f"{encoding!r} is not one of {list(ENCODINGS)}")
    codecs.lookup(encoding)
    skip_list = text.get("skip", [])
    if not isinstance(skip_list, list):
        raise ProfileError(file, "text.skip", "must be a list of regular expressions")
    skip = tuple(_regex(file, f"text.skip[{i}]", s) for i, s in enumerate(skip_list))

    fr = _table(file, data, "framing")
    _only(file, "framing", fr, ("type", "terminator", "max_length", "idle_timeout",
                                "record_start", "ack", "nak"))
    framing = fr.get("type")
    if framing not in ("line", "stx_etx"):
        raise ProfileError(file, "framing.type", f"must be 'line' or 'stx_etx', got {framing!r}")
    terminator = _str(file, "framing.terminator", fr.get("terminator"),
                      required=framing == "line", default="").encode("latin-1")
    max_length = fr.get("max_length", 1024)
    if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 8:
        raise ProfileError(file, "framing.max_length", "must be an integer ≥ 8 (bytes)")
    idle = fr.get("idle_timeout", 2.0)
    if not isinstance(idle, int | float) or isinstance(idle, bool) or idle <= 0:
        raise ProfileError(file, "framing.idle_timeout", "must be a number of seconds > 0")
    record_start = None
    if fr.get("record_start") is not None:
        record_start = _regex(file, "framing.record_start", fr["record_start"],
                              as_bytes_in=encoding)
    ack = _str(file, "framing.ack", fr.get("ack"), required=False).encode("latin-1")
    nak = _str(file, "framing.nak", fr.get("nak"), required=False).encode("latin-1")

    parse = _table(file, data, "parse")
    _only(file, "parse", parse, ("delimiter", "columns", "pattern"))
    delimiter = parse.get("delimiter")
    pattern = None
    columns: tuple[str, ...] = ()
    if (delimiter is None) == (parse.get("pattern") is None):
        raise ProfileError(file, "parse", "give exactly one of 'delimiter' (with 'columns') "
                                          "or 'pattern' (a regular expression with named groups)")
    if delimiter is not None:
        delimiter = _str(file, "parse.delimiter", delimiter)
        cols = parse.get("columns")
        if not isinstance(cols, list) or not cols or not all(isinstance(c, str) for c in cols):
            raise ProfileError(file, "parse.columns", "must be a list of field names")
        columns = tuple(cols)
        names: tuple[str, ...] = columns
        where = "parse.columns"
    else:
        if "columns" in parse:
            raise ProfileError(file, "parse.columns", "only with 'delimiter'; a pattern names "
                                                      "its fields with (?P<name>…) groups")
        pattern = _regex(file, "parse.pattern", parse["pattern"])
        names = tuple(pattern.groupindex)
        where = "parse.pattern"
    for n in names:
        if n not in FIELD_KINDS and not n.startswith("_"):
            raise ProfileError(file, where, f"unknown field {n!r}; known: {sorted(FIELD_KINDS)} "
                                            "(prefix a name with _ to ignore the column)")
    if len(set(names)) != len(names):
        raise ProfileError(file, where, "a field name appears twice")
    if not any(FIELD_KINDS.get(n) == "number" for n in names):
        raise ProfileError(file, where, "maps no value field (control_delta, t, value …)")

    fields: dict[str, FieldSpec] = {}
    for fname, spec in _table(file, data, "fields", required=False).items():
        key = f"fields.{fname}"
        if fname not in names:
            raise ProfileError(file, key, f"field {fname!r} is not in {where}")
        if not isinstance(spec, dict):
            raise ProfileError(file, key, "must be a table")
        _only(file, key, spec, ("pattern", "format"))
        fpat = _regex(file, f"{key}.pattern", spec["pattern"]) if "pattern" in spec else None
        if fpat is not None and fpat.groups > 1:
            raise ProfileError(file, f"{key}.pattern", "at most one group (the value)")
        fmt = spec.get("format")
        if fmt is not None and FIELD_KINDS.get(fname) != "time":
            raise ProfileError(file, f"{key}.format", "only the 'time' field takes a format")
        if fmt is not None:
            fmt = _str(file, f"{key}.format", fmt)
        fields[fname] = FieldSpec(fname, fpat, fmt)
    if "time" in names and (fields.get("time") is None or fields["time"].format is None):
        raise ProfileError(file, "fields.time.format", "the time field needs a strptime format, "
                                                       "e.g. '%Y-%m-%d %H:%M:%S'")

    verdicts = _table(file, data, "verdicts", required="verdict" in names)
    for word, outcome in verdicts.items():
        if outcome not in OUTCOMES:
            raise ProfileError(file, f"verdicts.{word}", f"{outcome!r} is not one of {list(OUTCOMES)}")
    inv = data.get("invalid", {"values": []})
    if not isinstance(inv, dict) or not isinstance(inv.get("values", []), list) or not all(
            isinstance(v, str) for v in inv.get("values", [])):
        raise ProfileError(file, "invalid.values", "must be a list of strings (e.g. '----', '32767')")
    _only(file, "invalid", inv, ("values",))
    tests = _table(file, data, "tests", required=False)
    for item, code in tests.items():
        if not isinstance(code, str) or not code:
            raise ProfileError(file, f"tests.{item}", "must be a method code string")

    sim = _table(file, data, "simulator", required=False)
    if sim:
        _check_simulator(file, sim, names)
    return Profile(
        name=name, file=file, description=str(meta.get("description", "")),
        kind=str(meta.get("kind", "")), source=source, edition=edition, port=dict(port),
        framing=framing, terminator=terminator, max_length=max_length, idle_timeout=float(idle),
        record_start=record_start, ack=ack, nak=nak, encoding=encoding, skip=skip,
        delimiter=delimiter, columns=columns, pattern=pattern, fields=fields,
        verdicts=dict(verdicts), invalid=frozenset(v.strip().lower() for v in inv.get("values", [])),
        tests=dict(tests), simulator=dict(sim),
    )


def _check_simulator(file: str, sim: dict, names: tuple[str, ...]) -> None:
    if sim.get("kind") not in SIM_KINDS:
        raise ProfileError(file, "simulator.kind", f"must be one of {list(SIM_KINDS)}")
    template = _str(file, "simulator.template", sim.get("template"))
    for _lit, fname, _spec, _conv in __import__("string").Formatter().parse(template):
        if fname is not None and fname not in names:
            raise ProfileError(file, "simulator.template", f"{{{fname}}} is not a field of the profile")
    for key in ("samples", "markets", "operators", "test_items"):
        value = sim.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ProfileError(file, f"simulator.{key}", "must be a non-empty list of strings")
    _str(file, "simulator.serial", sim.get("serial"))
