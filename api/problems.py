"""Every error leaves as application/problem+json (RFC 9457); domain errors map here, once."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from domain.errors import (
    DomainError,
    InvalidInput,
    NotAllowed,
    NotFound,
    RuleBroken,
    SpaceHasEnded,
    UnknownCaller,
)

log = logging.getLogger(__name__)

STATUS_OF: dict[type, int] = {UnknownCaller: 401, NotAllowed: 403, NotFound: 404, RuleBroken: 409,
             InvalidInput: 422}
# Reads answer differently: an ended Space is gone from public reads, a conflict for commands.
READ_STATUS_OF: dict[type, int] = {SpaceHasEnded: 410}
READS = ("GET", "HEAD")
TITLES = {
    400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "Not found",
    405: "Method not allowed", 409: "Rule broken", 410: "Gone", 415: "Unsupported media type",
    422: "Invalid input", 429: "Too many requests", 500: "Internal error",
    503: "Not ready yet",
}


def problem(status: int, detail: str, *, headers: dict[str, str] | None = None,
            **extra: object) -> JSONResponse:
    body = {
        "type": f"https://spaces.invalid/problems/{status}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers,
                        media_type="application/problem+json")


class Problem(Exception):
    """Raised by routes for errors that are not domain rules (401, 410, 429, ...)."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers


def status_of(error: DomainError, method: str = "POST") -> int:
    statuses = {**STATUS_OF, **READ_STATUS_OF} if method in READS else STATUS_OF
    for kind in type(error).__mro__:
        if kind in statuses:
            return statuses[kind]
    return 409


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> JSONResponse:
        return problem(status_of(error, request.method), str(error))

    @app.exception_handler(Problem)
    async def route_problem(_: Request, error: Problem) -> JSONResponse:
        return problem(error.status, error.detail, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"where": ".".join(str(part) for part in e["loc"]), "problem": e["msg"]}
            for e in error.errors()
        ]
        if any(e["type"] == "json_invalid" for e in error.errors()):
            return problem(400, "The body is not valid JSON.", errors=errors)
        detail = "; ".join(f"{e['where']}: {e['problem']}" for e in errors)
        return problem(422, detail, errors=errors)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        headers = dict(error.headers or {})
        if error.status_code == 405:  # every method of the path, not only the first route's
            path = request.url.path
            allowed = {method for route in app.routes if isinstance(route, APIRoute)
                       and route.path_regex.match(path) for method in route.methods}
            headers["Allow"] = ", ".join(sorted(allowed))
        return problem(error.status_code, str(error.detail), headers=headers or None)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return problem(500, "Something went wrong on our side; the error has been logged.")
