"""A tiny document model rendered twice: HTML (inline styles, no external assets) and plain text.

Both MIME alternatives of every email come from the same Doc, so they can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from citydata.render.html import esc, table
from citydata.render.table import render_table

_CSS_TABLE = "border-collapse:collapse;margin:6px 0 14px 0;font-size:13px"
_CSS_CELL = "border:1px solid #ccd;padding:4px 8px;text-align:left;vertical-align:top"
_CSS_HEAD = _CSS_CELL + ";background:#eef1f7"


@dataclass
class Doc:
    title: str
    blocks: list[tuple[str, object]] = field(default_factory=list)

    def heading(self, text: str) -> Doc:
        self.blocks.append(("h", text))
        return self

    def para(self, text: str, *, tone: str = "") -> Doc:
        self.blocks.append(("p" + tone, text))
        return self

    def bullets(self, items: list[str]) -> Doc:
        if items:
            self.blocks.append(("ul", list(items)))
        return self

    def table(self, headers: list[str], rows: list[list[object]]) -> Doc:
        if rows:
            self.blocks.append(("table", (headers, rows)))
        return self

    def html(self) -> str:
        out = [
            "<!DOCTYPE html>",
            '<html><head><meta charset="utf-8">',
            f"<title>{escape(self.title)}</title></head>",
            '<body style="font-family:\'Microsoft YaHei\',\'PingFang SC\',\'Noto Sans CJK SC\',sans-serif;'
            'color:#222;line-height:1.6;max-width:1000px">',
            f'<h2 style="color:#1d3f73">{escape(self.title)}</h2>',
        ]
        for kind, value in self.blocks:
            if kind == "h":
                out.append(f'<h3 style="color:#1d3f73;margin-top:18px">{escape(str(value))}</h3>')
            elif kind.startswith("p"):
                style = ' style="color:#a12622"' if kind == "pwarn" else (' style="color:#666;font-size:12px"'
                                                                          if kind == "pnote" else "")
                out.append(f"<p{style}>{escape(str(value))}</p>")
            elif kind == "ul":
                out.append("<ul>" + "".join(f"<li>{escape(str(i))}</li>" for i in value) + "</ul>")
            elif kind == "table":
                headers, rows = value
                cells = [[f'<td style="{_CSS_CELL}">{esc(c)}</td>' for c in r] for r in rows]
                out.append(table([str(h) for h in headers], cells, attrs=f' style="{_CSS_TABLE}"',
                                 th_attrs=f' style="{_CSS_HEAD}"'))
        out.append("</body></html>")
        return "\n".join(out)

    def text(self) -> str:
        out = [self.title, "=" * min(60, max(10, len(self.title) * 2)), ""]
        for kind, value in self.blocks:
            if kind == "h":
                out += ["", f"## {value}", ""]
            elif kind.startswith("p"):
                out += [str(value), ""]
            elif kind == "ul":
                out += [f"  - {i}" for i in value] + [""]
            elif kind == "table":
                headers, rows = value
                out += [render_table([str(h) for h in headers], [list(r) for r in rows]), ""]
        return "\n".join(out).rstrip() + "\n"
