"""The ``web`` blueprint: sign-in, the home redirect, errors, and the page modules."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import (Blueprint, current_app, flash, g, redirect, render_template, request, session,
                   url_for)
from flask_babel import get_locale, gettext as _
from flask_wtf.csrf import CSRFError

from audit_service.errors import AuditError, NotFound, ValidationFailed
from audit_service.validation import MULTILINE_FIELDS, text_problem

from api.errors import Unavailable

from .. import csrf
from ..auth import (HOME, accounts, page, sign_in, sign_out, signed_in_user, throttle,
                    token_user, READERS)
from ..forms import new_key
from ..sessions import services

blp = Blueprint("web", __name__, template_folder="../templates", static_folder="../static",
                static_url_path="/static/web")


@blp.before_request
def _csrf_on_every_form():
    if request.method == "POST":
        csrf.protect()


#: No page takes a number longer than this (positions, days, seconds): a longer one is refused
#: before it can reach a query (PostgreSQL's bigint, SQLite's 64-bit integers).
MAX_DIGITS = 18


@blp.before_request
def _refuse_unstorable_input():
    """Refuse, for every page at once, query parameters, form fields and path parameters
    holding text no store or reader can hold (the API's rule, ``text_problem``) or numbers
    beyond 64 bits: a 422 page naming the field, before any view reads them."""
    values = [*request.args.items(multi=True), *request.form.items(multi=True),
              *(request.view_args or {}).items()]
    for name, value in values:
        if not isinstance(value, str):
            continue
        problem = text_problem(value, multiline=name in MULTILINE_FIELDS)
        if problem is None and value.isdigit() and (len(value) > MAX_DIGITS
                                                    or not value.isascii()):
            problem = f"at most {MAX_DIGITS} digits 0-9"
        if problem:
            raise ValidationFailed(f"{name}: {problem}", details={name: problem})


@blp.after_request
def _no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; style-src 'self'")
    return response


@blp.app_context_processor
def _page_context():
    if not request.blueprint == "web":
        return {}
    return {"user": g.get("web_user"), "lang": str(get_locale() or "vi"), "new_key": new_key,
            "today": services().service.today()}


def wait_for_write() -> None:
    """After a form's redirect (``?at=position``): show the page once the read models
    include the write, waiting at most ``WEB_READ_WAIT_SECONDS`` (then say so)."""
    at = request.args.get("at", "")
    if not at.isdigit():
        return
    try:
        services().wait_for(int(at), seconds=current_app.config.get("WEB_READ_WAIT_SECONDS",
                                                                     3.0))
    except Unavailable:
        flash(_("Danh sách có thể chưa kịp cập nhật thay đổi vừa ghi; hãy tải lại sau"
                " ít giây."), "error")
    except ValidationFailed:  # beyond the log's end: nothing to wait for
        return


@blp.errorhandler(CSRFError)
def _csrf_refused(exc):
    return render_template("error.html", status=400, title=_("Biểu mẫu đã hết hạn"),
                           message=_("Yêu cầu thiếu mã chống giả mạo (CSRF). Hãy tải lại trang"
                                     " và gửi lại.")), 400


@blp.errorhandler(403)
def _forbidden(exc):
    return render_template("error.html", status=403, title=_("Không có quyền"),
                           message=_("Vai trò của bạn không được mở trang này.")), 403


@blp.errorhandler(NotFound)
def _not_found(exc):
    return render_template("error.html", status=404, title=_("Không tìm thấy"),
                           message=exc.message), 404


@blp.errorhandler(AuditError)
def _refused(exc):
    return render_template("error.html", status=exc.status, title=_("Không thực hiện được"),
                           message=f"{exc.message} [{exc.code}]"), exc.status


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@blp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        address = request.remote_addr or "?"
        token = request.form.get("token", "").strip()
        name = request.form.get("user_name", "").strip().lower()[:100]
        who = name if not token else "(token)"  # token guesses count together
        wait = throttle().wait_seconds(who, address)
        user = None
        if wait:
            error = _("Đăng nhập sai nhiều lần. Hãy thử lại sau %(n)s giây.", n=wait)
        elif token:
            user, digest = token_user(token)
            if user:
                sign_in(user, "token", digest)
        else:
            user = accounts().verify(name, request.form.get("password", ""))
            if user:
                sign_in(user, "account")
        if not wait:
            if user is None:
                throttle().failed(who, address)
                error = _("Tên đăng nhập, mật khẩu hoặc mã truy cập không đúng.")
            else:
                throttle().succeeded(who, address)
                return redirect(_safe_next(request.args.get("next"))
                                or url_for(HOME[user.role]))
        return render_template("login.html", error=error), 401 if not wait else 429
    if request.args.get("idle"):
        error = _("Phiên làm việc đã hết hạn do không hoạt động. Hãy đăng nhập lại.")
    return render_template("login.html", error=error)


@blp.route("/logout", methods=["POST"])
def logout():
    sign_out()
    return redirect(url_for("web.login"))


@blp.route("/")
@page(*READERS)
def home():
    return redirect(url_for(HOME[signed_in_user().role]))


@blp.route("/language/<code>", methods=["POST"])
def language(code: str):
    if code in ("vi", "en"):
        session["lang"] = code
    return redirect(_safe_next(request.form.get("back")) or url_for("web.login"))


from . import audit, board, inspections, officers, units  # noqa: E402,F401  (routes)
