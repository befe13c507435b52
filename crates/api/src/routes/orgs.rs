//! `/api/orgs`: organizations, their members and their keys. Reading needs membership;
//! managing members, seats and keys the admin role. To anyone outside, an organization does
//! not exist (404).

use actix_web::web;
use hexyard_core::{Role, UserRef};
use hexyard_service::model::{Member, Organization};
use hexyard_service::{Principal, Services, audit, keys, orgs};
use serde::Deserialize;
use serde_json::{Value, json};

use super::keys::CreateKey;
use crate::error::ApiError;
use crate::extract::{KeyPath, MemberPath, OrgPath};
use crate::media::{Body, Reply};
use crate::principal::MaybePrincipal;
use crate::views::{self, timestamp};

fn view(services: &Services, org: &Organization) -> Value {
    json!({
        "name": org.name,
        "seats": org.seats,
        "billing_active": true,
        "inserted_at": timestamp(org.inserted_at),
        "updated_at": timestamp(org.updated_at),
        "url": services.api_url(&format!("/orgs/{}", org.name)),
    })
}

fn member_view(services: &Services, m: &Member) -> Value {
    let mut body =
        json!({"username": m.username, "role": m.role, "url": services.api_url(&format!("/users/{}", m.username))});
    if let (true, Some(email)) = (m.email_public, &m.email) {
        body["email"] = json!(email);
    }
    body
}

/// The caller, for reads: they need `api:read`.
fn reader(principal: MaybePrincipal) -> Result<Principal, ApiError> {
    let principal = principal.required()?;
    principal.require_api_read()?;
    Ok(principal)
}

/// The caller, for changes: they need `api:write` (and a TOTP code for OAuth tokens).
async fn writer(services: &Services, principal: MaybePrincipal) -> Result<Principal, ApiError> {
    let principal = principal.required()?;
    hexyard_service::authz::require_write(services, &principal).await?;
    Ok(principal)
}

/// `GET /api/orgs`: the caller's organizations.
#[tracing::instrument(skip_all)]
pub async fn list_orgs(services: web::Data<Services>, principal: MaybePrincipal) -> Result<Reply, ApiError> {
    let principal = reader(principal)?;
    let mine = orgs::of_caller(&services, &principal).await?;
    Ok(Reply::ok(mine.iter().map(|(org, _)| view(&services, org)).collect()))
}

/// `GET /api/orgs/{name}`.
#[tracing::instrument(skip_all)]
pub async fn get_org(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    path: OrgPath,
) -> Result<Reply, ApiError> {
    let org = orgs::get(&services, &reader(principal)?, path.0.as_str()).await?;
    Ok(Reply::ok(view(&services, &org)))
}

#[derive(Debug, Deserialize)]
pub struct UpdateOrg {
    seats: Option<i32>,
}

/// `POST /api/orgs/{name}`: the seats (admins).
#[tracing::instrument(skip_all)]
pub async fn update_org(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    path: OrgPath,
    Body(body): Body<UpdateOrg>,
) -> Result<Reply, ApiError> {
    let principal = writer(&services, principal).await?;
    let seats = body.seats.unwrap_or(0);
    let org = orgs::set_seats(&services, &principal, path.0.as_str(), seats).await?;
    Ok(Reply::ok(view(&services, &org)))
}

/// `GET /api/orgs/{name}/members`.
#[tracing::instrument(skip_all)]
pub async fn list_members(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    path: OrgPath,
) -> Result<Reply, ApiError> {
    let members = orgs::members(&services, &reader(principal)?, path.0.as_str()).await?;
    Ok(Reply::ok(members.iter().map(|m| member_view(&services, m)).collect()))
}

/// `GET /api/orgs/{name}/members/{username}`.
#[tracing::instrument(skip_all)]
pub async fn get_member(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    path: MemberPath,
) -> Result<Reply, ApiError> {
    let member = orgs::member(&services, &reader(principal)?, path.org.as_str(), &path.user).await?;
    Ok(Reply::ok(member_view(&services, &member)))
}

#[derive(Debug, Deserialize)]
pub struct MemberBody {
    name: Option<String>,
    role: Option<String>,
}

