"""Running plain ``gunicorn`` from the repository root uses the service's settings."""
from api.gunicorn_conf import *  # noqa: F401,F403
