"""One self-contained HTML page of explain views: every picture embedded as base64, the
styles inline, no script and no link to anything outside the file (it opens offline, and
can be mailed or uploaded as one file)."""

from __future__ import annotations

import base64
import html
import os
import pathlib

from ..atomic import atomic_write_text
from .explain_types import ViewResult

_MIME = {".png": "image/png", ".gif": "image/gif", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
         ".svg": "image/svg+xml"}

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
       background: #fafafa; color: #222; line-height: 1.5; }
header { background: #1f3b5a; color: white; padding: 18px 32px; }
header h1 { margin: 0; font-size: 24px; }
header p { margin: 4px 0 0; opacity: 0.85; }
nav { padding: 10px 32px; background: #e8edf2; font-size: 14px; }
nav a { margin-right: 14px; color: #1f3b5a; }
section { background: white; margin: 20px 32px; padding: 16px 24px; border-radius: 6px;
          box-shadow: 0 1px 3px rgba(0, 0, 0, 0.12); }
section h2 { margin-top: 4px; font-size: 20px; color: #1f3b5a; }
p.about { max-width: 60em; }
figure { margin: 12px 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 12px; color: #666; }
details { margin-top: 8px; }
pre { background: #f4f4f4; padding: 10px; overflow-x: auto; font-size: 12px; }
section.failed { border-left: 4px solid #c0392b; }
"""


def _image_tag(path: pathlib.Path) -> str:
    mime = _MIME.get(path.suffix.lower())
    if mime is None or not path.exists():
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    name = html.escape(path.name)
    return (f'<figure><img src="data:{mime};base64,{data}" alt="{name}">'
            f"<figcaption>{name}</figcaption></figure>")


def render_report(results: list[ViewResult], title: str = "How this CNN sees a digit",
                  subtitle: str = "", failures: dict[str, str] | None = None) -> str:
    """The HTML text of the report: a header, a table of contents, one section per view
    (title, its `about` paragraph, its pictures, its terminal text folded away), and one
    short section per view that failed."""
    failures = failures or {}
    links = [f'<a href="#{html.escape(r.name)}">{html.escape(r.title)}</a>' for r in results]
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
             f"<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>",
             f"<nav>{' '.join(links)}</nav>"]
    for result in results:
        images = "".join(_image_tag(pathlib.Path(path)) for path in result.files)
        parts.append(
            f'<section id="{html.escape(result.name)}"><h2>{html.escape(result.title)}</h2>'
            f'<p class="about">{html.escape(result.about)}</p>{images}'
            f"<details><summary>the numbers (as printed in the terminal)</summary>"
            f"<pre>{html.escape(result.text)}</pre></details></section>")
    for name, message in failures.items():
        parts.append(f'<section class="failed" id="{html.escape(name)}"><h2>'
                     f"{html.escape(name)}: not shown</h2><p>{html.escape(message)}</p>"
                     "</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(results: list[ViewResult], path: str | os.PathLike, title: str = "How this "
                 "CNN sees a digit", subtitle: str = "",
                 failures: dict[str, str] | None = None) -> pathlib.Path:
    """Write `render_report(...)` to `path` (one file, every image inside it); returns it."""
    path = pathlib.Path(path)
    atomic_write_text(path, render_report(results, title, subtitle, failures))
    return path