fn role_of(body: &MemberBody) -> Result<Role, ApiError> {
    body.role
        .as_deref()
        .unwrap_or("read")
        .parse()
        .map_err(|e: hexyard_core::RoleError| ApiError::from(hexyard_service::Error::field("role", e.to_string())))
}

/// `POST /api/orgs/{name}/members` (`{name, role}`): adds a member (admins).
#[tracing::instrument(skip_all)]
pub async fn add_member(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    path: OrgPath,
    Body(body): Body<MemberBody>,
) -> Result<Reply, ApiError> {
    let principal = writer(&services, principal).await?;
    let unknown = || ApiError::from(hexyard_service::Error::field("name", "unknown user"));
    let who = body.name.as_deref().and_then(UserRef::parse).ok_or_else(unknown)?;
    let member = orgs::set_member(&services, &principal, path.0.as_str(), &who, role_of(&body)?).await?;
    Ok(Reply::ok(member_view(&services, &member)))
}

/// `POST /api/orgs/{name}/members/{username}` (`{role}`): adds a member or changes a role
/// (admins).
#[tracing::instrument(skip_all)]
pub async fn set_member(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    path: MemberPath,
    Body(body): Body<MemberBody>,
) -> Result<Reply, ApiError> {
    let principal = writer(&services, principal).await?;
    let member = orgs::set_member(&services, &principal, path.org.as_str(), &path.user, role_of(&body)?).await?;
    Ok(Reply::ok(member_view(&services, &member)))
}

/// `DELETE /api/orgs/{name}/members/{username}`: admins remove anyone, members themselves;
/// never the last admin.
#[tracing::instrument(skip_all)]
pub async fn remove_member(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    path: MemberPath,
) -> Result<Reply, ApiError> {
    let principal = writer(&services, principal).await?;
    orgs::remove_member(&services, &principal, path.org.as_str(), &path.user).await?;
    Ok(Reply::no_content())
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

/// `GET /api/orgs/{name}/audit-logs` (members).
#[tracing::instrument(skip_all)]
pub async fn org_audit_logs(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    path: OrgPath,
    query: web::Query<PageQuery>,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    let page = super::page(query.page.as_deref())?;
    let entries = audit::of_organization(&services, &principal, path.0.as_str(), page).await?;
    Ok(Reply::ok(views::audit_entries(&entries)))
}

/// `GET /api/orgs/{name}/keys` (admins).
#[tracing::instrument(skip_all)]
pub async fn list_org_keys(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    path: OrgPath,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    let (org, all) = keys::list_of_org(&services, &principal, path.0.as_str()).await?;
    Ok(Reply::ok(all.iter().map(|k| views::org_key(&services, &org, k, principal.key_id, None)).collect()))
}

/// `POST /api/orgs/{name}/keys` (admins): a key of the organization, for CI with no user behind
/// it. Its grants: `repository:ORG` (the default: fetch), and the API (`api`, `api:read`,
/// `api:write`) for publishing into the organization.
#[tracing::instrument(skip_all)]
pub async fn create_org_key(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    path: OrgPath,
    Body(body): Body<CreateKey>,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    let request = hexyard_service::keys::KeyRequest { revoke_at: None, ..body.into_request() };
    let (org, created) = keys::create_for_org(&services, &principal, path.0.as_str(), &request).await?;
    Ok(Reply::created(views::org_key(&services, &org, &created.key, principal.key_id, Some(&created.secret))))
}

/// `DELETE /api/orgs/{name}/keys/{key}` (admins).
#[tracing::instrument(skip_all)]
pub async fn delete_org_key(
    services: web::Data<Services>,
    principal: MaybePrincipal,
    path: KeyPath,
) -> Result<Reply, ApiError> {
    let principal = principal.required()?;
    let org = path.org.as_ref().map(|o| o.as_str()).unwrap_or_default();
    let (org, key) = keys::revoke_of_org(&services, &principal, org, &path.key).await?;
    Ok(Reply::ok(views::org_key(&services, &org, &key, principal.key_id, None)))
}
