"""Generated sections of hand-written Markdown: a report owns the text from its heading to its end
marker and rewrites only that, so the prose around it survives a re-run."""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, text: str, *, heading: str, end_marker: str) -> None:
    """Put `text` (which starts with `heading` and ends with `end_marker`) in place of the section
    in `path` that starts at `heading`, or append it; a section without its marker runs to the end."""
    doc = path.read_text(encoding="utf-8") if path.is_file() else ""
    start = doc.find(heading)
    if start >= 0:
        end = doc.find(end_marker, start)
        end = len(doc) if end < 0 else end + len(end_marker) + 1
        doc = doc[:start] + text + doc[end:]
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    path.write_text(doc, encoding="utf-8")
