"""Reading back the panel's paper sheets (PDF) in the tests: their text, page by page (pypdf), and
their first page as a PNG image (pypdfium2)."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pypdfium2


def pdf_pages(content: bytes) -> list[str]:
    """The text of each page, as pypdf extracts it."""
    assert content.startswith(b"%PDF-"), content[:40]
    reader = pypdf.PdfReader(io.BytesIO(content))
    return [page.extract_text() for page in reader.pages]


def pdf_lines(content: bytes) -> list[str]:
    """Every line of every page, stripped, empty ones left out."""
    return [
        line.strip() for page in pdf_pages(content) for line in page.splitlines() if line.strip()
    ]


def pdf_page_size_mm(content: bytes) -> tuple[int, int]:
    box = pypdf.PdfReader(io.BytesIO(content)).pages[0].mediabox
    return round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)


def first_page_png(content: bytes, path: Path, scale: float = 2.0) -> tuple[int, int]:
    """Renders the first page to ``path`` (PNG); returns its size in pixels."""
    document = pypdfium2.PdfDocument(content)
    try:
        page = document[0]
        image = page.render(scale=scale).to_pil()
        page.close()
    finally:
        document.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return image.size
