//! `/orgs/NAME`, for members: the organization's packages, members with roles and audit log;
//! for its admins also adding members, changing roles, removing members, seats and the
//! organization's keys.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use hexyard_core::{KeyName, Role, UserRef};
use hexyard_service::packages::ListQuery;
use hexyard_service::{Error, Principal, Services, audit, authz, keys, orgs};
use serde::Deserialize;

use crate::browse::{Row, rows};
use crate::dashboard::{AuditRow, KeyForm, KeysPage, audit_rows, key_rows, refused};
use crate::form::Form;
use crate::html::{Frame, render};
use crate::session::{PageError, Viewer};
use crate::{origin, redirect};

const ROLES: [&str; 3] = ["admin", "write", "read"];

#[derive(Template)]
#[template(path = "org.html")]
struct OrgPage {
    frame: Frame,
    name: String,
    me: String,
    role: String,
    admin: bool,
    seats: i32,
    members: Vec<(String, String)>,
    rows: Vec<Row>,
    audit: Vec<AuditRow>,
    roles: Vec<String>,
}

/// `GET /orgs/NAME`: to anyone but a member, an organization does not exist.
pub async fn show(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    name: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let name = name.into_inner();
    let frame = Frame::new(name.clone(), &viewer);
    let (_, user) = viewer.signed_in(&req)?;
    let principal = Principal::of_session(user.clone(), &origin(&req));
    let (org, role) = authz::membership(&services, &principal, &name, Role::Read).await?;
    let members = orgs::members(&services, &principal, &org.name).await?;
    let query = ListQuery { per_page: Some("100".into()), ..ListQuery::default() };
    let listed = hexyard_service::packages::list(&services, Some(&org.name), Some(&principal), &query).await?;
    let entries = audit::of_organization(&services, &principal, &org.name, 1).await?;
    let page = OrgPage {
        frame,
        me: user.username,
        role: role.as_str().to_owned(),
        admin: role == Role::Admin,
        seats: org.seats,
        members: members.into_iter().map(|m| (m.username, m.role)).collect(),
        rows: rows(&services, &listed),
        audit: audit_rows(&entries[..entries.len().min(30)]),
        roles: ROLES.iter().map(|r| (*r).to_owned()).collect(),
        name: org.name,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
pub struct MemberForm {
    csrf: Option<String>,
    username: String,
    role: Option<String>,
}

/// The signed-in user posting a form (its CSRF token checked), as the principal the use cases
/// act for.
fn acting(viewer: Viewer, req: &HttpRequest, csrf: Option<&str>) -> Result<Principal, PageError> {
    let (_, user) = viewer.posting(req, csrf)?;
    Ok(Principal::of_session(user, &origin(req)))
}

/// Back to `back` when the form's use case was done, or the page that says why not.
fn back_or_refused(done: Result<(), Error>, frame: Frame, back: &str) -> Result<HttpResponse, PageError> {
    match done {
        Ok(()) => Ok(redirect(back)),
        Err(e) => refused(e, frame, back),
    }
}

fn who(raw: &str) -> Result<UserRef, Error> {
    UserRef::parse(raw.trim()).ok_or_else(|| Error::field("name", "unknown user"))
}

/// `POST /orgs/NAME/members`: adds a member or sets a role.
pub async fn set_member(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    name: web::Path<String>,
    form: Form<MemberForm>,
) -> Result<HttpResponse, PageError> {
    let frame = Frame::new("Organization", &viewer);
    let principal = acting(viewer, &req, form.csrf.as_deref())?;
    let role = form.role.as_deref().unwrap_or("read").parse::<Role>().map_err(|_| Error::field("role", "is invalid"));
    let done = match (who(&form.username), role) {
        (Ok(who), Ok(role)) => orgs::set_member(&services, &principal, &name, &who, role).await.map(|_| ()),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    back_or_refused(done, frame, &format!("/orgs/{name}"))
}

/// `POST /orgs/NAME/members/remove`: an admin removes a member, or a member leaves.
pub async fn remove_member(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    name: web::Path<String>,
    form: Form<MemberForm>,
) -> Result<HttpResponse, PageError> {
    let frame = Frame::new("Organization", &viewer);
    let principal = acting(viewer, &req, form.csrf.as_deref())?;
    let leaving = principal.user().is_ok_and(|u| u.username.eq_ignore_ascii_case(form.username.trim()));
    let done = match who(&form.username) {
        Ok(who) => orgs::remove_member(&services, &principal, &name, &who).await,
        Err(e) => Err(e),
    };
    // a member who left has no organization page to go back to
    back_or_refused(done, frame, &if leaving { "/dashboard".to_owned() } else { format!("/orgs/{name}") })
}

#[derive(Debug, Deserialize)]
pub struct SeatsForm {
    csrf: Option<String>,
    seats: String,
}

/// `POST /orgs/NAME/seats`.
pub async fn set_seats(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    name: web::Path<String>,
    form: Form<SeatsForm>,
) -> Result<HttpResponse, PageError> {
    let frame = Frame::new("Organization", &viewer);
    let principal = acting(viewer, &req, form.csrf.as_deref())?;
    let done = match form.seats.trim().parse::<i32>() {
        Ok(seats) => orgs::set_seats(&services, &principal, &name, seats).await.map(|_| ()),
        Err(_) => Err(Error::field("seats", "must be a number of seats")),
    };
    back_or_refused(done, frame, &format!("/orgs/{name}"))
}

async fn keys_page(
    services: &Services,
    principal: &Principal,
    frame: Frame,
    name: &str,
    created: Option<(String, String)>,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let (org, keys) = keys::list_of_org(services, principal, name).await?;
    let page = KeysPage {
        frame,
        back: format!("/orgs/{}", org.name),
        keys: key_rows(&keys),
        created,
        error,
        grants: vec![
            (format!("repository:{}", org.name), format!("Fetch from the repository of {}", org.name)),
            ("api".into(), "API: read and write (publish the organization's packages)".into()),
            ("api:read".into(), "API: read only".into()),
        ],
        create_action: format!("/orgs/{}/keys", org.name),
        revoke_action: format!("/orgs/{}/keys/revoke", org.name),
        org: Some(org.name),
    };
    Ok(render(status, &page))
}

/// `GET /orgs/NAME/keys` (admins).
pub async fn org_keys(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    name: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let frame = Frame::new(format!("Keys of {name}"), &viewer);
    let (_, user) = viewer.signed_in(&req)?;
    let principal = Principal::of_session(user, &origin(&req));
    keys_page(&services, &principal, frame, &name, None, None, StatusCode::OK).await
}

/// `POST /orgs/NAME/keys`: makes an organization key and shows its secret, once.
pub async fn create_org_key(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    name: web::Path<String>,
    form: Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let frame = Frame::new(format!("Keys of {name}"), &viewer);
    let form = KeyForm::read(form.into_inner());
    let principal = acting(viewer, &req, form.csrf.as_deref())?;
    match keys::create_for_org(&services, &principal, &name, &form.request).await {
        Ok((_, created)) => {
            let made = Some((created.key.name, created.secret));
            keys_page(&services, &principal, frame, &name, made, None, StatusCode::CREATED).await
        }
        Err(e) if !e.is_internal() && !matches!(e, Error::NotFound) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            keys_page(&services, &principal, frame, &name, None, Some(e.describe()), status).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    csrf: Option<String>,
    name: String,
}

/// `POST /orgs/NAME/keys/revoke`.
pub async fn revoke_org_key(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    name: web::Path<String>,
    form: Form<RevokeForm>,
) -> Result<HttpResponse, PageError> {
    let frame = Frame::new(format!("Keys of {name}"), &viewer);
    let principal = acting(viewer, &req, form.csrf.as_deref())?;
    let key = KeyName::parse(&form.name).map_err(|_| Error::NotFound);
    let done = match key {
        Ok(key) => keys::revoke_of_org(&services, &principal, &name, &key).await.map(|_| ()),
        Err(e) => Err(e),
    };
    back_or_refused(done, frame, &format!("/orgs/{name}/keys"))
}

#[derive(Debug, Deserialize)]
pub struct OrgForm {
    csrf: Option<String>,
    name: String,
}

/// `POST /account/orgs`: creates an organization with the signed-in user as its admin.
pub async fn create(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    form: Form<OrgForm>,
) -> Result<HttpResponse, PageError> {
    let frame = Frame::new("New organization", &viewer);
    let (_, user) = viewer.posting(&req, form.csrf.as_deref())?;
    let name = form.name.trim();
    match orgs::create(&services, name, user.id, 10, &origin(&req).actor(Some(user.id))).await {
        Ok(_) => Ok(redirect(&format!("/orgs/{name}"))),
        Err(e) => refused(e, frame, "/dashboard"),
    }
}
