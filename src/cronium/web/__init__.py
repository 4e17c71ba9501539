"""The web UI: the single-page app built from ui/ (by ``make install``) into ``dist/`` here,
served at ``/`` by the API's own server.

Files of the build are served as they are (hashed assets cached for good, the rest revalidated);
any other path that is not the API's answers the app's ``index.html``, so a deep link or a reload
shows its page. Every answer carries a Content-Security-Policy that allows only this server's
own scripts and connections.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from starlette.responses import FileResponse, PlainTextResponse, Response

DIST = Path(__file__).parent / "dist"
NOT_BUILT = (
    "The web UI is not built. Build it with `make install` (it runs `npm ci` and `npm run build` "
    "in ui/), then reload this page. The REST API is at /api/v1 (see /docs).\n"
)
# the server's own scripts, styles and connections only; CodeMirror adds <style> elements
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}
# paths the app never answers: the API and the server's own pages
NOT_THE_APP = ("/api/", "/docs", "/redoc", "/openapi.json", "/healthz", "/readyz", "/metrics")


class WebApp:
    """What the API's routes do not answer: the UI's files, else its page; None for a path
    that is not the app's (the API's own 404 answers it)."""

    def __init__(self, dist: Path = DIST) -> None:
        self.dist = dist.resolve()

    def response(self, path: str) -> Response | None:
        if path.startswith(NOT_THE_APP) or path == "/api":
            return None
        index = self.dist / "index.html"
        if not index.is_file():
            return PlainTextResponse(NOT_BUILT, status_code=503, headers=HEADERS)
        file = self.file(path)
        if file is not None:
            hashed = file.parent == self.dist / "assets"
            cache = "public, max-age=31536000, immutable" if hashed else "no-cache"
            return FileResponse(file, headers={**HEADERS, "cache-control": cache})
        if path.startswith("/assets/"):  # an asset of another build, not a page
            return None
        return FileResponse(index, headers={**HEADERS, "cache-control": "no-cache"})

    def file(self, path: str) -> Path | None:
        """The file of the build at ``path``, never one outside it."""
        relative = path.lstrip("/")
        if not relative or "\x00" in relative:
            return None
        candidate = (self.dist / relative).resolve()
        if not candidate.is_relative_to(self.dist) or not candidate.is_file():
            return None
        return candidate


def install_web_app(app: FastAPI, web: WebApp | None = None) -> None:
    """Answer GET and HEAD of every path no route of ``app`` has with the web UI. Call it after
    every other route is included."""
    web = web or WebApp()

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]

    @app.api_route("/{path:path}", methods=methods, include_in_schema=False)
    async def web_ui(request: Request) -> Response:
        # other methods get the 404 an unknown path always had, not a 405
        page = request.method in ("GET", "HEAD")
        response = web.response(request.url.path) if page else None
        if response is None:
            raise HTTPException(status_code=404)
        return response
