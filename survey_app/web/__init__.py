"""Web layer: blueprints (one per audience), security headers and request hooks."""

from __future__ import annotations

import secrets

from flask import Blueprint, Flask, Response, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from werkzeug.middleware.proxy_fix import ProxyFix

#: The landing page at ``/``; the dashboards replace it.
home = Blueprint("home", __name__)


@home.get("/")
@login_required
def index() -> ResponseReturnValue:
    """Counsellors and site leads land on their dashboard, admins on administration, others on a landing."""
    if current_user.role == "admin":
        return redirect(url_for("admin.index"))
    if current_user.role in ("counsellor", "site_lead"):
        from survey_app.web.counsellor.dashboard_views import dashboard_page

        return dashboard_page()
    return render_template("auth/landing.html", user=current_user)


def register_blueprints(app: Flask) -> None:
    """Register every blueprint (their ``<int:...>`` parameters are database ids: see ``web.ids``)."""
    from survey_app.web.ids import DatabaseIdConverter

    app.url_map.converters["int"] = DatabaseIdConverter
    from survey_app.web.admin import bp as admin_bp
    from survey_app.web.api import bp as api_bp
    from survey_app.web.auth import bp as auth_bp
    from survey_app.web.client import bp as client_bp
    from survey_app.web.client import hand_over_bp as client_mode_bp
    from survey_app.web.consent import bp as consent_bp
    from survey_app.web.counsellor import bp as counsellor_bp
    from survey_app.web.court import bp as court_bp
    from survey_app.web.health import bp as health_bp
    from survey_app.web.reports import bp as reports_bp
    from survey_app.web.research import bp as research_bp

    app.register_blueprint(home)
    app.register_blueprint(auth_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(consent_bp)
    app.register_blueprint(court_bp)
    app.register_blueprint(counsellor_bp)
    app.register_blueprint(client_bp)
    app.register_blueprint(client_mode_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(research_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(admin_bp)


def register_middleware(app: Flask) -> None:
    """Trust ``SURVEY_PROXY_COUNT`` reverse proxies for the client address and scheme (default none)."""
    count = int(app.config.get("PROXY_COUNT", 0) or 0)
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]


def csp_nonce() -> str:
    """The per-request nonce for the rare ``<script nonce=...>``/``<style nonce=...>`` a template needs."""
    nonce: str | None = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return nonce


def _content_security_policy(frame_ancestors: str = "'none'") -> str:
    nonce = g.get("csp_nonce")
    extra = f" 'nonce-{nonce}'" if nonce else ""
    return (
        "default-src 'self'; "
        f"script-src 'self'{extra}; "
        f"style-src 'self'{extra}; "
        "img-src 'self' data:; "
        "connect-src 'self'; "
        "form-action 'self'; "
        f"frame-ancestors {frame_ancestors}; "
        "object-src 'none'; "
        "base-uri 'self'"
        + ("; upgrade-insecure-requests" if current_app.config.get("SECURE_COOKIES") else "")
    )


def allow_same_origin_framing(response: Response) -> Response:
    """Let pages of this site show ``response`` in a frame (the admin's questionnaire preview); only they."""
    response.headers["Content-Security-Policy"] = _content_security_policy("'self'")
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


#: Headers every response gets unless its view set them itself.
_DEFAULT_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
)


def _kept_for_later(response: Response) -> bool:
    """True when the response's Cache-Control lets a browser or a proxy keep it for a while."""
    cache = response.cache_control
    return bool(cache.public) or (cache.max_age or 0) > 0


def _security_headers(response: Response) -> Response:
    headers = response.headers
    present = set(headers.keys(lower=True))  # one pass: each setdefault would scan them all
    if "content-security-policy" not in present:
        headers.add("Content-Security-Policy", _content_security_policy())
    wanted = list(_DEFAULT_HEADERS)
    if request.endpoint != "static":
        # Health and court data: never kept in a shared tablet's or a proxy's cache.
        wanted.append(("Cache-Control", "no-store"))
        if "cache-control" in present and _kept_for_later(response):
            # A download made with send_file comes with the static files' long lifetime: not here.
            del headers["Cache-Control"]
            headers.pop("Expires", None)
            present.discard("cache-control")
    if current_app.config.get("SECURE_COOKIES"):
        wanted.append(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))
    for name, value in wanted:
        if name.lower() not in present:
            headers.add(name, value)
    return response


def register_security_headers(app: Flask) -> None:
    """Add CSP, nosniff, frame, referrer, cache and (in production) HSTS headers to every response."""
    app.after_request(_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce


def register_request_hooks(app: Flask) -> None:
    """Refuse input no route can use (see ``web.input_guard``), then load the signed-in staff member
    before each request (committing a last-seen update at once)."""
    from survey_app.web.auth.session import load_signed_in_staff
    from survey_app.web.input_guard import register_input_guard

    register_input_guard(app)
    app.before_request(load_signed_in_staff)
