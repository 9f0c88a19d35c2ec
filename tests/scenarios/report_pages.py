"""Reading the HTML reports back in tests: their tables, their row names, the figures their script draws."""

from __future__ import annotations

import html
import json
import re
from typing import Any

PLOTLY_MARKER = re.compile(r"\* plotly\.js \(basic - minified\) v\d+\.\d+\.\d+")
EXTERNAL_RESOURCE = re.compile(r"<(?:script|link|img|iframe|source|embed|object)\b[^>]*\b(?:src|href|data)\s*=", re.IGNORECASE)


def element(page: str, element_id: str) -> str:
    """The HTML of the table or section with ``element_id`` (these do not nest their own kind)."""
    match = re.search(rf'<(table|section) id="{re.escape(element_id)}"[^>]*>(.*?)</\1>', page, re.DOTALL)
    assert match is not None, f"no element with id {element_id!r}"
    return match.group(2)


def body_rows(table: str) -> list[str]:
    body = table.split("<tbody>", 1)[1]
    return re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)


def cells(row: str) -> list[str]:
    """A row's values, without the cell that names it."""
    return re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)


def names(table: str) -> list[str]:
    """The row names of a table (its first column), as text."""
    return [html.unescape(re.sub(r"<[^>]+>", "", name)) for name in re.findall(r'<th scope="row" class="name"[^>]*>(.*?)</th>', table)]


def figure(page: str, div_id: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The traces and layout of the chart drawn into ``div_id``, read back from the page's script."""
    charts = json.loads(re.search(r"var charts = (.*);\n", page).group(1))  # type: ignore[union-attr]
    ids = json.loads(re.search(r"var ids = (.*);\n", page).group(1))  # type: ignore[union-attr]
    assert div_id in ids, f"no figure drawn into {div_id!r}"
    drawn = charts[ids.index(div_id)]
    return drawn["data"], drawn["layout"]


def assert_self_contained(page: str, charts: bool = True) -> None:
    """Nothing loaded from anywhere; plotly.js inlined once where the page has charts, and not at all where it has none."""
    assert len(PLOTLY_MARKER.findall(page)) == int(charts), "plotly.js must be inlined exactly once, and only for charts"
    assert EXTERNAL_RESOURCE.search(page) is None, "nothing may be loaded by src/href"
    assert "<link" not in page.lower()
    for style in re.findall(r"<style[^>]*>(.*?)</style>", page, re.DOTALL | re.IGNORECASE):
        assert "http" not in style and "@import" not in style and "url(" not in style
    for opening in re.findall(r"<(?:script|link|style)\b[^>]*>", page, re.IGNORECASE):
        assert "http://" not in opening and "https://" not in opening
