"""Error pages: a 404 that names nothing private and a 503 notice for suspended brands."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from saas.web.themes import render


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, render_error)


def render_error(error: HTTPException):
    if request.path.startswith("/api/"):
        from saas.api.problems import problem

        code = {404: "not_found", 405: "method_not_allowed"}.get(error.code, "http_error")
        return problem(error.code, code, error.description or error.name)
    if request.accept_mimetypes.best == "application/json":
        return {"title": error.name, "status": error.code, "detail": error.description}, error.code
    template = f"errors/{error.code}.html" if error.code in (404, 503) else "errors/generic.html"
    return render(template, error=error), error.code
