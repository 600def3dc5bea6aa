"""The SMS providers' pushes: replies (上行短信) and delivery reports (状态报告).

``POST /callbacks/sms/<provider>/<kind>`` (``aliyun`` or ``tencent``; ``reply`` or ``report``)
takes the provider's body unchanged, as a gateway in front of this app forwards it with the
HMAC headers of :mod:`crmkit.adapters.sms_callbacks` (neither provider signs its pushes, so
the gateway does). The endpoint is called by that gateway, not by a browser: it needs no
login and carries no CSRF token, and the signature is what authenticates it. It answers:

- 200 with the provider's acknowledgement once the replies are stored (as
  ``crmkit.SYSTEM``; a ``T`` / ``退订`` unsubscribes its sender, a push repeated is stored
  once);
- 401 when the headers do not authenticate the body (missing, wrong secret, changed body,
  signed more than five minutes from the CRM's clock);
- 400 for a body that is not the provider's format (it would not parse on a retry either);
- 404 for a provider or kind it does not know, and while no secret is configured
  (``CRMKIT_SMS_CALLBACK_SECRET``): unsigned pushes are never accepted;
- 413 for a body larger than :data:`MAX_BODY`; 500 when storing failed (the provider retries).

Every answer is JSON; a refusal says why in ``error`` (and ``problem``: crmkit's
:class:`~crmkit.adapters.sms_callbacks.CallbackProblem`) and is logged.
"""

from __future__ import annotations

from typing import Any, Final

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import RequestEntityTooLarge

import crmkit
from admin import context
from crmkit.adapters.sms_callbacks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    CallbackError,
    acknowledgement,
    parse_callback,
    record_callbacks,
    verify_callback,
)

SECRET: Final = "CRMKIT_SMS_CALLBACK_SECRET"
PROVIDERS: Final = frozenset({"aliyun", "tencent"})
KINDS: Final = frozenset({"reply", "report"})
# A push is a few hundred bytes an item; providers batch at most a few hundred items.
MAX_BODY: Final = 1024 * 1024

bp = Blueprint("sms_callbacks", __name__)


def answer(status: int, **body: Any) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def refuse(status: int, message: str, problem: str) -> Response:
    current_app.logger.warning("SMS callback %s refused (%s): %s", request.path, status, message)
    return answer(status, error=message, problem=problem)


@bp.route("/callbacks/sms/<provider>/<kind>", methods=["POST"])
def receive(provider: str, kind: str) -> Response:
    """Verify, parse and store one push; answer the provider (see the module docstring)."""
    secret = current_app.config.get(SECRET) or ""
    if not secret:
        return refuse(404, f"SMS callbacks are disabled: {SECRET} is not configured", "disabled")
    if provider not in PROVIDERS or kind not in KINDS:
        return refuse(
            404,
            "no such SMS callback: expected /callbacks/sms/<aliyun|tencent>/<reply|report>",
            "unknown_callback",
        )
    request.max_content_length = MAX_BODY  # also for a chunked body without a length
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return refuse(413, f"the body is larger than {MAX_BODY} bytes", "too_large")
    try:
        verify_callback(
            secret,
            body,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            now=context.now(),
        )
        items = parse_callback(provider, kind, body)
    except CallbackError as exc:
        return refuse(401 if exc.authentication else 400, str(exc), exc.problem.value)
    try:
        with context.crm().session(actor=crmkit.SYSTEM) as s:
            result = record_callbacks(s, items)
    except crmkit.ValidationError as exc:
        # A reply crmkit refuses to store (the parsers vouch for the numbers, not for
        # everything receive() checks): as unfit to store on a retry as a bad body.
        return refuse(400, exc.message("en"), "malformed")
    except Exception:
        current_app.logger.exception("SMS callback %s could not be stored", request.path)
        return answer(500, error="the push could not be stored; send it again later")
    current_app.logger.info(
        "SMS callback %s: %s replies stored (%s from unknown numbers, %s repeated), %s reports",
        request.path,
        result.replies,
        result.unknown,
        result.duplicates,
        result.reports,
    )
    return answer(200, **acknowledgement(provider))


def init_app(app: Flask, csrf: CSRFProtect) -> None:
    """Register the endpoint, outside CSRF (its signature authenticates it; the login guard
    lets ``sms_callbacks.receive`` through: :data:`admin.auth.PUBLIC_ENDPOINTS`)."""
    app.register_blueprint(bp)
    csrf.exempt(bp)
