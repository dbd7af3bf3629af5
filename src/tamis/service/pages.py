"""The server-rendered pages: sign-in (demo), settings, data use, notice, objection form.

No JavaScript: every action is a form POST carrying the session's CSRF token, answered by a
redirect (settings) or a page (objection receipt). Routes only translate to
:class:`~tamis.service.member.MemberService` calls and render :mod:`.templates`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tamis.errors import RegistryError
from tamis.service import api
from tamis.service.context import (
    clear_session,
    client_ip,
    ctx,
    lang_of,
    principal_of,
    replace_session,
    save_session,
    session_of,
)
from tamis.service.i18n import category_name, format_date, format_datetime, translate
from tamis.service.member import event_dict
from tamis.service.security import CSRF_FIELD
from tamis.timefmt import parse_instant

router = APIRouter(include_in_schema=False)


def render(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    """Render a template with what every page needs (language, caller, CSRF token, strings)."""
    c = ctx(request)
    lang = lang_of(request)
    session = session_of(request)
    template = c.templates.get_template(name)
    html = template.render(
        request=request,
        lang=lang,
        t=lambda key, **kw: translate(key, lang, **kw),
        cat=lambda key: category_name(key, lang),
        date=lambda v: format_date(v, lang),
        datetime=lambda v: format_datetime(v, lang),
        instant=parse_instant,
        principal=principal_of(request),
        demo=c.provider.interactive,
        csrf_field=CSRF_FIELD,
        csrf=session.csrf,
        path=request.url.path,
        **values,
    )
    response = HTMLResponse(html, status_code=status)
    save_session(request, response)
    return response


def redirect(request: Request, url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    save_session(request, response)
    return response


async def form_of(request: Request) -> tuple[dict[str, str], bool]:
    """The posted form fields, and whether its CSRF token matches the session's."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return fields, session_of(request).check_csrf(fields.get(CSRF_FIELD))


def csrf_failed(request: Request) -> HTMLResponse:
    return render(request, "error.html", 403, message=translate("csrf_failed", lang_of(request)))


