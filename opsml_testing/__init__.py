"""Helpers that the tests and the benchmarks share, so that neither imports the other.

Not part of the published wheel (``[tool.hatch.build.targets.wheel]`` lists its packages):
importable from the repository root, which the editable install of the dev environment
puts on ``sys.path`` (and ``python -m benchmarks.x`` run from the root does too).

- :mod:`opsml_testing.proc`: subprocesses on a free loopback port; RSS sampling.
- :mod:`opsml_testing.live_server`: the command that starts a registry server; ``LiveServer``.
- :mod:`opsml_testing.databases`: scratch PostgreSQL and MariaDB databases.
- :mod:`opsml_testing.emulators` and :mod:`opsml_testing.transfers`: S3 and GCS emulators,
  large transfers measured in a fresh process.
- :mod:`opsml_testing.balancer`: registry replicas behind HAProxy.
- :mod:`opsml_testing.seeding`: a large file, a registry seeded with many cards.
- :mod:`opsml_testing.fuzzing`, :mod:`opsml_testing.soak`, :mod:`opsml_testing.kills`,
  :mod:`opsml_testing.signing`: the machinery of the reliability tests and benchmarks.
- :mod:`opsml_testing.chromium`: the browser of the UI tests and benchmarks.
"""
