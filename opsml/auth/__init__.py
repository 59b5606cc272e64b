"""Identity: roles and principals, secret hashing, and the wire models of users and tokens.

Nothing here imports FastAPI or a database driver; the SQL store is
:mod:`opsml.backends.sql.identity`, the server's checks :mod:`opsml_server.auth`.
"""
