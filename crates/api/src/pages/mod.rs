//! The web pages: sign in and out, the device verification page of the OAuth device flow, and
//! a small account page to list and revoke keys and sessions. Server-rendered; the full web UI
//! comes later.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use hexyard_auth::tokens::{normalize_user_code, random_token, sha256};
use hexyard_storage::{audit, keys, oauth, sessions, users};
use serde::Deserialize;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::error::ApiError;
use crate::principal::actor_of;
use crate::state::AppState;

mod email;
mod html;
pub mod session;
mod tfa;

use html::{csrf_field, esc, page};
use session::{CSRF_COOKIE, PageError, SESSION_COOKIE, Viewer, cookie, csrf_ok, safe_return_to};

const SESSION_LIFETIME: Duration = Duration::days(30);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(account))
        .route("/login", web::get().to(login_form))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/oauth/device", web::get().to(device_form))
        .route("/oauth/device", web::post().to(device_decide))
        .route("/email/verify", web::get().to(email::verify_email))
        .route("/password/new", web::get().to(email::new_password_form))
        .route("/password/new", web::post().to(email::new_password))
        .route("/login/tfa", web::get().to(tfa::second_factor_form))
        .route("/login/tfa", web::post().to(tfa::second_factor))
        .route("/account/tfa", web::get().to(tfa::settings))
        .route("/account/tfa/enable", web::post().to(tfa::enable))
        .route("/account/tfa/disable", web::post().to(tfa::disable))
        .route("/account/orgs", web::post().to(create_org))
        .route("/account/keys/revoke", web::post().to(revoke_key))
        .route("/account/sessions/revoke", web::post().to(revoke_session));
}

pub(crate) fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, to)).finish()
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

async fn login_form(state: web::Data<AppState>, query: web::Query<LoginQuery>) -> HttpResponse {
    login_page(&state, query.return_to.as_deref(), None)
}

