"""The association's panel registers every ModelAdmin of the project's domains here, so that the
domains never import the panel (an import-linter contract). ``django.contrib.admin``'s
autodiscovery imports this package; each module registers one domain's models."""

from panel.admin import assistance, neighbourhoods, pooling, sharing

__all__ = ["assistance", "neighbourhoods", "pooling", "sharing"]
