"""The one-machine runtime: what OpenFaaS, its connectors and MinIO do in production.

``python -m prichal_localrun`` reads ``stack.yml`` and serves every function under
``/function/<name>`` (gateway), fires the ``schedule`` annotations (cron connector),
delivers RabbitMQ messages by the ``topic`` annotations (RabbitMQ connector) and starts an
S3-compatible server when none is configured. stack.yml stays the single source of truth.
"""
