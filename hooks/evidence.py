"""MkDocs loads this file as the site's hook; the adapter holds the code."""

from attnsheet.adapter.mkdocs_hooks import *  # noqa: F401,F403  (the on_* hook events)
