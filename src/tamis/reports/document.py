"""A report as data (sections of blocks), rendered to Markdown and to one self-contained HTML file.

Blocks are few: text (Markdown inline), a list of figures, a table of figures, a plot, a field left
for a human judgement, and a preformatted text. Every figure carries its footnote number
(``ref``); the appendix lists each number with the query or command that reproduces it.

HTML embeds its plots as base64 PNG and has no script: one file, nothing fetched. Markdown links
to PNG files written in ``<stem>-plots/`` beside it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tamis.reports.evidence import Figure, FigureTable, format_value


@dataclass(frozen=True)
class Text:
    markdown: str
    kind: str = "text"


@dataclass(frozen=True)
class Figures:
    items: tuple[Figure, ...]
    kind: str = "figures"


@dataclass(frozen=True)
class Table:
    table: FigureTable
    caption: str = ""
    kind: str = "table"


@dataclass(frozen=True)
class Plot:
    name: str
    title: str
    png: bytes
    refs: tuple[int, ...]
    kind: str = "plot"

    @property
    def b64(self) -> str:
        return base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class Todo:
    """A judgement the tool cannot make: left, clearly marked, for the DPO."""

    prompt: str
    kind: str = "todo"


@dataclass(frozen=True)
class Pre:
    text: str
    title: str = ""
    kind: str = "pre"


@dataclass(frozen=True)
class Check:
    """A stated condition and whether the figures meet it."""

    statement: str
    ok: bool | None
    refs: tuple[int, ...] = ()
    kind: str = "check"


Block = Text | Figures | Table | Plot | Todo | Pre | Check


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> Section:
        self.blocks.extend(blocks)
        return self


@dataclass
class Document:
    """A report: header facts, sections, and the reproduction appendix."""

    kind: str
    title: str
    doc_id: str
    header: list[tuple[str, str]]
    sections: list[Section]
    figures: list[Figure | FigureTable]
    prelude: list[str] = field(default_factory=list)
    command: str = ""

    @property
    def plots(self) -> list[Plot]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Plot)]

    def render_html(self) -> str:
        return str(_env().get_template("report.html.j2").render(doc=self, **_helpers()))

    def render_markdown(self, plots_dir: str) -> str:
        text: str = (
            _env().get_template("report.md.j2").render(doc=self, plots_dir=plots_dir, **_helpers())
        )
        return text.rstrip() + "\n"

    def write(self, out: Path) -> list[Path]:
        """Write ``out`` (``.html`` or ``.md``) and its sibling in the other format, with the
        Markdown's plots in ``<stem>-plots/``. Returns the paths written."""
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        html = out.with_suffix(".html")
        md = out.with_suffix(".md")
        plots_dir = out.parent / f"{out.stem}-plots"
        written = []
        html.write_text(self.render_html(), encoding="utf-8")
        written.append(html)
        if self.plots:
            plots_dir.mkdir(exist_ok=True)
            for plot in self.plots:
                path = plots_dir / f"{plot.name}.png"
                path.write_bytes(plot.png)
                written.append(path)
        md.write_text(self.render_markdown(plots_dir.name), encoding="utf-8")
        written.append(md)
        if self.prelude:
            sql = out.parent / f"{out.stem}-reproduce.sql"
            sql.write_text(reproduce_script(self), encoding="utf-8")
            written.append(sql)
        return written


def reproduce_script(doc: Document) -> str:
    """The prelude then every figure's query: one script for the DuckDB command line."""
    parts = [
        f"-- {doc.title} ({doc.doc_id})\n",
        "-- Prelude: run once in the DuckDB command line, then any query below.\n",
    ]
    parts += [s.rstrip().rstrip(";") + ";\n" for s in doc.prelude]
    for f in doc.figures:
        label = f.label if isinstance(f, Figure) else f.title
        if f.lang == "sql":
            parts.append(f"\n-- [{f.ref}] {label} ({f.key})\n{f.query.rstrip(';')};\n")
        else:
            body = "\n".join(f"-- {line}" for line in f.query.splitlines())
            parts.append(f"\n-- [{f.ref}] {label} ({f.key}): not SQL, run:\n{body}\n")
    return "".join(parts)


def _md_inline(text: str) -> str:
    from markdown_it import MarkdownIt

    return str(MarkdownIt("commonmark").renderInline(text))


def _md_block(text: str) -> str:
    from markdown_it import MarkdownIt

    return str(MarkdownIt("commonmark").enable("table").render(text))


def _cell(value: Any) -> str:
    return format_value(value)


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _helpers() -> dict[str, Any]:
    return {
        "inline": _md_inline,
        "block": _md_block,
        "cell": _cell,
        "md_escape": _md_escape,
        "is_number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    }


def _env() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("tamis.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
