//! The signed-in user's dashboard: profile, email state, password change, sessions,
//! organizations, API keys (created with permissions and an expiry, the secret shown once;
//! revoked) and the audit log.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use hexyard_service::keys::{self, KeyRequest};
use hexyard_service::model::{Entry, Key, User};
use hexyard_service::{Error, Principal, Services, audit, sessions, users};
use serde::Deserialize;

use crate::form::Form;
use crate::html::{Frame, message, render, timestamp};
use crate::session::{PageError, Viewer};
use crate::{origin, redirect};

/// An audit entry as the tables show it.
pub struct AuditRow {
    pub when: String,
    pub action: String,
    pub details: String,
}

pub fn audit_rows(entries: &[Entry]) -> Vec<AuditRow> {
    entries
        .iter()
        .map(|e| {
            let details = match &e.params {
                serde_json::Value::Object(map) => map
                    .iter()
                    .filter(|(k, _)| k.as_str() != "permissions")
                    .map(|(k, v)| format!("{k}: {}", v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            AuditRow { when: timestamp(e.inserted_at), action: e.action.clone(), details }
        })
        .collect()
}

pub struct SessionRow {
    id: i64,
    started: String,
    agent: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    frame: Frame,
    username: String,
    full_name: String,
    email: String,
    email_verified: bool,
    since: String,
    tfa_enabled: bool,
    sessions: Vec<SessionRow>,
    organizations: Vec<(String, String)>,
    audit: Vec<AuditRow>,
}

/// `GET /dashboard`.
pub async fn overview(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    let frame = Frame::new("Your dashboard", &viewer);
    let (session, user) = viewer.signed_in(&req)?;
    let account = sessions::account(&services, user.id).await?;
    let principal = Principal::of_session(user.clone(), &origin(&req));
    let mut entries = audit::of_caller(&services, &principal, 1).await?;
    entries.truncate(10);
    let page = DashboardPage {
        frame,
        username: user.username.clone(),
        full_name: user.full_name.clone().unwrap_or_else(|| "—".into()),
        email: user.email.clone().unwrap_or_else(|| "none".into()),
        email_verified: user.email_verified,
        since: crate::html::date(user.inserted_at),
        tfa_enabled: account.tfa_enabled,
        sessions: account
            .sessions
            .iter()
            .map(|s| SessionRow {
                id: s.id,
                started: timestamp(s.inserted_at),
                agent: s.user_agent.clone().unwrap_or_else(|| "unknown".into()),
                current: s.id == session.id,
            })
            .collect(),
        organizations: account.organizations.iter().map(|(o, r)| (o.name.clone(), r.as_str().to_owned())).collect(),
        audit: audit_rows(&entries),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    csrf: Option<String>,
    current: String,
    password: String,
    confirmation: String,
}

/// `POST /dashboard/password`.
pub async fn change_password(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    form: Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let frame = Frame::new("Change your password", &viewer);
    let (session, user) = viewer.posting(&req, form.csrf.as_deref())?;
    let form = form.into_inner();
    let back = Some(("/dashboard", "Back to your dashboard"));
    if form.password != form.confirmation {
        return Ok(message(StatusCode::UNPROCESSABLE_ENTITY, frame, "The two new passwords differ.", back));
    }
    match users::change_password(&services, &user, form.current, form.password, session.id, &origin(&req)).await {
        Ok(true) => Ok(message(
            StatusCode::OK,
            frame,
            "Your password is changed. Your other sessions and devices are signed out.",
            back,
        )),
        Ok(false) => Ok(message(StatusCode::UNPROCESSABLE_ENTITY, frame, "The current password is not right.", back)),
        Err(e) => refused(e, frame, "/dashboard"),
    }
}

/// A use case's refusal as a page that says why, with a way back; internal errors stay errors.
pub fn refused(e: Error, frame: Frame, back: &str) -> Result<HttpResponse, PageError> {
    if e.is_internal() {
        return Err(e.into());
    }
    let status = match &e {
        Error::NotFound => StatusCode::NOT_FOUND,
        Error::Forbidden(_) | Error::Unauthorized(_) => StatusCode::FORBIDDEN,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let text = e.describe();
    let text = text[..1].to_uppercase() + &text[1..];
    Ok(message(status, frame, format!("{text}."), Some((back, "Go back"))))
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    frame: Frame,
    audit: Vec<AuditRow>,
    previous: Option<String>,
    next: Option<String>,
}

/// `GET /dashboard/audit`.
pub async fn audit_log(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, PageError> {
    let frame = Frame::new("Your audit log", &viewer);
    let (_, user) = viewer.signed_in(&req)?;
    let page = hexyard_service::packages::page(query.page.as_deref())?;
    let principal = Principal::of_session(user, &origin(&req));
    let entries = audit::of_caller(&services, &principal, page).await?;
    let full = entries.len() as u32 == audit::PER_PAGE;
    let page = AuditPage {
        frame,
        audit: audit_rows(&entries),
        previous: (page > 1).then(|| format!("/dashboard/audit?page={}", page - 1)),
        next: full.then(|| format!("/dashboard/audit?page={}", page + 1)),
    };
    Ok(render(StatusCode::OK, &page))
}

pub struct KeyRow {
    name: String,
    permissions: String,
    expires: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "keys.html")]
pub struct KeysPage {
    pub frame: Frame,
    /// The organization whose keys these are; `None`: the user's own.
    pub org: Option<String>,
    pub back: String,
    pub keys: Vec<KeyRow>,
    /// (name, secret) of a key just made.
    pub created: Option<(String, String)>,
    pub error: Option<String>,
    /// (value, label) of each permission the form offers.
    pub grants: Vec<(String, String)>,
    pub create_action: String,
    pub revoke_action: String,
}

pub fn key_rows(keys: &[Key]) -> Vec<KeyRow> {
    keys.iter()
        .map(|k| KeyRow {
            name: k.name.clone(),
            permissions: k
                .permissions
                .0
                .iter()
                .map(|p| match &p.resource {
                    Some(r) => format!("{}:{r}", p.domain),
                    None => p.domain.clone(),
                })
                .collect::<Vec<_>>()
                .join(" "),
            expires: k.revoke_at.map_or_else(|| "never".to_owned(), timestamp),
            last_used: k.last_used_at.map_or_else(|| "never".to_owned(), timestamp),
        })
        .collect()
}

/// The grants a user's key may be made with from the page.
async fn own_grants(services: &Services, user_id: i64) -> Result<Vec<(String, String)>, PageError> {
    let mut grants = vec![
        ("api".to_owned(), "API: read and write (publish, manage packages)".to_owned()),
        ("api:read".to_owned(), "API: read only".to_owned()),
        ("repositories".to_owned(), "Fetch from all your organizations' repositories".to_owned()),
    ];
    for (org, _) in hexyard_service::orgs::of_user(services, user_id).await? {
        grants.push((format!("repository:{}", org.name), format!("Fetch from the repository of {}", org.name)));
    }
    Ok(grants)
}

/// `GET /dashboard/keys`.
pub async fn keys_page(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    let frame = Frame::new("Your API keys", &viewer);
    let (_, user) = viewer.signed_in(&req)?;
    own_keys_page(&services, frame, &req, user, None, None, StatusCode::OK).await
}

async fn own_keys_page(
    services: &Services,
    frame: Frame,
    req: &HttpRequest,
    user: User,
    created: Option<(String, String)>,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let user_id = user.id;
    let principal = Principal::of_session(user, &origin(req));
    let keys = keys::list_own(services, &principal).await?;
    let page = KeysPage {
        frame,
        org: None,
        back: "/dashboard".into(),
        keys: key_rows(&keys),
        created,
        error,
        grants: own_grants(services, user_id).await?,
        create_action: "/dashboard/keys".into(),
        revoke_action: "/account/keys/revoke".into(),
    };
    Ok(render(status, &page))
}

/// A key form's fields: `permission` repeats, so the form is read as pairs.
pub struct KeyForm {
    pub csrf: Option<String>,
    pub request: KeyRequest,
}

impl KeyForm {
    pub fn read(fields: Vec<(String, String)>) -> KeyForm {
        let value = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let permissions = fields
            .iter()
            .filter(|(k, _)| k == "permission")
            .map(|(_, v)| match v.split_once(':') {
                Some((domain, resource)) => (domain.to_owned(), Some(resource.to_owned())),
                None => (v.clone(), None),
            })
            .collect::<Vec<_>>();
        // a day picked in the form: the key stops working at its start (UTC)
        let revoke_at = value("revoke_at").filter(|d| !d.trim().is_empty()).map(|d| format!("{}T00:00:00Z", d.trim()));
        KeyForm {
            csrf: value("csrf"),
            request: KeyRequest { name: value("name"), permissions: Some(permissions), revoke_at },
        }
    }
}

/// `POST /dashboard/keys`: makes the key and shows its secret, once.
pub async fn create_key(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    form: Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let frame = Frame::new("Your API keys", &viewer);
    let form = KeyForm::read(form.into_inner());
    let (_, user) = viewer.posting(&req, form.csrf.as_deref())?;
    let principal = Principal::of_session(user.clone(), &origin(&req));
    match keys::create_own(&services, &principal, &form.request).await {
        Ok(created) => {
            let made = Some((created.key.name, created.secret));
            own_keys_page(&services, frame, &req, user, made, None, StatusCode::CREATED).await
        }
        Err(e) if !e.is_internal() => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            own_keys_page(&services, frame, &req, user, None, Some(e.describe()), status).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct RevokeKeyForm {
    csrf: Option<String>,
    name: String,
}

/// `POST /account/keys/revoke`.
pub async fn revoke_key(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    form: Form<RevokeKeyForm>,
) -> Result<HttpResponse, PageError> {
    let (_, user) = viewer.posting(&req, form.csrf.as_deref())?;
    keys::revoke_from_page(&services, user.id, &form.name, &origin(&req).actor(Some(user.id))).await?;
    Ok(redirect("/dashboard/keys"))
}

#[derive(Debug, Deserialize)]
pub struct RevokeSessionForm {
    csrf: Option<String>,
    id: i64,
}

/// `POST /account/sessions/revoke`.
pub async fn revoke_session(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    form: Form<RevokeSessionForm>,
) -> Result<HttpResponse, PageError> {
    let (_, user) = viewer.posting(&req, form.csrf.as_deref())?;
    sessions::revoke(&services, user.id, form.id).await?;
    Ok(redirect("/dashboard"))
}
