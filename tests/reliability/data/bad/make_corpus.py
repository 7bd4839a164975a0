"""Write the small committed files of the bad-input corpus (run once; output is committed).

    .venv/bin/python tests/reliability/data/bad/make_corpus.py

Large or special cases (a 50 MB line, a zip bomb, 20,000 columns, symlinks) are generated
at test time by tests/reliability/test_bad_inputs.py; cases.yaml lists every case and its expected outcome.
Meter ids are unique per case, so all cases can share one landing zone and one warehouse.
"""

from __future__ import annotations

import codecs
import io
import json
import random
import re
import zipfile
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent / "files"
HEADER = "meter_id,reading_time,reading_m3,battery_pct,read_method,district"
# Files carry this day; the test shifts it to yesterday so the suites' freshness checks pass.
DAY = "2026-11-01"
TOWN = "界湖街道"


def meter(tag: str) -> str:
    """A valid water meter id (^SW(0[1-9]|1[0-7])\\d{8}$) for a readable tag like 'W-gbk-1'."""
    return f"SW01{zlib.crc32(tag.encode()) % 10**8:08d}"


def rows(case: str, n: int = 3, district: str = TOWN) -> list[str]:
    return [f"{meter(f'W-{case}-{i}')},{DAY} 08:{i:02d}:00,{100 + i}.5,{80 + i},auto,{district}" for i in range(1, n + 1)]


def row(case: str, i: int, time: str | None = None, m3: str = "1.5", battery: str = "1", district: str = TOWN,
        method: str = "auto") -> str:
    return f"{meter(f'W-{case}-{i}')},{time or f'{DAY} 08:{i:02d}:00'},{m3},{battery},{method},{district}"


def csv(case: str, lines: list[str], header: str = HEADER, eol: str = "\n") -> str:
    return eol.join([header, *lines]) + eol


def realistic(text: str) -> str:
    """Readable tags → valid meter ids, the placeholder town → a real township (the suites check both)."""
    text = re.sub(r"W-[a-z0-9]+-\d+", lambda m: meter(m.group(0)), text)
    return text.replace("城关街道", TOWN).replace("城关", TOWN)


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def write(name: str, data: str | bytes, encoding: str = "utf-8") -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / name).write_bytes(data if isinstance(data, bytes) else realistic(data).encode(encoding))


