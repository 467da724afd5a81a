"""WSGI entry point: ``gunicorn wsgi:app``. Settings come from TESSERA_* variables."""

from saas.wsgi_app import create_wsgi_app

app = create_wsgi_app()
