"""What every paper sheet of the panel is made of: an A4 PDF in large type, black on white (no
meaning carried by a colour), the association's name, the date and "page n / total" at the foot
of every page, drawn with reportlab.

The fonts are embedded TrueType (``PAPER_FONT_DIR``, Debian's DejaVu: any French text, and far
more); when they are missing the PDF falls back on its own Helvetica and Courier, which only
write the Western European characters of WinAnsi (cp1252: French is fine, other characters become
"?"), and says so in the log.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate

logger = logging.getLogger(__name__)

# Body text is 14 pt or more; the foot of the page 12 pt.
BODY_PT = 14
MARGIN = 18 * mm
FOOT = 16 * mm

_TRUETYPE = {
    "regular": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "mono": "DejaVuSansMono-Bold.ttf",
}
_FALLBACK = {"regular": "Helvetica", "bold": "Helvetica-Bold", "mono": "Courier-Bold"}


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    mono: str
    embedded: bool  # TrueType fonts embedded (any character), else the PDF's own (cp1252)

    def text(self, value: object) -> str:
        """``value`` as Paragraph markup: escaped, and within what the font can write."""
        return escape(self.plain(value))

    def plain(self, value: object) -> str:
        """``value`` as text the font can write."""
        text = str(value)
        return text if self.embedded else text.encode("cp1252", "replace").decode("cp1252")


_registered: dict[str, Fonts] = {}


def paper_fonts() -> Fonts:
    """The fonts of ``PAPER_FONT_DIR``, registered once per folder."""
    folder = Path(settings.PAPER_FONT_DIR)
    key = str(folder)
    if key in _registered:
        return _registered[key]
    paths = {role: folder / name for role, name in _TRUETYPE.items()}
    if all(path.is_file() for path in paths.values()):
        names = {role: f"Voisinage-{role}-{len(_registered)}" for role in paths}
        for role, path in paths.items():
            pdfmetrics.registerFont(TTFont(names[role], str(path)))
        pdfmetrics.registerFontFamily(
            names["regular"],
            normal=names["regular"],
            bold=names["bold"],
            italic=names["regular"],
            boldItalic=names["bold"],
        )
        fonts = Fonts(names["regular"], names["bold"], names["mono"], embedded=True)
    else:
        logger.warning(
            "paper fonts missing in %s (install fonts-dejavu-core): cp1252 text only", folder
        )
        fonts = Fonts(**_FALLBACK, embedded=False)
    _registered[key] = fonts
    return fonts


@dataclass(frozen=True)
class Styles:
    title: ParagraphStyle
    subtitle: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    strong: ParagraphStyle
    code: ParagraphStyle
    foot_pt: int = 12


def paper_styles(fonts: Fonts) -> Styles:
    def style(name: str, font: str, size: int, **more: Any) -> ParagraphStyle:
        return ParagraphStyle(
            name,
            fontName=font,
            fontSize=size,
            leading=round(size * 1.25),
            alignment=TA_LEFT,
            textColor="black",
            **more,
        )

    return Styles(
        title=style("title", fonts.bold, 26, spaceAfter=4),
        subtitle=style("subtitle", fonts.regular, 17, spaceAfter=6),
        heading=style("heading", fonts.bold, 20, spaceBefore=12, spaceAfter=6),
        body=style("body", fonts.regular, BODY_PT),
        strong=style("strong", fonts.bold, 16),
        code=style("code", fonts.mono, 22),
    )


def qr_code(value: str, size: float) -> Drawing:
    """A QR code of ``value`` (error correction M, its quiet zone included), ``size`` wide."""
    widget = QrCodeWidget(value, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


class _NumberedCanvas(Canvas):
    """Draws the foot of every page once the number of pages is known."""

    def __init__(self, *args: Any, foot: Callable[[Canvas, int, int], None], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._foot = foot
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._foot(self, number, total)
            super().showPage()
        super().save()


@dataclass(frozen=True)
class Page:
    """What the foot of every page says."""

    association: str
    printed: str  # "Printed on 4 December 2026"
    page_label: Callable[[int, int], str]  # (number, total) -> "Page 1 / 3"


def build_pdf(
    story: Sequence[Flowable], *, title: str, author: str, page: Page, language: str
) -> bytes:
    """The PDF of ``story`` on A4 pages, with the foot of ``page`` on each."""
    fonts = paper_fonts()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + FOOT,
        title=title,
        author=author,
        creator="Voisinage",
        lang=language,
        invariant=True,
    )

    def foot(canvas: Canvas, number: int, total: int) -> None:
        width, _height = A4
        y = MARGIN
        canvas.saveState()
        canvas.setStrokeColor("black")
        canvas.setLineWidth(1)
        canvas.line(MARGIN, y + 16, width - MARGIN, y + 16)
        canvas.setFont(fonts.regular, 12)
        canvas.setFillColor("black")
        canvas.drawString(MARGIN, y, fonts.plain(f"{page.association} — {page.printed}"))
        canvas.setFont(fonts.bold, 12)
        canvas.drawRightString(width - MARGIN, y, page.page_label(number, total))
        canvas.restoreState()

    doc.build(list(story), canvasmaker=partial(_NumberedCanvas, foot=foot))
    return buffer.getvalue()


def paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of markup already escaped (``Fonts.text``)."""
    return Paragraph(text, style)
