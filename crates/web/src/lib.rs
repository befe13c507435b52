//! The people-facing pages of hexyard: sign in and out, the device verification page of the
//! OAuth device flow, two-factor settings, the pages behind the links of mails, and a small
//! account page to list and revoke keys and sessions. Server-rendered, no JavaScript; each
//! handler calls the use cases of `hexyard_service` and renders HTML.

use crate::form::Form;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::{get, post, resource};
use actix_web::{HttpRequest, HttpResponse, web};
use hexyard_service::oauth::{self, Decision};
use hexyard_service::sessions::{self, SignIn};
use hexyard_service::{Services, keys, orgs};
use serde::Deserialize;

pub mod docs;
mod email;
mod form;
mod html;
pub mod session;
mod tfa;

use html::{csrf_field, esc, page};
use session::{CSRF_COOKIE, PageError, SESSION_COOKIE, Viewer, cookie, csrf_ok, safe_return_to};

/// Registers every page.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/").route(get().to(account)))
        .service(resource("/login").route(get().to(login_form)).route(post().to(login)))
        .service(resource("/logout").route(post().to(logout)))
        .service(resource("/oauth/device").route(get().to(device_form)).route(post().to(device_decide)))
        .service(resource("/email/verify").route(get().to(email::verify_email)))
        .service(
            resource("/password/new").route(get().to(email::new_password_form)).route(post().to(email::new_password)),
        )
        .service(resource("/login/tfa").route(get().to(tfa::second_factor_form)).route(post().to(tfa::second_factor)))
        .service(resource("/account/tfa").route(get().to(tfa::settings)))
        .service(resource("/account/tfa/enable").route(post().to(tfa::enable)))
        .service(resource("/account/tfa/disable").route(post().to(tfa::disable)))
        .service(resource("/account/orgs").route(post().to(create_org)))
        .service(resource("/account/keys/revoke").route(post().to(revoke_key)))
        .service(resource("/account/sessions/revoke").route(post().to(revoke_session)))
        .service(resource("/docs/{name}").route(get().to(docs::root)))
        .service(resource("/docs/{name}/{rest:.*}").route(get().to(docs::public)))
        .service(resource("/repos/{org}/docs/{name}").route(get().to(docs::root)))
        .service(resource("/repos/{org}/docs/{name}/{rest:.*}").route(get().to(docs::private)));
}

pub(crate) fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, to)).finish()
}

/// Where a browser request came from: the connection's address and the User-Agent.
pub(crate) fn origin(req: &HttpRequest) -> hexyard_service::Origin {
    hexyard_service::Origin {
        ip: req.peer_addr().map(|a| a.ip().to_string()),
        user_agent: req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
    }
}

/// Percent-encodes a query value.
pub(crate) fn form_urlencoded(text: &str) -> impl Iterator<Item = char> + '_ {
    text.bytes().flat_map(|b| {
        let keep = b.is_ascii_alphanumeric() || b"-_.~".contains(&b);
        let s = if keep { (b as char).to_string() } else { format!("%{b:02X}") };
        s.chars().collect::<Vec<_>>()
    })
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
}

async fn login_form(services: web::Data<Services>, query: web::Query<LoginQuery>) -> HttpResponse {
    login_page(&services, query.return_to.as_deref(), None)
}

fn login_page(services: &Services, return_to: Option<&str>, error: Option<&str>) -> HttpResponse {
    let csrf = sessions::new_csrf_token();
    let error = error.map(|e| format!("<p class=\"error\">{}</p>", esc(e))).unwrap_or_default();
    let body = format!(
        "{error}<form method=\"post\" action=\"/login\">{}\
         <input type=\"hidden\" name=\"return_to\" value=\"{}\">\
         <label>Username or email <input name=\"username\" autocomplete=\"username\" required></label>\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button type=\"submit\">Sign in</button></form>",
        csrf_field(&csrf),
        esc(&safe_return_to(return_to)),
    );
    let status = if error.is_empty() { StatusCode::OK } else { StatusCode::UNAUTHORIZED };
    let mut response = page(status, "Sign in", &body);
    response.add_cookie(&cookie(services, CSRF_COOKIE, csrf)).ok();
    response
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: Option<String>,
    return_to: Option<String>,
}

