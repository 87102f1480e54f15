"""Helpers shared by the test modules, one module per kind of help (fixtures live in conftest.py):

- ``api``: API tokens, the bearer header and the error body every API error has;
- ``pages``: logging a persona in and counting the queries of a page;
- ``files``: images and spreadsheets as a user would upload or download them;
- ``forms``: POST data of formsets;
- ``browser``: the real headless Chromium the browser tests drive;
- ``worker``: a real Celery worker process on the Redis broker;
- ``robot``: a local HTTP server standing in for a group robot or a webhook receiver.

Factories for the domain's objects are in ``tests/factories.py``.
"""
