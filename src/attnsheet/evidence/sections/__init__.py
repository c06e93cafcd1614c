"""One registry module per section of the site, in the cheatsheet's order (see registry.py)."""
