"""The data-resource catalogue (资源目录, GB/T 21063 fields from the registry), as JSON and as DCAT.

Fields are described (type, Chinese name, sensitive or not), never their values. Freshness is
the last landing, quality the share of rows quarantined in the last 30 days, rows available
the size of the sharing layer; `may_read` says whether the calling consumer may read the rows.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, text

from citydata.exchange.access import may_read
from citydata.exchange.common import as_utc, rows, ts_param, utcnow
from citydata.registry import Registry, Resource
from citydata.share.tables import share_table
from citydata.warehouse.db import sql_file

QUALITY_DAYS = 30
FREQUENCY = {"实时": "CONT", "每日": "DAILY", "每周": "WEEKLY", "每月": "MONTHLY", "按需": "IRREG"}
EU_FREQ = "http://publications.europa.eu/resource/authority/frequency/"
ACCESS = {"无条件共享": "unconditional", "有条件共享": "conditional", "不予共享": "not_shared"}


def _available(conn: Connection, resource: Resource) -> int | None:
    if not resource.shared:
        return None
    d = conn.dialect.name
    return int(conn.execute(text(sql_file("exchange/share_count.sql", d, table=share_table(resource, d)))).scalar_one())


def entries(conn: Connection, registry: Registry, consumer: str | None = None,
            now: dt.datetime | None = None) -> list[dict]:
    now = now or utcnow()
    since = ts_param(now - dt.timedelta(days=QUALITY_DAYS), conn.dialect.name)
    facts = {(r["department"], r["resource"]): r for r in rows(conn, "last_landed.sql", {"since": since})}
    out = []
    for res in registry.resources:
        dept = registry.departments[res.department]
        f = facts.get((res.department, res.name), {})
        read, bad = int(f.get("rows_read") or 0), int(f.get("rows_quarantined") or 0)
        entry = {
            "code": res.code, "name_zh": res.name_zh, "name_en": res.name_en, "department": res.department,
            "resource": res.name, "provider": dept.provider, "department_zh": dept.name_zh,
            "fields": [{"name": x.name, "type": x.type, "name_zh": x.name_zh, "sensitive": x.sensitive is not None,
                        "masked_as": x.sensitive, "primary_key": x.name in res.primary_key} for x in res.fields],
            "format": res.format, "update_cycle": res.update_cycle, "sharing_type": res.sharing_type,
            "access": ACCESS[res.sharing_type], "sharing_method": res.sharing_method,
            "open_attribute": res.open_attribute, "in_scope": res.in_scope,
            "last_landed": (lambda t: t.isoformat() if t else None)(as_utc(f.get("last_landed"))),
            "quality": {"days": QUALITY_DAYS, "rows_read": read, "rows_quarantined": bad,
                        "quarantined_share": round(bad / read, 6) if read else None},
            "rows_available": _available(conn, res),
        }
        if consumer is not None:
            entry["may_read"] = may_read(conn, res, consumer)[0]
        out.append(entry)
    return out


def jsonld(entries_: list[dict], base_url: str = "") -> dict:
    """DCAT 2 (JSON-LD) for the city and province platforms (省市数据对接)."""
    datasets = []
    for e in entries_:
        rows_url = f"{base_url}/share/v1/resources/{e['code']}/rows"
        ds = {
            "@id": f"{base_url}/share/v1/catalog#{e['code']}", "@type": "dcat:Dataset",
            "dct:identifier": e["code"],
            "dct:title": [{"@value": e["name_zh"], "@language": "zh"}, {"@value": e["name_en"], "@language": "en"}],
            "dct:publisher": {"@type": "foaf:Organization", "foaf:name": e["provider"]},
            "dct:accrualPeriodicity": {"@id": EU_FREQ + FREQUENCY[e["update_cycle"]]},
            "dct:accessRights": e["sharing_type"],
            "dcat:keyword": [e["department"], e["update_cycle"], e["sharing_type"], e["open_attribute"]],
            "citydata:fields": [{"citydata:name": x["name"], "citydata:type": x["type"],
                                 "citydata:nameZh": x["name_zh"], "citydata:sensitive": x["sensitive"]}
                                for x in e["fields"]],
        }
        if e["last_landed"]:
            ds["dct:modified"] = {"@value": e["last_landed"], "@type": "xsd:dateTime"}
        if e["rows_available"] is not None:
            ds["citydata:rowsAvailable"] = e["rows_available"]
            ds["dcat:distribution"] = [
                {"@type": "dcat:Distribution", "dcat:accessURL": {"@id": f"{rows_url}?format={fmt}"},
                 "dcat:mediaType": media, "dct:format": fmt}
                for fmt, media in (("json", "application/json"), ("csv", "text/csv"),
                                   ("parquet", "application/vnd.apache.parquet"))]
        if e["quality"]["quarantined_share"] is not None:
            ds["citydata:quarantinedShare30d"] = e["quality"]["quarantined_share"]
        datasets.append(ds)
    return {
        "@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
                     "foaf": "http://xmlns.com/foaf/0.1/", "xsd": "http://www.w3.org/2001/XMLSchema#",
                     "citydata": "urn:citydata:"},
        "@type": "dcat:Catalog",
        "dct:title": [{"@value": "沂南县政务数据资源目录", "@language": "zh"},
                      {"@value": "Yinan County government data resource catalogue", "@language": "en"}],
        "dcat:dataset": datasets,
    }
