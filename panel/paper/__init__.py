"""The panel's paper sheets as PDF: the noticeboard's (noticeboard.py) and a member's own
(member.py), on the same A4 layout (layout.py). Served by panel/sheets.py."""