def main() -> None:
    write("utf8_ok.csv", csv("utf8", rows("utf8")))
    write("gbk.csv", csv("gbk", rows("gbk")), "gbk")
    write("gb18030_4byte.csv", csv("gb18030", [*rows("gb18030", 2), row("gb18030", 3, district="㐀𠀀镇")]), "gb18030")
    write("utf8_bom.csv", codecs.BOM_UTF8 + csv("bom", rows("bom")).encode())
    write("utf16le_bom.csv", codecs.BOM_UTF16_LE + csv("u16le", rows("u16le")).encode("utf-16-le"))
    write("utf16be_bom.csv", codecs.BOM_UTF16_BE + csv("u16be", rows("u16be")).encode("utf-16-be"))
    write("utf16_no_bom.csv", csv("u16", rows("u16")).encode("utf-16-le"))
    mixed = csv("mixed", rows("mixed", 2)).encode() + realistic("W-mixed-9,2026-11-01 08:09:00,1.5,1,auto,城关街道\n").encode("gbk")
    write("mixed_utf8_gbk.csv", mixed)
    write("invalid_bytes.csv", csv("inv", rows("inv")).encode() + realistic("W-inv-9,2026-11-01 08:09:00,1.5,1,auto,").encode() + b"\xff\xfe\xff\n")
    write("semicolon_delimiter.csv", csv("semi", [r.replace(",", ";") for r in rows("semi")], HEADER.replace(",", ";")))
    write("tab_delimiter.csv", csv("tab", [r.replace(",", "\t") for r in rows("tab")], HEADER.replace(",", "\t")))
    write("quoted_newlines.csv", csv("qnl", [*rows("qnl", 2), 'W-qnl-3,2026-11-01 08:03:00,3.5,1,auto,"城关街道\n第二行, 含逗号"']))
    write("ragged_short_row.csv", csv("rshort", [*rows("rshort", 2), "W-rshort-3,2026-11-01 08:03:00"]))
    write("ragged_long_row.csv", csv("rlong", [*rows("rlong", 2), "W-rlong-3,2026-11-01 08:03:00,3.5,1,auto,城关,extra"]))
    write("empty.csv", b"")
    write("blank_lines.csv", b"\n\n\n")
    write("header_only.csv", HEADER + "\n")
    write("duplicated_header.csv", csv("duph", rows("duph"), HEADER + ",district"))
    write("header_repeated_as_row.csv", csv("hrep", [*rows("hrep", 3), HEADER]))
    write("trailing_comma_header.csv", csv("trail", [r + "," for r in rows("trail")], HEADER + ","))
    rng = random.Random(10)
    write("binary_garbage.bin.csv", bytes(rng.randrange(256) for _ in range(4096)))
    write("binary_no_nul.csv", bytes(rng.randrange(1, 256) for _ in range(4096)))
    write("nul_bytes.csv", csv("nul", rows("nul")).encode().replace(b"auto", b"au\x00to", 1))
    write("nan_inf.csv", csv("naninf", [*rows("naninf", 4),
                                        "W-naninf-5,2026-11-01 08:05:00,NaN,1,auto,城关",
                                        "W-naninf-6,2026-11-01 08:06:00,inf,1,auto,城关",
                                        "W-naninf-7,2026-11-01 08:07:00,-Infinity,1,auto,城关"]))
    write("thousands_separator.csv", csv("thou", [*rows("thou", 3), 'W-thou-4,2026-11-01 08:04:00,"1,234.5",1,auto,城关',
                                                  "W-thou-5,2026-11-01 08:05:00,1 234.5,1,auto,城关"]))
    write("fullwidth_digits.csv", csv("fw", [",".join(fullwidth(v) for v in (meter("W-fw-1"), "2026-11-01 08:01:00", "123.5", "80")) + ",auto,城关",
                                             "W-fw-2,2026-11-01 08:02:00,１００,９,auto,城关"]))
    write("date_formats.csv", csv("dates", [
        "W-dates-1,2026-11-01 08:01:00,1.5,1,auto,城关",
        "W-dates-2,2026-11-01T08:02:00,1.5,1,auto,城关",
        "W-dates-3,2026-11-01 08:03,1.5,1,auto,城关",
        "W-dates-4,2026-11-01T00:04:00.123456Z,1.5,1,auto,城关",
        "W-dates-5,2026-11-01 08:05:00 +08:00,1.5,1,auto,城关",
        "W-dates-6,2026/11/01 08:06:00,1.5,1,auto,城关",
        "W-dates-7,01/11/2026 08:07,1.5,1,auto,城关",
        "W-dates-8,2026年11月01日 08时08分,1.5,1,auto,城关",
    ]))
    write("naive_vs_aware.csv", csv("tz", [
        "W-tz-1,2026-11-01 18:00:00,1.5,1,auto,城关",
        "W-tz-2,2026-11-01T10:00:00Z,1.5,1,auto,城关",
        "W-tz-3,2026-11-01T18:00:00+08:00,1.5,1,auto,城关",
        "W-tz-4,2026-11-01T05:00:00-05:00,1.5,1,auto,城关",
    ]))
    write("sql_injection_values.csv", csv("sqli", [
        "\"W-sqli-1'); DROP TABLE core.water__meter_readings; --\",2026-11-01 08:01:00,1.5,1,auto,\"' OR 1=1 --\"",
        "W-sqli-2,2026-11-01 08:02:00,1.5,1,auto,\"x\"\"; DELETE FROM audit.ingest_log; --\"",
        "W-sqli-3,2026-11-01 08:03:00,1.5,1,auto,Robert'); DROP TABLE students;--",
        *rows("sqlok", 4),
    ]))
    write("sql_injection_column.csv", csv("sqlc", [r + ",1" for r in rows("sqlc")],
                                          HEADER + ",\"x\"\" text); DROP TABLE core.water__meter_readings; --\""))
    write("missing_required_column.csv", "meter_id,reading_time,battery_pct\nW-miss-1,2026-11-01 08:01:00,1\n")
    write("required_value_missing.csv", csv("reqv", [*rows("reqv", 3), "W-reqv-4,2026-11-01 08:04:00,,1,auto,城关"]))
    write("all_rows_bad.csv", csv("allbad", [f"W-allbad-{i},not a time,x,y,auto,城关" for i in range(3)]))
    # row 5 repeats row 1 exactly (a duplicate); row 6 gives row 2's key other values (a conflict).
    dupk = rows("dupk", 4)
    write("duplicate_keys_in_file.csv", csv("dupk", [*dupk, dupk[0], dupk[1].replace("102.5", "999.5")]))
    write("integer_overflow.csv", csv("ovf", [*rows("ovf", 3), "W-ovf-4,2026-11-01 08:04:00,1.5,99999999999999999999,auto,城关"]))
    write("header_case_spaces_bom.csv", codecs.BOM_UTF8 + csv("hdr", rows("hdr"),
                                                             " Meter_ID ,READING_TIME, reading_m3,Battery_Pct,read_method,District").encode())
    write("crlf.csv", csv("crlf", rows("crlf"), eol="\r\n"))
    write("emoji_4byte.csv", csv("emoji", [*rows("emoji", 2), row("emoji", 3, district="城关🏙️街道")]))
    write("unbalanced_quote.csv", csv("uq", [*rows("uq", 2), 'W-uq-3,2026-11-01 08:03:00,3.5,1,auto,"城关']))
    write("meter readings with spaces.csv", csv("space", rows("space")))
    write("水表读数_城关街道.csv", csv("zhname", rows("zhname")))
    write("no_extension", csv("noext", rows("noext")))
    write("readings.xlsx", b"PK\x03\x04" + b"\x00" * 60)
    # An .xlsx-like workbook (a ZIP with the OOXML parts) and an OLE2 (.xls) header, both named .csv.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet><sheetData/></worksheet>")
    write("excel_xlsx_named.csv", buf.getvalue())
    write("excel_xls_named.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"Workbook")
    write("gzip_named.csv", b"\x1f\x8b\x08\x00" + bytes(16))
    write("pdf_named.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    # JSON Lines / JSON / Parquet
    good = [{"meter_id": meter(f"W-jl-{i}"), "reading_time": f"2026-11-01T08:0{i}:00+08:00", "reading_m3": 1.5 + i,
             "battery_pct": 80, "read_method": "auto", "district": "城关"} for i in range(1, 4)]
    write("ok.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in good) + "\n")
    write("invalid_line.jsonl", json.dumps(good[0] | {"meter_id": meter("W-jlbad-1")}) + "\n{\"meter_id\": \"W-jlbad-2\",\n")
    write("array_lines.jsonl", "[1, 2, 3]\n")
    write("nested_values.jsonl", "\n".join(json.dumps(r | {"meter_id": meter(f"W-nest-{i}")}, ensure_ascii=False)
                                            for i, r in enumerate(good, 1)) + "\n"
          + json.dumps(good[0] | {"meter_id": meter("W-nest-9"), "district": {"town": "城关", "n": [1, 2]}},
                       ensure_ascii=False) + "\n")
    write("not_array.json", json.dumps({"meter_id": "W-obj-1"}))
    write("wrapped_data.json", json.dumps({"data": [r | {"meter_id": meter(f"W-wrap-{i}")} for i, r in enumerate(good, 1)]},
                                          ensure_ascii=False))
    write("truncated.json", json.dumps(good)[:-20])
    write("corrupt.parquet", b"PAR1" + bytes(rng.randrange(256) for _ in range(200)) + b"PAR1")
    write("csv_named.parquet", csv("pq", rows("pq")))


if __name__ == "__main__":
    main()
