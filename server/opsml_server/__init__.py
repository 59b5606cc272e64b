"""The OpsML registry server: a thin FastAPI layer over the SQL backend.

Build the app with :func:`opsml_server.app.create_app`; run it with
``opsml server start`` or ``python -m opsml_server``.
"""
