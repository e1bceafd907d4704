"""Proofs of delivery as files: a photo (a real image, re-encoded so that no EXIF, GPS or text
chunk leaves the phone with it) and a signature (a PNG, re-encoded the same way, or an SVG
drawing kept only if it holds nothing but drawing elements and their geometry and style).

Both are stored under ``MEDIA_ROOT/pooling/``, which no URL serves (only ``media/items/`` is),
and purged with the proof photos (``pooling.services.retention``).
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

from pooling.errors import BadPhotoError, BadSignatureFileError

PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
_IMAGE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    Image.DecompressionBombError,
)

SVG_NS = "http://www.w3.org/2000/svg"
# Drawing elements only: no script, style sheet, foreignObject, image, use, a, animation.
SVG_TAGS = frozenset(
    {"svg", "g", "path", "polyline", "line", "polygon", "circle", "ellipse", "rect"}
)
# Geometry and presentation attributes only: no event handler (on*), no href of any kind.
SVG_ATTRIBUTES = frozenset(
    {
        "width",
        "height",
        "viewBox",
        "version",
        "preserveAspectRatio",
        "d",
        "points",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "transform",
        "fill",
        "fill-opacity",
        "fill-rule",
        "stroke",
        "stroke-width",
        "stroke-opacity",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-miterlimit",
        "opacity",
        "style",
    }
)
# A value may hold numbers, words, colours and simple lists; never url(...), a reference or
# a script scheme.
SVG_VALUE = re.compile(r"^[A-Za-z0-9#.,:;%()\s+\-]*$")
SVG_FORBIDDEN_VALUE = re.compile(r"url\s*\(|javascript|expression|@import|data:", re.I)
SVG_MAX_ELEMENTS = 5000
SVG_MAX_DEPTH = 16


@dataclass(frozen=True)
class ProofFile:
    """A proof ready to be stored: its sanitised content and a name with its extension."""

    content: ContentFile
    kind: str  # "jpeg", "png", "webp", "svg"


def _size_check(upload: UploadedFile, limit: int, error: type[Exception]) -> None:
    if upload.size is None or upload.size > limit:
        raise error()


def _reencode(data: bytes, *, allowed: dict[str, str], error: type[Exception]) -> tuple[bytes, str]:
    """The image re-encoded from its pixels (orientation applied): metadata stays behind."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            probe.verify()
        if fmt not in allowed:
            raise error()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            clean = ImageOps.exif_transpose(image) or image
            if fmt == "JPEG" and clean.mode not in ("RGB", "L"):
                clean = clean.convert("RGB")
            out = io.BytesIO()
            # No exif=, no pnginfo=, no icc_profile=: none of the original metadata is written.
            clean.save(out, fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    except _IMAGE_ERRORS:
        raise error() from None
    return out.getvalue(), str(fmt)


def proof_photo_check(photo: UploadedFile) -> None:
    """A proof photo is a real JPEG, PNG or WebP image within the size limit."""
    proof_photo_clean(photo)


def proof_photo_clean(photo: UploadedFile) -> ProofFile:
    """The photo, checked (size, declared type, a real image) and re-encoded without EXIF."""
    _size_check(photo, settings.POOLING_PROOF_PHOTO_MAX_BYTES, BadPhotoError)
    if (photo.content_type or "") not in settings.POOLING_PROOF_PHOTO_TYPES:
        raise BadPhotoError()
    photo.seek(0)
    data = photo.read()
    photo.seek(0)
    clean, fmt = _reencode(data, allowed=PHOTO_FORMATS, error=BadPhotoError)
    return ProofFile(ContentFile(clean, name=f"proof.{EXTENSIONS[fmt]}"), fmt.lower())


def _local(name: str) -> str:
    """The local name of an SVG element or attribute; ``""`` for a foreign namespace."""
    if name.startswith("{"):
        namespace, _, local = name[1:].partition("}")
        return local if namespace == SVG_NS else ""
    return name


def _svg_check(root: ET.Element) -> None:
    count = 0
    stack: list[tuple[ET.Element, int]] = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        count += 1
        if count > SVG_MAX_ELEMENTS or depth > SVG_MAX_DEPTH:
            raise BadSignatureFileError()
        if not isinstance(element.tag, str) or _local(element.tag) not in SVG_TAGS:
            raise BadSignatureFileError()
        if (element.text or "").strip() or (element.tail or "").strip():
            raise BadSignatureFileError()
        for name, value in element.attrib.items():
            if _local(name) not in SVG_ATTRIBUTES:
                raise BadSignatureFileError()
            if not SVG_VALUE.match(value) or SVG_FORBIDDEN_VALUE.search(value):
                raise BadSignatureFileError()
        stack.extend((child, depth + 1) for child in element)
    if _local(root.tag) != "svg":
        raise BadSignatureFileError()


def svg_clean(data: bytes) -> bytes:
    """An SVG signature, parsed and written again from its (allowed) elements only.

    A document type or an entity (the door to external references and entity expansion) is
    refused before parsing; the parser resolves nothing external.
    """
    lowered = data.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered or b"<?xml-stylesheet" in lowered:
        raise BadSignatureFileError()
    try:
        text = data.decode("utf-8")
        root = ET.fromstring(text)  # noqa: S314  (no DOCTYPE, no entity: checked above)
    except (ET.ParseError, UnicodeDecodeError, ValueError):
        raise BadSignatureFileError() from None
    _svg_check(root)
    ET.register_namespace("", SVG_NS)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def proof_signature_clean(signature: UploadedFile) -> ProofFile:
    """A signature drawn on the phone: a PNG (re-encoded) or an SVG (sanitised)."""
    _size_check(signature, settings.POOLING_SIGNATURE_MAX_BYTES, BadSignatureFileError)
    signature.seek(0)
    data = signature.read()
    signature.seek(0)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        clean, _fmt = _reencode(data, allowed={"PNG": "image/png"}, error=BadSignatureFileError)
        return ProofFile(ContentFile(clean, name="signature.png"), "png")
    return ProofFile(ContentFile(svg_clean(data), name="signature.svg"), "svg")