fn login_page(state: &AppState, return_to: Option<&str>, error: Option<&str>) -> HttpResponse {
    let csrf = random_token(16);
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
    response.add_cookie(&cookie(state, CSRF_COOKIE, csrf)).ok();
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
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ApiError> {
    let expected = req.cookie(CSRF_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    if !csrf_ok(&expected, form.csrf.as_deref()) {
        return Ok(login_page(&state, form.return_to.as_deref(), Some("the form expired, please try again")));
    }
    // hex.pm's throttle: 10 sign-in attempts per 15 minutes from one address
    let ip = req.peer_addr().map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
    if !crate::rate_limit::attempt(&state, &format!("login:{ip}"), 10, 15 * 60).await? {
        return Ok(page(
            StatusCode::TOO_MANY_REQUESTS,
            "Sign in",
            "<p class=\"error\">Too many attempts. Try again later.</p>",
        ));
    }
    let user = users::by_name_or_email(&state.db, form.username.trim()).await?;
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let password = form.password.clone();
    let ok = match hash {
        Some(hash) => tokio::task::spawn_blocking(move || hexyard_auth::verify_password(&password, &hash))
            .await
            .map_err(ApiError::internal)?,
        None => false,
    };
    let Some(user) = user.filter(|_| ok) else {
        return Ok(login_page(&state, form.return_to.as_deref(), Some("invalid username and password combination")));
    };
    let token = random_token(32);
    let actor = audit::Actor { user_id: Some(user.id), ..actor_of(&req) };
    // with 2FA on, the session is only half open until the code is given
    let tfa_pending = hexyard_storage::tfa::get(&state.db, user.id).await?.is_some_and(|t| t.enabled);
    let new = sessions::NewSession {
        user_id: user.id,
        token_hash: &sha256(&token),
        csrf_token: &random_token(16),
        ip: actor.ip.as_deref(),
        user_agent: actor.user_agent.as_deref(),
        expires_at: OffsetDateTime::now_utc() + SESSION_LIFETIME,
        tfa_pending,
    };
    sessions::create(&state.db, &new).await?;
    audit::record(&state.db, &actor, "session.create", json!({})).await?;
    let next = safe_return_to(form.return_to.as_deref());
    let next =
        if tfa_pending { format!("/login/tfa?return_to={}", form_urlencoded(&next).collect::<String>()) } else { next };
    let mut response = redirect(&next);
    response.add_cookie(&cookie(&state, SESSION_COOKIE, token)).ok();
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

async fn logout(
    state: web::Data<AppState>,
    viewer: Viewer,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    if let Some((session, user)) = viewer.0
        && csrf_ok(&session.csrf_token, form.csrf.as_deref())
    {
        sessions::revoke(&state.db, user.id, session.id).await?;
    }
    let mut response = redirect("/login");
    response.add_removal_cookie(&cookie(&state, SESSION_COOKIE, String::new())).ok();
    Ok(response)
}

/// The account page: keys and sessions, each revocable.
async fn account(state: web::Data<AppState>, req: HttpRequest, viewer: Viewer) -> Result<HttpResponse, PageError> {
    let (session, user) = viewer.signed_in(&req)?;
    let csrf = csrf_field(&session.csrf_token);
    let mut body = format!(
        "<p>Signed in as <strong>{}</strong>.</p><form method=\"post\" action=\"/logout\">{csrf}<button>Sign out</button></form>",
        esc(&user.username)
    );
    let tfa_on = hexyard_storage::tfa::get(&state.db, user.id).await?.is_some_and(|t| t.enabled);
    body.push_str(&format!(
        "<p>Two-factor authentication is <strong>{}</strong>. <a href=\"/account/tfa\">Manage</a></p>",
        if tfa_on { "on" } else { "off" }
    ));
    body.push_str("<h2>Organizations</h2><ul>");
    for (org, role) in hexyard_storage::orgs::of_user(&state.db, user.id).await? {
        body.push_str(&format!("<li>{} ({})</li>", esc(&org.name), esc(&role)));
    }
    body.push_str(&format!(
        "</ul><form method=\"post\" action=\"/account/orgs\">{csrf}<label>New organization \
         <input name=\"name\" pattern=\"[a-z0-9_]{{3,64}}\" required></label><button>Create</button></form>"
    ));
    body.push_str("<h2>API keys</h2><table><tr><th>name</th><th>permissions</th><th>last used</th><th></th></tr>");
    for key in keys::list(&state.db, keys::Owner::User(user.id)).await? {
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
            key.last_used_at.map_or_else(|| "never".to_owned(), crate::views::timestamp),
            esc(&key.name),
        ));
    }
    body.push_str("</table><h2>Sessions</h2><table><tr><th>started</th><th>from</th><th></th></tr>");
    for s in sessions::of_user(&state.db, user.id).await? {
        let this = if s.id == session.id { " (this one)" } else { "" };
        body.push_str(&format!(
            "<tr><td>{}{this}</td><td>{}</td><td><form method=\"post\" action=\"/account/sessions/revoke\">{csrf}\
             <input type=\"hidden\" name=\"id\" value=\"{}\"><button>Revoke</button></form></td></tr>",
            crate::views::timestamp(s.inserted_at),
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
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    form: web::Form<RevokeKeyForm>,
) -> Result<HttpResponse, PageError> {
    let (_, user) = viewer.posting(&req, form.csrf.as_deref())?;
    if keys::revoke(&state.db, keys::Owner::User(user.id), &form.name).await?.is_some() {
        let actor = audit::Actor { user_id: Some(user.id), ..actor_of(&req) };
        audit::record(&state.db, &actor, "key.remove", json!({"name": form.name})).await?;
    }
    Ok(redirect("/"))
}

#[derive(Debug, Deserialize)]
pub struct RevokeSessionForm {
    csrf: Option<String>,
    id: i64,
}

async fn revoke_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    form: web::Form<RevokeSessionForm>,
) -> Result<HttpResponse, PageError> {
    let (_, user) = viewer.posting(&req, form.csrf.as_deref())?;
    sessions::revoke(&state.db, user.id, form.id).await?;
    Ok(redirect("/"))
}

#[derive(Debug, Deserialize)]
pub struct DeviceQuery {
    user_code: Option<String>,
}

/// The device verification page: enter or confirm the code, see the scopes, approve or deny.
async fn device_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    query: web::Query<DeviceQuery>,
) -> Result<HttpResponse, PageError> {
    let (session, _) = viewer.signed_in(&req)?;
    let csrf = csrf_field(&session.csrf_token);
    let code = query.user_code.as_deref().map(normalize_user_code).unwrap_or_default();
    let device = if code.is_empty() { None } else { oauth::device_by_user_code(&state.db, &code).await? };
    let live = device.filter(|d| d.status == "pending" && d.expires_at > OffsetDateTime::now_utc());
    let Some(device) = live else {
        let note = if code.is_empty() { "" } else { "<p class=\"error\">That code is unknown, used or expired.</p>" };
        let body = format!(
            "{note}<form method=\"get\" action=\"/oauth/device\"><label>Code shown by your terminal \
             <input name=\"user_code\" autocomplete=\"off\" required></label><button>Continue</button></form>"
        );
        return Ok(page(
            if code.is_empty() { StatusCode::OK } else { StatusCode::NOT_FOUND },
            "Authorize a device",
            &body,
        ));
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
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    form: web::Form<DeviceForm>,
) -> Result<HttpResponse, PageError> {
    let (_, user) = viewer.posting(&req, form.csrf.as_deref())?;
    let code = normalize_user_code(&form.user_code);
    let Some(device) = oauth::device_by_user_code(&state.db, &code).await? else {
        return Ok(page(StatusCode::NOT_FOUND, "Authorize a device", "<p class=\"error\">That code is unknown.</p>"));
    };
    let approve = form.decision == "approve";
    let decided = oauth::decide(&state.db, device.id, user.id, approve, &device.scopes).await?;
    if !decided {
        return Ok(page(
            StatusCode::CONFLICT,
            "Authorize a device",
            "<p class=\"error\">That code was already used or has expired.</p>",
        ));
    }
    let actor = audit::Actor { user_id: Some(user.id), ..actor_of(&req) };
    let action = if approve { "oauth.device.approve" } else { "oauth.device.deny" };
    audit::record(&state.db, &actor, action, json!({"client_id": device.client_id, "scopes": device.scopes})).await?;
    let text =
        if approve { "Approved: you can return to your terminal." } else { "Denied: the device gets no access." };
    Ok(page(StatusCode::OK, "Authorize a device", &format!("<p>{text}</p>")))
}

#[derive(Debug, Deserialize)]
pub struct OrgForm {
    csrf: Option<String>,
    name: String,
}

/// Creates an organization with the signed-in user as its admin.
async fn create_org(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    form: web::Form<OrgForm>,
) -> Result<HttpResponse, PageError> {
    let (_, user) = viewer.posting(&req, form.csrf.as_deref())?;
    let actor = audit::Actor { user_id: Some(user.id), ..actor_of(&req) };
    let name = form.name.trim();
    match crate::organizations::create(&state.db, &state.key_sealer, &state.public.name, name, user.id, 10, &actor)
        .await
    {
        Ok(_) => Ok(redirect("/")),
        Err(crate::organizations::CreateError::Internal(e)) => Err(e.into()),
        Err(e) => Ok(page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Your account",
            &format!(
                "<p class=\"error\">Organization {}: {}. <a href=\"/\">Back</a></p>",
                esc(name),
                esc(&e.to_string())
            ),
        )),
    }
}
