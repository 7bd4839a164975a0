"""HTML fragments for the offline reports and the dashboard page: escaping and tables."""

from __future__ import annotations

from html import escape


def esc(value: object) -> str:
    """Text for HTML: None is empty, anything else its str(), escaped (quotes included)."""
    return escape("" if value is None else str(value))


def table(headers: list[str], rows: list[list[str]], *, attrs: str = "", th_attrs: str = "") -> str:
    """A <table> of escaped headers and ready HTML cells: a cell that is not already a <td> is wrapped in one.

    ``attrs``/``th_attrs`` go verbatim into the <table>/<th> tags (e.g. ' id="runs"', ' style="…"').
    """
    head = "".join(f"<th{th_attrs}>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