def safe_next(target: str | None) -> str:
    """Only local paths: ``/settings`` yes, ``//evil.example`` or ``https://...`` no."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/settings"


def need_sign_in(request: Request) -> Response:
    if ctx(request).provider.interactive:
        return redirect(request, f"/login?next={request.url.path}")
    return render(request, "error.html", 401, message=translate("login_upstream", lang_of(request)))


@router.get("/")
def home(request: Request) -> Response:
    return redirect(request, "/settings")


@router.get("/assets/tamis.css")
def stylesheet(request: Request) -> Response:
    from importlib import resources

    css = resources.files("tamis.service").joinpath("templates/tamis.css").read_text()
    return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


# -- sign-in --------------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request) -> Response:
    c = ctx(request)
    if not c.provider.interactive:
        return need_sign_in(request)
    sample: list[Any] = getattr(c.provider, "sample", list)()
    return render(
        request,
        "login.html",
        next=safe_next(request.query_params.get("next")),
        sample=sample,
        error=None,
    )


@router.post("/login")
async def login_submit(request: Request) -> Response:
    c = ctx(request)
    fields, ok = await form_of(request)
    if not ok:
        return csrf_failed(request)
    if not c.provider.interactive:
        return need_sign_in(request)
    principal = c.provider.login(fields.get("member_id", ""))
    target = safe_next(fields.get("next"))
    if principal is None:
        sample: list[Any] = getattr(c.provider, "sample", list)()
        return render(
            request,
            "login.html",
            401,
            next=target,
            sample=sample,
            error=translate("login_unknown", lang_of(request)),
        )
    replace_session(request, session_of(request).signed_in(principal.member_id))
    request.state.tamis_principal = principal
    return redirect(request, target)


@router.post("/logout")
async def logout(request: Request) -> Response:
    _, ok = await form_of(request)
    if not ok:
        return csrf_failed(request)
    response = RedirectResponse("/notice", status_code=303)
    clear_session(response)
    return response


# -- settings -------------------------------------------------------------------------------------


@router.get("/settings")
def settings_page(request: Request) -> Response:
    principal = principal_of(request)
    if principal is None:
        return need_sign_in(request)
    service = ctx(request).service
    history = service.history(principal.member_id)
    recorded_id = request.query_params.get("recorded")
    recorded = next((e for e in history if e.event_id == recorded_id), None)
    return render(
        request,
        "settings.html",
        status_=service.status(principal),
        history=history,
        recorded=recorded,
        used=service.used_categories(),
        never=service.never_used(),
        label=service.policy.settings[service.setting].label,
        exclusion_reason=service.policy.exclusions.reason,
    )


@router.post("/settings")
async def settings_submit(request: Request) -> Response:
    principal = principal_of(request)
    fields, ok = await form_of(request)
    if not ok:
        return csrf_failed(request)
    if principal is None:
        return need_sign_in(request)
    value = fields.get("value")
    if value not in ("true", "false"):
        return render(request, "error.html", 400, message="value must be true or false")
    try:
        event = await ctx(request).service.set_choice(
            principal.member_id, value == "true", "settings_page"
        )
    except RegistryError:
        return render(
            request, "error.html", 503, message=translate("registry_down", lang_of(request))
        )
    return redirect(request, f"/settings?recorded={event.event_id}#confirmation")


# -- data use and notice --------------------------------------------------------------------------


@router.get("/data-use")
def data_use_page(request: Request) -> Response:
    principal = principal_of(request)
    if principal is None:
        return need_sign_in(request)
    use = ctx(request).service.data_use(principal.member_id)
    return render(request, "data_use.html", use=use)


@router.get("/notice")
def notice_page(request: Request) -> Response:
    service = ctx(request).service
    policy = service.policy
    return render(
        request,
        "notice.html",
        policy=policy,
        purposes=[(n, policy.purposes[n]) for n in service.purposes],
        used=service.used_categories(),
        kinds=service.used_kinds(),
        never=service.never_used(),
        label=policy.settings[service.setting].label,
    )


# -- objection form -------------------------------------------------------------------------------


@router.get("/object")
def objection_page(request: Request) -> Response:
    return render(request, "object.html", error=None, email="")


@router.post("/object")
async def objection_submit(request: Request) -> Response:
    fields, ok = await form_of(request)
    if not ok:
        return csrf_failed(request)
    lang = lang_of(request)
    allowed, wait = ctx(request).limiter.allow(client_ip(request))
    if not allowed:
        response = render(
            request, "error.html", 429, message=translate("rate_limited", lang, s=int(wait) + 1)
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    principal = principal_of(request)
    try:
        if principal is not None:
            event = await ctx(request).service.object_on_form(principal.member_id)
            return render(request, "receipt.html", event=event_dict(event), again=False)
        email = fields.get("email", "").strip()
        if not api.valid_email(email):
            return render(
                request, "object.html", 422, error=translate("object_bad_email", lang), email=email
            )
        api.send_verification(request, email, lang)
    except RegistryError:
        return render(request, "error.html", 503, message=translate("registry_down", lang))
    return render(request, "object_sent.html", email=email)


@router.get("/object/verify")
def verify_page(request: Request) -> Response:
    token = request.query_params.get("token", "")
    read = ctx(request).tokens.read(token)
    if read is None:
        return render(request, "error.html", 400, message=translate("verify_bad", lang_of(request)))
    return render(request, "object_verify.html", token=token, email=read[0])


@router.post("/object/verify")
async def verify_submit(request: Request) -> Response:
    fields, ok = await form_of(request)
    if not ok:
        return csrf_failed(request)
    lang = lang_of(request)
    allowed, wait = ctx(request).limiter.allow(client_ip(request))
    if not allowed:
        return render(
            request, "error.html", 429, message=translate("rate_limited", lang, s=int(wait) + 1)
        )
    try:
        event, new = await api.record_verified(request, fields.get("token", ""))
    except RegistryError:
        return render(request, "error.html", 503, message=translate("registry_down", lang))
    if event is None:
        return render(request, "error.html", 400, message=translate("verify_bad", lang))
    return render(request, "receipt.html", event=event_dict(event), again=not new)
