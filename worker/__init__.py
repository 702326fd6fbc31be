"""Celery workers that train models and publish them to the artifact store."""
