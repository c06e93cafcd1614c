"""Shared fixtures: the repository's paths and one strict build of the site per test run."""

from __future__ import annotations

from pathlib import Path

import pytest

from .browser import build_site_for, free_port


@pytest.fixture(scope="session")
def site_origin() -> str:
    """The loopback origin the session's site is built for (its site_url) and served at."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
def built_site(tmp_path_factory, site_origin) -> Path:
    """The one strict build of the site per test session (the browser suite serves it)."""
    site_dir = tmp_path_factory.mktemp("site")
    build_site_for(site_origin, site_dir)
    return site_dir
