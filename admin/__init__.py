"""crmkit's reference admin panel: Flask-Admin over crmkit's public services.

Import it with the repository root on ``sys.path`` (``python -m admin.demo`` from the root,
or the test suite) and build an app with :func:`create_app`; nothing is created at import.
"""

from __future__ import annotations

from admin.app import create_app

__all__ = ["create_app"]
