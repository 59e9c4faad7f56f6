"""Web pages: the monitoring dashboard (``/dashboard/``) and the chats view (``/chats/``).

Plain server-sent HTML, CSS and a little vanilla JavaScript (ES modules, no build step, nothing
from a CDN), shipped as package data under ``templates/`` and ``static/``. The app adds every
route with ``*pages.routes()``; see :mod:`chatsync.api.pages.views`.
"""

from chatsync.api.pages.views import routes

__all__ = ["routes"]
