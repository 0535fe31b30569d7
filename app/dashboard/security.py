"""Security headers for the dashboard's pages.

The pages run no script at all and load nothing from another origin: the CSP says so, so an
injected `<script>` or a tampered stylesheet link would be refused by the browser."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.dashboard.sessions import is_dashboard_path

CSP = "; ".join(
    [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


# This middleware is the one owner of these headers on dashboard paths: it drops any copy another
# layer set (the API's `default-src 'none'` CSP among them), because a browser enforces every
# Content-Security-Policy header it receives, and two policies blocked the page's stylesheet.
OWNED = frozenset(name for name, _ in HEADERS)


class DashboardHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_dashboard_path(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [h for h in message.get("headers", []) if h[0].lower() not in OWNED]
                message["headers"] = [*kept, *HEADERS]
            await send(message)

        await self.app(scope, receive, send_wrapper)
