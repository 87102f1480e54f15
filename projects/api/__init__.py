"""The REST API under /api/v1/ (docs/api.md): bearer tokens or the browser session, JSON errors
with a stable code, the same unit-scope rules as the pages (``projects.selectors``)."""
