"""The panel has no tables of its own. This module exists so that Django sends ``post_migrate``
to ``PanelConfig`` (it skips apps without a models module): the volunteers' group is rebuilt
after every ``migrate`` and every test flush (see ``apps.PanelConfig``)."""
