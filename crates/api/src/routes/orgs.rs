//! `/api/orgs`: organizations and their members. Reading needs membership; managing members
//! and seats needs the admin role. To anyone outside, an organization does not exist (404).

use actix_web::{HttpRequest, web};
use hexyard_storage::orgs::{self, MemberChange, Organization};
use hexyard_storage::{audit, keys, users};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::media::{Body, Reply};
use crate::principal::{MaybePrincipal, Principal};
use crate::state::AppState;
use crate::views::timestamp;

pub const ROLES: [&str; 3] = ["admin", "write", "read"];

fn view(state: &AppState, org: &Organization) -> Value {
    json!({
        "name": org.name,
        "seats": org.seats,
        "billing_active": true,
        "inserted_at": timestamp(org.inserted_at),
        "updated_at": timestamp(org.updated_at),
        "url": state.api_url(&format!("/orgs/{}", org.name)),
    })
}

fn member_view(state: &AppState, m: &orgs::Member) -> Value {
    let mut body =
        json!({"username": m.username, "role": m.role, "url": state.api_url(&format!("/users/{}", m.username))});
    if let (true, Some(email)) = (m.email_public, &m.email) {
        body["email"] = json!(email);
    }
    body
}

/// The organization and the caller's role in it, when the caller is a member with at least
/// `least` (read < write < admin); otherwise a 404 that tells nothing.
async fn membership(
    state: &AppState,
    principal: &Principal,
    name: &str,
    least: &str,
) -> Result<(Organization, String), ApiError> {
    let org = orgs::get(&state.db, name).await?.ok_or_else(ApiError::not_found)?;
    let role = orgs::role(&state.db, org.id, principal.user()?.id).await?.ok_or_else(ApiError::not_found)?;
    let rank = |r: &str| ROLES.iter().rev().position(|x| *x == r).unwrap_or(0);
    if rank(&role) < rank(least) {
        // a member may know the organization exists: refuse plainly
        return Err(ApiError::forbidden("account not authorized for this action"));
    }
    Ok((org, role))
}

/// Reads need `api:read`; changes `api:write` (and a TOTP code for OAuth tokens).
async fn caller(
    state: &AppState,
    principal: MaybePrincipal,
    req: &HttpRequest,
    write: bool,
) -> Result<Principal, ApiError> {
    let principal = principal.required()?;
    if write {
        principal.require_api_write()?;
        crate::otp::require_write_otp(state, &principal, req.headers()).await?;
    } else {
        principal.require_api_read()?;
    }
    Ok(principal)
}

/// `GET /api/orgs`: the caller's organizations.
#[tracing::instrument(skip_all)]
pub async fn list_orgs(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
) -> Result<Reply, ApiError> {
    let principal = caller(&state, principal, &req, false).await?;
    let mine = orgs::of_user(&state.db, principal.user()?.id).await?;
    Ok(Reply::ok(mine.iter().map(|(org, _)| view(&state, org)).collect()))
}

/// `GET /api/orgs/{name}`.
#[tracing::instrument(skip_all)]
pub async fn get_org(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    name: web::Path<String>,
) -> Result<Reply, ApiError> {
    let principal = caller(&state, principal, &req, false).await?;
    let (org, _) = membership(&state, &principal, &name, "read").await?;
    Ok(Reply::ok(view(&state, &org)))
}

#[derive(Debug, Deserialize)]
pub struct UpdateOrg {
    seats: Option<i32>,
}

/// `POST /api/orgs/{name}`: the seats (admins).
#[tracing::instrument(skip_all)]
pub async fn update_org(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    name: web::Path<String>,
    Body(body): Body<UpdateOrg>,
) -> Result<Reply, ApiError> {
    let principal = caller(&state, principal, &req, true).await?;
    let (org, _) = membership(&state, &principal, &name, "admin").await?;
    let Some(seats) = body.seats.filter(|s| (1..=100_000).contains(s)) else {
        return Err(ApiError::field("seats", "must be a number of seats"));
    };
    let mut tx = state.db.begin().await?;
    if !orgs::set_seats(&mut tx, org.id, seats).await? {
        return Err(ApiError::field("seats", "cannot be less than the number of members"));
    }
    audit::record(&mut *tx, &principal.actor, "organization.update", json!({"organization": org.name, "seats": seats}))
        .await?;
    tx.commit().await?;
    let org = orgs::get(&state.db, &org.name).await?.ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(view(&state, &org)))
}

/// `GET /api/orgs/{name}/members`.
#[tracing::instrument(skip_all)]
pub async fn list_members(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    name: web::Path<String>,
) -> Result<Reply, ApiError> {
    let principal = caller(&state, principal, &req, false).await?;
    let (org, _) = membership(&state, &principal, &name, "read").await?;
    let members = orgs::members(&state.db, org.id).await?;
    Ok(Reply::ok(members.iter().map(|m| member_view(&state, m)).collect()))
}