async fn login(
    services: web::Data<Services>,
    req: HttpRequest,
    form: Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let expected = req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    if !csrf_ok(&expected, form.csrf.as_deref()) {
        return Ok(login_page(&services, form.return_to.as_deref(), Some("the form expired, please try again")));
    }
    let (token, tfa_pending) = match sessions::sign_in(&services, &form.username, form.password, &origin(&req)).await? {
        SignIn::Started { token, tfa_pending } => (token, tfa_pending),
        SignIn::Throttled => {
            let body = "<p class=\"error\">Too many attempts. Try again later.</p>";
            return Ok(page(StatusCode::TOO_MANY_REQUESTS, "Sign in", body));
        }
        SignIn::WrongPassword => {
            let error = Some("invalid username and password combination");
            return Ok(login_page(&services, form.return_to.as_deref(), error));
        }
    };
    let next = safe_return_to(form.return_to.as_deref());
    let next =
        if tfa_pending { format!("/login/tfa?return_to={}", form_urlencoded(&next).collect::<String>()) } else { next };
    let mut response = redirect(&next);
    response.add_cookie(&cookie(&services, SESSION_COOKIE, token)).ok();
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

async fn logout(
    services: web::Data<Services>,
    viewer: Viewer,
    form: Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    // signing out is a change like any other: a cross-site form cannot do it
    let Some((session, user)) = viewer.0 else { return Ok(redirect("/login")) };
    if !csrf_ok(&session.csrf_token, form.csrf.as_deref()) {
        return Err(PageError::Csrf);
    }
    sessions::revoke(&services, user.id, session.id).await?;
    let mut response = redirect("/login");
    response.add_removal_cookie(&cookie(&services, SESSION_COOKIE, String::new())).ok();
    Ok(response)
}

/// The account page: keys and sessions, each revocable.
async fn account(services: web::Data<Services>, req: HttpRequest, viewer: Viewer) -> Result<HttpResponse, PageError> {
    let (session, user) = viewer.signed_in(&req)?;
    let account = sessions::account(&services, user.id).await?;
    let csrf = csrf_field(&session.csrf_token);
    let mut body = format!(
        "<p>Signed in as <strong>{}</strong>.</p><form method=\"post\" action=\"/logout\">{csrf}<button>Sign out</button></form>",
        esc(&user.username)
    );
    body.push_str(&format!(
        "<p>Two-factor authentication is <strong>{}</strong>. <a href=\"/account/tfa\">Manage</a></p>",
        if account.tfa_enabled { "on" } else { "off" }
    ));
    body.push_str("<h2>Organizations</h2><ul>");
    for (org, role) in &account.organizations {
        body.push_str(&format!("<li>{} ({})</li>", esc(&org.name), role.as_str()));
    }
    body.push_str(&format!(
        "</ul><form method=\"post\" action=\"/account/orgs\">{csrf}<label>New organization \
         <input name=\"name\" pattern=\"[a-z0-9_]{{3,64}}\" required></label><button>Create</button></form>"
    ));
    body.push_str("<h2>API keys</h2><table><tr><th>name</th><th>permissions</th><th>last used</th><th></th></tr>");
    for key in &account.keys {
        let permissions: Vec<String> = key
            .permissions
            .0
            .iter()
            .map(|p| match &p.resource {
                Some(r) => format!("{}:{r}", p.domain),
                None => p.domain.clone(),
            })
            .collect();
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/account/keys/revoke\">{csrf}\
             <input type=\"hidden\" name=\"name\" value=\"{}\"><button>Revoke</button></form></td></tr>",
            esc(&key.name),
            esc(&permissions.join(" ")),
            key.last_used_at.map_or_else(|| "never".to_owned(), html::timestamp),
            esc(&key.name),
        ));
    }
    body.push_str("</table><h2>Sessions</h2><table><tr><th>started</th><th>from</th><th></th></tr>");
    for s in &account.sessions {
        let this = if s.id == session.id { " (this one)" } else { "" };
        body.push_str(&format!(
            "<tr><td>{}{this}</td><td>{}</td><td><form method=\"post\" action=\"/account/sessions/revoke\">{csrf}\
             <input type=\"hidden\" name=\"id\" value=\"{}\"><button>Revoke</button></form></td></tr>",
            html::timestamp(s.inserted_at),
            esc(s.user_agent.as_deref().unwrap_or("unknown")),
            s.id,
        ));
    }
    body.push_str("</table>");
    Ok(page(StatusCode::OK, "Your account", &body))
}

#[derive(Debug, Deserialize)]
pub struct RevokeKeyForm {
    csrf: Option<String>,
    name: String,
}

