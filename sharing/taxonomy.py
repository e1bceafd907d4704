"""The fixed taxonomy of item categories, with French and English labels."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

CATEGORIES: dict[str, object] = {
    "diy": _("DIY and tools"),
    "garden": _("Garden"),
    "kitchen": _("Kitchen"),
    "cleaning": _("Cleaning"),
    "sport": _("Sport and outdoors"),
    "camping": _("Camping"),
    "kids": _("Children and babies"),
    "games": _("Games and toys"),
    "books": _("Books"),
    "music": _("Music"),
    "electronics": _("Electronics"),
    "party": _("Parties and events"),
    "moving": _("Moving and transport"),
    "mobility": _("Bikes and mobility"),
    "sewing": _("Sewing and crafts"),
    "other": _("Other"),
}
CATEGORY_CHOICES = [(key, label) for key, label in CATEGORIES.items()]