/// `GET /api/orgs/{name}/members/{username}`.
#[tracing::instrument(skip_all)]
pub async fn get_member(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    path: web::Path<(String, String)>,
) -> Result<Reply, ApiError> {
    let principal = caller(&state, principal, &req, false).await?;
    let (name, username) = path.into_inner();
    let (org, _) = membership(&state, &principal, &name, "read").await?;
    let members = orgs::members(&state.db, org.id).await?;
    let member = members.iter().find(|m| m.username.eq_ignore_ascii_case(&username)).ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(member_view(&state, member)))
}

#[derive(Debug, Deserialize)]
pub struct MemberBody {
    name: Option<String>,
    role: Option<String>,
}

fn role_of(body: &MemberBody) -> Result<&str, ApiError> {
    match body.role.as_deref().unwrap_or("read") {
        r if ROLES.contains(&r) => Ok(r),
        _ => Err(ApiError::field("role", "must be admin, write or read")),
    }
}

/// `POST /api/orgs/{name}/members` (`{name, role}`) and `POST /api/orgs/{name}/members/{username}`
/// (`{role}`): add a member or change a role (admins).
#[tracing::instrument(skip_all)]
pub async fn set_member(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    Body(body): Body<MemberBody>,
) -> Result<Reply, ApiError> {
    let principal = caller(&state, principal, &req, true).await?;
    let org_name = req.match_info().get("name").unwrap_or_default().to_owned();
    let (org, _) = membership(&state, &principal, &org_name, "admin").await?;
    let username = req.match_info().get("username").map(str::to_owned).or_else(|| body.name.clone());
    let username = username.ok_or_else(|| ApiError::field("name", "can't be blank"))?;
    let user =
        users::by_name_or_email(&state.db, &username).await?.ok_or_else(|| ApiError::field("name", "unknown user"))?;
    let role = role_of(&body)?;
    let existed = orgs::role(&state.db, org.id, user.id).await?.is_some();
    let mut tx = state.db.begin().await?;
    match orgs::set_member(&mut tx, org.id, user.id, role).await? {
        MemberChange::Done => {}
        MemberChange::NoSeat => return Err(ApiError::field("name", "not enough seats in organization to add member")),
        MemberChange::LastAdmin => return Err(ApiError::field("role", "cannot demote the last admin")),
        MemberChange::NotMember => return Err(ApiError::not_found()),
    }
    let action = if existed { "organization.member.role" } else { "organization.member.add" };
    let params = json!({"organization": org.name, "user": user.username, "role": role});
    audit::record(&mut *tx, &principal.actor, action, params).await?;
    tx.commit().await?;
    let members = orgs::members(&state.db, org.id).await?;
    let member = members.iter().find(|m| m.user_id == user.id).ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(member_view(&state, member)))
}

/// `DELETE /api/orgs/{name}/members/{username}`: admins remove anyone, members themselves;
/// never the last admin.
#[tracing::instrument(skip_all)]
pub async fn remove_member(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    path: web::Path<(String, String)>,
) -> Result<Reply, ApiError> {
    let principal = caller(&state, principal, &req, true).await?;
    let (name, username) = path.into_inner();
    let leaving = principal.user()?.username.eq_ignore_ascii_case(&username);
    let (org, _) = membership(&state, &principal, &name, if leaving { "read" } else { "admin" }).await?;
    let user = users::by_name_or_email(&state.db, &username).await?.ok_or_else(ApiError::not_found)?;
    let mut tx = state.db.begin().await?;
    match orgs::remove_member(&mut tx, org.id, user.id).await? {
        MemberChange::Done => {}
        MemberChange::LastAdmin => return Err(ApiError::field("name", "cannot remove the last admin")),
        _ => return Err(ApiError::not_found()),
    }
    let params = json!({"organization": org.name, "user": user.username});
    audit::record(&mut *tx, &principal.actor, "organization.member.remove", params).await?;
    tx.commit().await?;
    Ok(Reply::no_content())
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<u32>,
}