async fn revoke_key(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    form: Form<RevokeKeyForm>,
) -> Result<HttpResponse, PageError> {
    let (_, user) = viewer.posting(&req, form.csrf.as_deref())?;
    keys::revoke_from_page(&services, user.id, &form.name, &origin(&req).actor(Some(user.id))).await?;
    Ok(redirect("/"))
}

#[derive(Debug, Deserialize)]
pub struct RevokeSessionForm {
    csrf: Option<String>,
    id: i64,
}

async fn revoke_session(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    form: Form<RevokeSessionForm>,
) -> Result<HttpResponse, PageError> {
    let (_, user) = viewer.posting(&req, form.csrf.as_deref())?;
    sessions::revoke(&services, user.id, form.id).await?;
    Ok(redirect("/"))
}

#[derive(Debug, Deserialize)]
pub struct DeviceQuery {
    user_code: Option<String>,
}

/// The device verification page: enter or confirm the code, see the scopes, approve or deny.
async fn device_form(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    query: web::Query<DeviceQuery>,
) -> Result<HttpResponse, PageError> {
    let (session, _) = viewer.signed_in(&req)?;
    let csrf = csrf_field(&session.csrf_token);
    let typed = query.user_code.as_deref().unwrap_or_default();
    let Some(device) = oauth::pending_device(&services, typed).await? else {
        let unknown = !typed.trim().is_empty();
        let note = if unknown { "<p class=\"error\">That code is unknown, used or expired.</p>" } else { "" };
        let body = format!(
            "{note}<form method=\"get\" action=\"/oauth/device\"><label>Code shown by your terminal \
             <input name=\"user_code\" autocomplete=\"off\" required></label><button>Continue</button></form>"
        );
        let status = if unknown { StatusCode::NOT_FOUND } else { StatusCode::OK };
        return Ok(page(status, "Authorize a device", &body));
    };
    let scopes: String = device.scopes.iter().map(|s| format!("<li><code>{}</code></li>", esc(s))).collect();
    let body = format!(
        "<p><strong>{}</strong> asks for access to your account with the code <code>{}</code>.</p>\
         <p>It would be able to:</p><ul>{scopes}</ul>\
         <form method=\"post\" action=\"/oauth/device\">{csrf}<input type=\"hidden\" name=\"user_code\" value=\"{}\">\
         <button name=\"decision\" value=\"approve\">Approve</button> \
         <button name=\"decision\" value=\"deny\">Deny</button></form>",
        esc(device.client_name.as_deref().unwrap_or(&device.client_id)),
        esc(&device.user_code),
        esc(&device.user_code),
    );
    Ok(page(StatusCode::OK, "Authorize a device", &body))
}

#[derive(Debug, Deserialize)]
pub struct DeviceForm {
    csrf: Option<String>,
    user_code: String,
    decision: String,
}

async fn device_decide(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    form: Form<DeviceForm>,
) -> Result<HttpResponse, PageError> {
    let (_, user) = viewer.posting(&req, form.csrf.as_deref())?;
    let approve = form.decision == "approve";
    let (status, text) = match oauth::decide(&services, user.id, &form.user_code, approve, &origin(&req)).await? {
        Decision::Approved => (StatusCode::OK, "<p>Approved: you can return to your terminal.</p>"),
        Decision::Denied => (StatusCode::OK, "<p>Denied: the device gets no access.</p>"),
        Decision::Unknown => (StatusCode::NOT_FOUND, "<p class=\"error\">That code is unknown.</p>"),
        Decision::Stale => (StatusCode::CONFLICT, "<p class=\"error\">That code was already used or has expired.</p>"),
    };
    Ok(page(status, "Authorize a device", text))
}

#[derive(Debug, Deserialize)]
pub struct OrgForm {
    csrf: Option<String>,
    name: String,
}

/// Creates an organization with the signed-in user as its admin.
async fn create_org(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    form: Form<OrgForm>,
) -> Result<HttpResponse, PageError> {
    let (_, user) = viewer.posting(&req, form.csrf.as_deref())?;
    let name = form.name.trim();
    match orgs::create(&services, name, user.id, 10, &origin(&req).actor(Some(user.id))).await {
        Ok(_) => Ok(redirect("/")),
        Err(e) if e.is_internal() => Err(e.into()),
        Err(e) => Ok(page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Your account",
            &format!(
                "<p class=\"error\">Organization {}: {}. <a href=\"/\">Back</a></p>",
                esc(name),
                esc(&e.describe())
            ),
        )),
    }
}
