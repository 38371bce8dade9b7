"""The one HTML helper of the reports: every value is escaped unless it is `Markup` built here.

Report pages hold partner and customer data; a page built by string formatting must not let
one value become markup. So `table` and `page` escape whatever they are given, and the only
way to put markup in a cell is a `Markup` value: made by this module's helpers, or by a
caller from a literal tag (never from data).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

# One stylesheet for every report: plain, printable, no web fonts, nothing fetched.
STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right}code{font-size:0.95em}
.error{color:#b00020;font-weight:bold}.warning{color:#a15c00}.ok{color:#1b7f3b;font-weight:bold}
svg text{font-size:11px;font-family:system-ui,sans-serif}
"""


class Markup(str):
    """HTML made by this module from escaped parts; `table` and `page` insert it as it is."""


def text(value: Any) -> Markup:
    """Any value as escaped HTML text (Markup passes through)."""
    return value if isinstance(value, Markup) else Markup(escape(str(value)))


def element(tag: str, value: Any, **attributes: str) -> Markup:
    """`<tag attr="...">value</tag>` with the value and every attribute escaped."""
    attrs = "".join(f' {name.rstrip("_")}="{escape(v)}"' for name, v in attributes.items())
    return Markup(f"<{tag}{attrs}>{text(value)}</{tag}>")


def code(value: Any) -> Markup:
    return element("code", value)


def lines(values: Iterable[Any]) -> Markup:
    """Values one per line in a cell."""
    return Markup("<br>".join(text(v) for v in values))


def join(*parts: Any) -> Markup:
    """Parts side by side, each escaped unless already Markup."""
    return Markup("".join(text(p) for p in parts))


def cell(value: Any) -> Markup:
    """A table cell: numbers right-aligned, Markup as it is, anything else escaped."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Markup(f'<td class="n">{value:,}</td>')
    if isinstance(value, float):
        return Markup(f'<td class="n">{value}</td>')
    return Markup(f"<td>{text(value)}</td>")


def table(headers: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Markup:
    """A table with a header row; every header and cell goes through `cell`'s escaping."""
    head = "".join(f"<th>{text(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return Markup(f"<table><tr>{head}</tr>{body}</table>")


def page(title: Any, *sections: Any) -> str:
    """A whole self-contained document: no scripts, no external resources."""
    body = "\n".join(text(s) for s in sections)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{text(title)}</title>
<style>{STYLE}</style></head><body>
{body}
</body></html>
"""