/// `GET /api/orgs/{name}/audit-logs` (members).
#[tracing::instrument(skip_all)]
pub async fn org_audit_logs(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    name: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<Reply, ApiError> {
    let principal = caller(&state, principal, &req, false).await?;
    let (org, _) = membership(&state, &principal, &name, "read").await?;
    let entries = audit::of_organization(&state.db, &org.name, query.page.unwrap_or(1).max(1), 100).await?;
    Ok(Reply::ok(
        entries
            .iter()
            .map(|e| json!({"action": e.action, "params": e.params, "user_agent": e.user_agent, "inserted_at": timestamp(e.inserted_at)}))
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
pub struct CreateOrgKey {
    name: Option<String>,
    permissions: Option<Vec<PermissionBody>>,
}

#[derive(Debug, Deserialize)]
pub struct PermissionBody {
    domain: String,
    resource: Option<String>,
}

/// `GET /api/orgs/{name}/keys` (admins).
#[tracing::instrument(skip_all)]
pub async fn list_org_keys(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    name: web::Path<String>,
) -> Result<Reply, ApiError> {
    let principal = caller(&state, principal, &req, false).await?;
    let (org, _) = membership(&state, &principal, &name, "admin").await?;
    let all = keys::list(&state.db, keys::Owner::Organization(org.id)).await?;
    Ok(Reply::ok(all.iter().map(|k| org_key_view(&state, &org, k, principal.key_id, None)).collect()))
}

/// `POST /api/orgs/{name}/keys` (admins): a key of the organization, for CI with no user behind
/// it. Its grants: `repository:ORG` (the default: fetch), and the API (`api`, `api:read`,
/// `api:write`) for publishing into the organization.
#[tracing::instrument(skip_all)]
pub async fn create_org_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    name: web::Path<String>,
    Body(body): Body<CreateOrgKey>,
) -> Result<Reply, ApiError> {
    let principal = caller(&state, principal, &req, true).await?;
    let (org, _) = membership(&state, &principal, &name, "admin").await?;
    let key_name = body.name.as_deref().map(str::trim).filter(|n| !n.is_empty() && n.len() <= 255);
    let key_name = key_name.ok_or_else(|| ApiError::field("name", "can't be blank"))?;
    let requested = body
        .permissions
        .unwrap_or_else(|| vec![PermissionBody { domain: "repository".into(), resource: Some(org.name.clone()) }]);
    let mut permissions = Vec::new();
    for p in &requested {
        let parsed = hexyard_auth::Permission::parse(&p.domain, p.resource.as_deref())
            .map_err(|e| ApiError::field("permissions", e.to_string()))?;
        let allowed = match parsed.domain {
            hexyard_auth::Domain::Api => true,
            hexyard_auth::Domain::Repository => parsed.resource.as_deref() == Some(org.name.as_str()),
            _ => false,
        };
        if !allowed {
            return Err(ApiError::field("permissions", format!("an organization's key cannot hold {parsed}")));
        }
        permissions
            .push(keys::StoredPermission { domain: parsed.domain.as_str().to_owned(), resource: parsed.resource });
    }
    let secret = hexyard_auth::KeySecret::generate();
    let hmac = secret.hmac(&state.config.secret);
    let new = keys::NewKey {
        owner: keys::Owner::Organization(org.id),
        name: key_name,
        secret_prefix: secret.prefix(),
        secret_hmac: &hmac,
        permissions: &permissions,
        revoke_at: None,
    };
    let mut tx = state.db.begin().await?;
    let key = keys::create(&mut tx, &new).await?.ok_or_else(|| ApiError::field("name", "has already been taken"))?;
    let params = json!({"organization": org.name, "name": key_name, "permissions": permissions});
    audit::record(&mut *tx, &principal.actor, "organization.key.generate", params).await?;
    tx.commit().await?;
    Ok(Reply::created(org_key_view(&state, &org, &key, principal.key_id, Some(secret.expose()))))
}

/// `DELETE /api/orgs/{name}/keys/{key}` (admins).
#[tracing::instrument(skip_all)]
pub async fn delete_org_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: MaybePrincipal,
    path: web::Path<(String, String)>,
) -> Result<Reply, ApiError> {
    let principal = caller(&state, principal, &req, true).await?;
    let (name, key_name) = path.into_inner();
    let (org, _) = membership(&state, &principal, &name, "admin").await?;
    let mut tx = state.db.begin().await?;
    let key =
        keys::revoke(&mut *tx, keys::Owner::Organization(org.id), &key_name).await?.ok_or_else(ApiError::not_found)?;
    audit::record(
        &mut *tx,
        &principal.actor,
        "organization.key.remove",
        json!({"organization": org.name, "name": key.name}),
    )
    .await?;
    tx.commit().await?;
    Ok(Reply::ok(org_key_view(&state, &org, &key, principal.key_id, None)))
}

/// The Key shape, at the organization's address.
fn org_key_view(
    state: &AppState,
    org: &Organization,
    key: &keys::Key,
    authing: Option<i64>,
    secret: Option<&str>,
) -> Value {
    let mut body = crate::views::key(state, key, authing, secret);
    body["url"] = json!(state.api_url(&format!("/orgs/{}/keys/{}", org.name, key.name)));
    body
}
