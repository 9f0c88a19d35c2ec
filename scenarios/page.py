"""The reports' pages as data, and the one place they become HTML: Jinja2 templates with autoescape.

Every report (a simulation, a comparison, a sweep) is built as a ``Page`` of
``Section``s of blocks (a table, facts, a chart, a heat grid, a note) holding plain
text, never HTML: ``render`` hands it to ``templates/report.html.j2``, which escapes
everything it prints, so a title like ``<script>`` in a scenario file shows as text.
The web view's planner shows the same verdict box from the same macro
(``verdict_html`` in ``scenarios.report``).

Planners email these reports and open them offline or behind firewalls that block
foreign CDNs, and union chairmen open them on a phone: so plotly.js is inlined once,
and it is plotly's *basic* bundle (scatter, bar; 1.2 MB against 4.8 MB for the full
one, vendored in ``scenarios/vendor/`` with its provenance), the occupancy grid is a
shaded table rather than a heatmap trace (which the basic bundle lacks; a table
also prints and reads on a 360 px phone), tables reflow into cards on a phone, and
time series carry a start and a step instead of a timestamp per point.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from scenarios.i18n import t

FONT_STACK = (
    '-apple-system, BlinkMacSystemFont, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", '
    '"Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "Helvetica Neue", Arial, sans-serif'
)
PLOT_CONFIG = {"displaylogo": False, "responsive": True}
WIDE_HEIGHT = 420
PLOTLY_BUNDLE = "plotly-basic.min.js"
SIGNIFICANT_DIGITS = 4
"""Chart values are rounded to this many significant digits: a reader sees three, and the page stays small."""


@dataclass(frozen=True)
class Cell:
    """One table cell: a text and, smaller beside it, a detail (an interval, an id)."""

    text: str = ""
    detail: str = ""
    strong: bool = False
    code: bool = False
    """A key or value as the planner typed it, shown in a fixed-width font."""
    warn: str = ""
    """A warning mark after the text, in red."""
    title: str = ""
    """Shown on hover (a variant's full name behind its number)."""
    wide: bool = False
    """Prose (an error message): left-aligned."""


@dataclass(frozen=True)
class Row:
    name: Cell
    cells: tuple[Cell, ...]
    mark: str = ""
    """A row's class: ``sig`` (significant, on the Pareto front), ``total``, or a verdict (met, missed, unknown)."""


@dataclass(frozen=True)
class Table:
    id: str
    head: tuple[str, ...]
    rows: tuple[Row, ...]
    reflow: bool = True
    """On a phone each row becomes a card; False for a table narrow enough to stay a table."""
    kind: Literal["table"] = "table"

    @property
    def cards(self) -> bool:
        """Rows become cards on a phone only past two columns: a name and one value fit a phone as a table, and as
        cards they would only be twice as long."""
        return self.reflow and len(self.head) > 2


@dataclass(frozen=True)
class Facts:
    """A two-column table of what something is: each name with one or more lines of value."""

    id: str
    pairs: tuple[tuple[str, tuple[Cell, ...]], ...]
    kind: Literal["facts"] = "facts"


@dataclass(frozen=True)
class Note:
    text: str
    warn: bool = False
    kind: Literal["note"] = "note"


@dataclass(frozen=True)
class Heading:
    text: str
    warn: bool = False
    kind: Literal["heading"] = "heading"


@dataclass(frozen=True)
class Chart:
    id: str
    figure: Mapping[str, Any]
    """plotly's JSON: data, layout."""
    height: int = WIDE_HEIGHT
    kind: Literal["chart"] = "chart"


@dataclass(frozen=True)
class Heat:
    """A grid of numbers shaded by value (the occupancy of each weekday and hour)."""

    id: str
    corner: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    """(row name, ((text, shade), ...)); a shade is 0 (none) to 5 (the grid's top), see ``shade``."""
    kind: Literal["heat"] = "heat"


@dataclass(frozen=True)
class Verdict:
    overall: str
    """met, missed or unknown."""
    headline: str
    lines: tuple[str, ...]
    table: Table
    kind: Literal["verdict"] = "verdict"


Block = Table | Facts | Note | Heading | Chart | Heat | Verdict


@dataclass(frozen=True)
class Section:
    anchor: str
    heading: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Page:
    lang: str
    title: str
    sections: tuple[Section, ...]
    summary: tuple[str, ...] = ()
    """Plain sentences for the reader who reads nothing else, after the verdict."""
    verdict: Verdict | None = None
    footer: str = "generated_by"
    """The catalog key of the line at the foot: how the numbers were made (a simulation's means; the books' own)."""
    charts: tuple[Chart, ...] = field(init=False)

    def __post_init__(self) -> None:
        charts = tuple(b for s in self.sections for b in s.blocks if isinstance(b, Chart))
        object.__setattr__(self, "charts", charts)


# ---- rendering ----------------------------------------------------------------------------


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("scenarios", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.globals["t"] = t
    return environment


@cache
def plotly_js() -> str:
    """plotly.js's basic bundle, read once from the package."""
    return (resources.files("scenarios") / "vendor" / PLOTLY_BUNDLE).read_text(encoding="utf-8")


def render(page: Page) -> str:
    """The page as one self-contained HTML document."""
    t("html_lang", page.lang)  # an unknown language fails here, before any file is written
    template = _environment().get_template("report.html.j2")
    return template.render(
        page=page,
        plotly_js=Markup(plotly_js()) if page.charts else "",
        plotly_template=plotly_template() if page.charts else None,
        font_stack=Markup(FONT_STACK),  # a constant; inside <style> an escaped quote would not be read back
    )


def verdict_fragment(verdict: Verdict, lang: str) -> str:
    """The verdict box alone, for a page that has its own frame (the web view's planner)."""
    module = _environment().get_template("blocks.html.j2").make_module({"lang": lang})
    return str(module.verdict(verdict))  # type: ignore[attr-defined]


# ---- charts -------------------------------------------------------------------------------


def chart(fig: go.Figure, chart_id: str, height: int = WIDE_HEIGHT) -> Chart:
    """The figure in the house style, its numbers rounded, as a chart block."""
    fig.update_layout(
        template="plotly_white",
        font={"family": FONT_STACK},
        height=height,
        margin={"l": 60, "r": 30, "t": 30, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    )
    figure = json.loads(fig.to_json(engine="json"))
    figure["data"] = [_rounded(trace) for trace in figure["data"]]
    figure["layout"].pop("template", None)  # the page states plotly_white once for every chart (plotly_template)
    return Chart(chart_id, {"data": figure["data"], "layout": figure["layout"], "config": PLOT_CONFIG}, height)


@cache
def plotly_template() -> Any:
    """plotly_white's layout template: every chart shares it, so the page holds it once, not once per chart (7 kB each)."""
    fig = go.Figure()
    fig.update_layout(template="plotly_white")
    return json.loads(fig.to_json(engine="json"))["layout"]["template"]


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def time_axis(lang: str) -> dict[str, str]:
    """Dates as the reader writes them: 7月20日 12:00 in Chinese (plotly's own month names are English)."""
    return {"tickformat": t("axis.date_format", lang), "hoverformat": t("axis.date_format", lang)}


def shade(value: float | None, top: float) -> str:
    """How dark a grid cell is, "0" (no value, or nothing) to "5" (``top``); the stylesheet colours each step
    yellow to red (plotly's YlOrRd), so the numbers stay readable in print and on a phone."""
    if value is None or value <= 0 or top <= 0:
        return "0"
    return str(min(5, 1 + int(5 * value / top)))


def texts(values: Sequence[object]) -> tuple[Cell, ...]:
    return tuple(Cell(str(v)) for v in values)
