"""The association's panel: the Django admin for volunteers.

Scoping (``scoping``), the "Association staff" group and its permissions (``staff``), the
dashboard's numbers (``stats``), its SVG charts (``charts``) and CSV exports (``exports``), and the
admin site that serves them (``site``).
"""
