"""The department registry: typed, validated models of include/departments.yaml.

Everything else (tables, DAGs, suites, indicators) is derived from these models, so a
department the code has never seen works from configuration alone.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from citydata.errors import RegistryError

# Names become SQL identifiers (quoted everywhere, so keywords such as `order` are fine): lower-case
# letters, digits and _ only, starting with a letter (a leading _ is ours: _batch_id, _row).
IDENT = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
PG_NAME_BYTES = 63
# Dates and times outside this window are typing mistakes or placeholders (0001-01-01, 9999-12-31):
# quarantined unless a field declares its own earliest / latest_days_ahead.
DATE_WINDOW_EARLIEST = dt.date(1900, 1, 1)
DATE_WINDOW_DAYS_AHEAD = 366

FieldType = Literal["string", "integer", "float", "boolean", "timestamp", "date"]
UpdateCycle = Literal["实时", "每日", "每周", "每月", "按需"]
SharingType = Literal["无条件共享", "有条件共享", "不予共享"]
MaskKind = Literal["idcard", "name", "phone", "plate", "address", "redact"]
Language = Literal["zh-CN", "en"]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _ident(value: str, what: str) -> str:
    if not IDENT.match(value or ""):
        raise ValueError(f"{what} {value!r} is not a valid identifier (lower-case letters, digits, _; starts with a letter)")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Strict):
    """One information item (信息项) of a resource."""

    name: str
    type: FieldType
    required: bool = False
    sensitive: MaskKind | None = None
    name_zh: str = ""
    # Plausible window of a date/timestamp field (values outside are quarantined, check range:<field>):
    # not before ``earliest``, not more than ``latest_days_ahead`` days after now. Defaults: DATE_WINDOW.
    earliest: dt.date | None = None
    latest_days_ahead: int | None = Field(default=None, ge=0)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _ident(v, "field name")

    @model_validator(mode="after")
    def _window(self) -> FieldSpec:
        if (self.earliest is not None or self.latest_days_ahead is not None) and self.type not in ("date", "timestamp"):
            raise ValueError("earliest / latest_days_ahead apply only to date and timestamp fields")
        return self

    def window(self, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """The plausible range of a date/timestamp value at ``now`` (UTC bounds)."""
        earliest = self.earliest or DATE_WINDOW_EARLIEST
        ahead = self.latest_days_ahead if self.latest_days_ahead is not None else DATE_WINDOW_DAYS_AHEAD
        return (dt.datetime.combine(earliest, dt.time(), dt.UTC), now + dt.timedelta(days=ahead))

    @field_validator("sensitive", mode="before")
    @classmethod
    def _bool_sensitive(cls, v: object) -> object:
        if v is True:
            return "redact"
        return None if v is False else v


class Resource(_Strict):
    """A data resource (数据资源): the unit of both rates."""

    department: str = ""
    name: str = ""
    code: str
    name_zh: str
    name_en: str
    format: Literal["csv", "jsonl", "json", "parquet"] = "csv"
    update_cycle: UpdateCycle
    interval_minutes: int = Field(gt=0)
    grace_minutes: int = Field(default=0, ge=0)
    sharing_type: SharingType
    consumers: tuple[str, ...] = ()
    sharing_method: Literal["platform_table", "api", "file"] = "platform_table"
    open_attribute: Literal["无条件开放", "有条件开放", "不予开放"] = "不予开放"
    in_scope: bool = True
    arrival: Literal["files", "http", "sql"] = "files"
    source: dict = Field(default_factory=dict)
    role: Literal["energy_readings", "energy_meters"] | None = None
    event_time: str
    # The field that orders versions of one key: an older version never overwrites a newer one
    # (it is counted as rows_stale). Default: the event time.
    version_field: str | None = None
    primary_key: tuple[str, ...]
    max_bad_share: float = Field(default=0.5, ge=0, le=1)
    fields: tuple[FieldSpec, ...]

    def missing_setting(self, environ: dict[str, str] | None = None) -> str | None:
        """The environment variable this pulled resource's source needs and ``environ`` lacks.

        None for files, and for a source whose URL is in the registry or set. Named in the
        dashboard's freshness row (来源未配置) and in freshness alerts, so a skipped pull says why.
        """
        if self.arrival not in ("http", "sql") or self.source.get("url"):
            return None
        env = self.source.get("url_env")
        values = os.environ if environ is None else environ
        return env if env and not values.get(env) else None

    @model_validator(mode="after")
    def _consistent(self) -> Resource:
        names = [f.name for f in self.fields]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate field(s) {dupes}")
        if self.event_time not in names:
            raise ValueError(f"event_time {self.event_time!r} is not one of the fields")
        if self.field(self.event_time).type != "timestamp":
            raise ValueError(f"event_time {self.event_time!r} must have type timestamp")
        if self.version_field is not None:
            if self.version_field not in names:
                raise ValueError(f"version_field {self.version_field!r} is not one of the fields")
            if self.field(self.version_field).type not in ("timestamp", "date", "integer", "float"):
                raise ValueError(f"version_field {self.version_field!r} must be a timestamp, date or number")
            if self.version_field in self.primary_key:
                raise ValueError(f"version_field {self.version_field!r} cannot be part of the primary key")
        if not self.primary_key:
            raise ValueError("primary_key must name at least one field")
        for k in self.primary_key:
            if k not in names:
                raise ValueError(f"primary_key field {k!r} is not one of the fields")
        if self.sharing_type == "有条件共享" and not self.consumers:
            raise ValueError("有条件共享 (conditional sharing) needs at least one consumer")
        if self.sharing_type != "有条件共享" and self.consumers:
            raise ValueError("consumers are only allowed with sharing_type 有条件共享")
        return self

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def version(self) -> str:
        """The field that orders versions of a row (version_field, else the event time)."""
        return self.version_field or self.event_time

    @property
    def key(self) -> str:
        """'<department>.<resource>': names suites, assets and log lines."""
        return f"{self.department}.{self.name}"

    @property
    def table(self) -> str:
        """Table name (without layer) used in every warehouse layer."""
        return f"{self.department}__{self.name}"

    @property
    def required_fields(self) -> list[str]:
        return [f.name for f in self.fields if f.required or f.name in self.primary_key]

    @property
    def shared(self) -> bool:
        return self.sharing_type != "不予共享"


class Department(_Strict):
    name: str = ""
    name_zh: str
    name_en: str
    provider: str
    owner_emails: tuple[str, ...] = ()
    energy_utility: Literal["water", "heat", "gas"] | None = None
    digest: bool = False
    language: Language = "zh-CN"  # of the quality emails to the owners
    resources: dict[str, Resource]

    @field_validator("owner_emails")
    @classmethod
    def _emails(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for e in v:
            if not EMAIL.match(e):
                raise ValueError(f"owner email {e!r} is not an email address")
        return v


class Alerts(_Strict):
    """Who at the data center is told when a rate, a freshness window or an ingest run slips."""

    engineers: tuple[str, ...] = ()
    language: Language = "zh-CN"
    ingest_deadline_minutes: int = Field(default=30, gt=0)  # an ingest DAG run not finished by then is late

    @field_validator("engineers")
    @classmethod
    def _emails(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for e in v:
            if not EMAIL.match(e):
                raise ValueError(f"engineer email {e!r} is not an email address")
        return v


class Leadership(_Strict):
    """Who receives the indicator reports (seed §四(四): monthly by the 28th, quarterly, year-end assessment)."""

    name_zh: str = "领导小组办公室"
    name_en: str = "Leading Group Office"
    recipients: tuple[str, ...] = ()
    language: Language = "zh-CN"
    # The monthly progress report of the running month is sent on this day (before the 28th).
    monthly_day: int = Field(default=25, ge=1, le=27)

    @field_validator("recipients")
    @classmethod
    def _emails(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for e in v:
            if not EMAIL.match(e):
                raise ValueError(f"leadership recipient {e!r} is not an email address")
        if len({e.lower() for e in v}) != len(v):
            raise ValueError("leadership recipients list an address twice")
        return v


class Consumer(_Strict):
    name_zh: str
    name_en: str


class Targets(_Strict):
    collection_rate: float = Field(default=0.8, ge=0, le=1)
    sharing_rate: float = Field(default=0.8, ge=0, le=1)
    energy_auto_coverage: float = Field(default=0.5, ge=0, le=1)


class Tiers(_Strict):
    realtime_minutes: float = Field(default=5, gt=0)
    near_realtime_minutes: float = Field(default=60, gt=0)
    t1_hours: float = Field(default=24, gt=0)


class Registry(_Strict):
    version: int = 1
    path: Path | None = None
    targets: Targets = Targets()
    tiers: Tiers = Tiers()
    alerts: Alerts = Alerts()
    leadership: Leadership = Leadership()
    consumers: dict[str, Consumer] = Field(default_factory=dict)
    departments: dict[str, Department]

    @cached_property
    def resources(self) -> list[Resource]:
        return [r for d in self.departments.values() for r in d.resources.values()]

    def resource(self, department: str, resource: str) -> Resource:
        try:
            return self.departments[department].resources[resource]
        except KeyError:
            raise RegistryError(f"unknown resource {department}.{resource} (registry {self.path})") from None

    def department(self, name: str) -> Department:
        try:
            return self.departments[name]
        except KeyError:
            known = ", ".join(sorted(self.departments))
            raise RegistryError(f"unknown department {name!r} (known: {known})") from None


def _locate(loc: tuple, raw: dict) -> str:
    """Turn a pydantic error location into 'department water, resource x, field y'."""
    parts, i = [], 0
    names = {"departments": "department", "resources": "resource", "consumers": "consumer"}
    loc = list(loc)
    node: object = raw
    while i < len(loc):
        item = loc[i]
        if item in names and i + 1 < len(loc):
            parts.append(f"{names[item]} {loc[i + 1]}")
            node = node.get(item, {}).get(loc[i + 1], {}) if isinstance(node, dict) else {}
            i += 2
            continue
        if item == "fields" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            fields = node.get("fields", []) if isinstance(node, dict) else []
            idx = loc[i + 1]
            fname = fields[idx].get("name") if idx < len(fields) and isinstance(fields[idx], dict) else None
            parts.append(f"field {fname or '#' + str(idx + 1)}")
            node = fields[idx] if idx < len(fields) else {}
            i += 2
            continue
        if isinstance(item, str) and not item.startswith(("function-", "tagged-")):
            parts.append(item)
        i += 1
    return ", ".join(parts) or "top level"


def parse_registry(raw: object, path: Path | None = None) -> Registry:
    where = str(path) if path else "registry"
    if not isinstance(raw, dict) or "departments" not in raw:
        raise RegistryError(f"{where}: expected a mapping with a 'departments' key")
    try:
        departments = raw.get("departments") or {}
        for cname in raw.get("consumers") or {}:
            _ident(str(cname), "consumer name")
        for dname, dept in departments.items():
            _ident(str(dname), "department name")
            if not isinstance(dept, dict):
                raise RegistryError(f"{where}: department {dname}: expected a mapping")
            dept["name"] = dname
            for rname, res in (dept.get("resources") or {}).items():
                _ident(str(rname), "resource name")
                if not isinstance(res, dict):
                    raise RegistryError(f"{where}: department {dname}, resource {rname}: expected a mapping")
                res["department"], res["name"] = dname, rname
        reg = Registry.model_validate({**raw, "path": path})
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            err = exc.errors()[0]
            msg = err["msg"].removeprefix("Value error, ")
            raise RegistryError(f"{where}: {_locate(err['loc'], raw)}: {msg}") from None
        raise RegistryError(f"{where}: {exc}") from None
    for d in reg.departments.values():
        if not d.resources:
            raise RegistryError(f"{where}: department {d.name}: has no resources")
        for r in d.resources.values():
            # Derived names (share_<table>_page, stg_<table>_d, core_<table>_event) must fit
            # PostgreSQL's 63 bytes: it would silently cut them, and two resources could collide.
            if len(f"share_{r.table}_event") > PG_NAME_BYTES:
                raise RegistryError(f"{where}: department {d.name}, resource {r.name}: table name {r.table} is "
                                    f"longer than {PG_NAME_BYTES - 12} characters (names derived from it would "
                                    f"be longer than {PG_NAME_BYTES} bytes); shorten the department or resource name")
            for c in r.consumers:
                if c not in reg.consumers:
                    raise RegistryError(f"{where}: department {d.name}, resource {r.name}: unknown consumer {c!r}")
    return reg


def load_registry(path: str | Path | None = None) -> Registry:
    """Load and validate the registry; any problem is one RegistryError naming the entry."""
    from citydata.config import settings

    p = Path(path) if path else settings().registry_path
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"cannot read registry {p}: {exc.strerror or exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{p}: not valid YAML: {str(exc).splitlines()[0]}") from None
    return parse_registry(raw, p.resolve())
