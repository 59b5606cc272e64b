"""Deployment steps of the OpsML collection (see :mod:`opsml_prefect.deployments.steps`)."""
