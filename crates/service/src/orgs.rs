//! Organizations: creating one (the name rules, its private repository with a signing key of
//! its own sealed in the database, its first admin), seats, members and roles.

use hexyard_core::{HEXPM, RepositoryName, Role, UserRef};
use hexyard_registry::SigningKey;
use hexyard_storage::orgs::{self, Created, Member, MemberChange, Organization};
use hexyard_storage::{audit, repositories, users};
use serde_json::json;

use crate::{Error, Principal, Result, Services, authz};

/// The most seats an organization may have.
const MAX_SEATS: i32 = 100_000;

/// Creates the organization `name` with `owner_id` as its admin.
pub async fn create(
    services: &Services,
    name: &str,
    owner_id: i64,
    seats: i32,
    actor: &audit::Actor,
) -> Result<Organization> {
    RepositoryName::parse(name).map_err(|e| Error::field("name", e.to_string()))?;
    if name == HEXPM || name == services.public().name {
        return Err(Error::field("name", "has already been taken"));
    }
    if !(1..=MAX_SEATS).contains(&seats) {
        return Err(Error::field("seats", "must be a number of seats"));
    }
    let key = tokio::task::spawn_blocking(SigningKey::generate)
        .await?
        .map_err(|e| Error::internal("generating a repository key", e.to_string()))?;
    let sealed = services.key_sealer.seal(key.to_pem().as_bytes());
    let mut tx = services.db.begin().await?;
    let org = match orgs::create(&mut tx, name, owner_id, seats).await? {
        Created::Organization(org) => org,
        Created::NameTaken => return Err(Error::field("name", "has already been taken")),
    };
    repositories::set_signing_key(&mut *tx, org.repository_id, &sealed).await?;
    audit::record(&mut *tx, actor, "organization.create", json!({"organization": org.name, "seats": seats})).await?;
    tx.commit().await?;
    tracing::info!(
        organization = org.name,
        fingerprint = key.verifying_key().fingerprint(),
        "created organization {}",
        org.name
    );
    Ok(org)
}

/// The caller's organizations, with their role in each.
pub async fn of_caller(services: &Services, principal: &Principal) -> Result<Vec<(Organization, Role)>> {
    of_user(services, principal.user()?.id).await
}

/// A user's organizations, with their role in each.
pub async fn of_user(services: &Services, user_id: i64) -> Result<Vec<(Organization, Role)>> {
    let rows = orgs::of_user(&services.db, user_id).await?;
    rows.into_iter().map(|(org, role)| Ok((org, authz::role(&role)?))).collect()
}

/// An organization the caller belongs to.
pub async fn get(services: &Services, principal: &Principal, name: &str) -> Result<Organization> {
    Ok(authz::membership(services, principal, name, Role::Read).await?.0)
}

/// Sets the seats (admins); never fewer than the members.
pub async fn set_seats(services: &Services, principal: &Principal, name: &str, seats: i32) -> Result<Organization> {
    let (org, _) = authz::membership(services, principal, name, Role::Admin).await?;
    if !(1..=MAX_SEATS).contains(&seats) {
        return Err(Error::field("seats", "must be a number of seats"));
    }
    let mut tx = services.db.begin().await?;
    if !orgs::set_seats(&mut tx, org.id, seats).await? {
        return Err(Error::field("seats", "cannot be less than the number of members"));
    }
    let params = json!({"organization": org.name, "seats": seats});
    audit::record(&mut *tx, &principal.actor, "organization.update", params).await?;
    tx.commit().await?;
    orgs::get(&services.db, &org.name).await?.ok_or(Error::NotFound)
}

/// The members (members may look).
pub async fn members(services: &Services, principal: &Principal, name: &str) -> Result<Vec<Member>> {
    let (org, _) = authz::membership(services, principal, name, Role::Read).await?;
    Ok(orgs::members(&services.db, org.id).await?)
}

/// One member (members may look).
pub async fn member(services: &Services, principal: &Principal, name: &str, who: &UserRef) -> Result<Member> {
    members(services, principal, name)
        .await?
        .into_iter()
        .find(|m| match who {
            UserRef::Username(u) => m.username.eq_ignore_ascii_case(u.as_str()),
            UserRef::Email(e) => m.email.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(e.as_str())),
        })
        .ok_or(Error::NotFound)
}

/// Adds a member or changes a role (admins), within the seats, never leaving the organization
/// without an admin.
pub async fn set_member(
    services: &Services,
    principal: &Principal,
    name: &str,
    who: &UserRef,
    role: Role,
) -> Result<Member> {
    let (org, _) = authz::membership(services, principal, name, Role::Admin).await?;
    let user = users::by_name_or_email(&services.db, who.as_str())
        .await?
        .ok_or_else(|| Error::field("name", "unknown user"))?;
    let existed = orgs::role(&services.db, org.id, user.id).await?.is_some();
    let mut tx = services.db.begin().await?;
    match orgs::set_member(&mut tx, org.id, user.id, role.as_str()).await? {
        MemberChange::Done => {}
        MemberChange::NoSeat => return Err(Error::field("name", "not enough seats in organization to add member")),
        MemberChange::LastAdmin => return Err(Error::field("role", "cannot demote the last admin")),
        MemberChange::NotMember => return Err(Error::NotFound),
    }
    let action = if existed { "organization.member.role" } else { "organization.member.add" };
    let params = json!({"organization": org.name, "user": user.username, "role": role.as_str()});
    audit::record(&mut *tx, &principal.actor, action, params).await?;
    tx.commit().await?;
    let members = orgs::members(&services.db, org.id).await?;
    members.into_iter().find(|m| m.user_id == user.id).ok_or(Error::NotFound)
}

/// Removes a member: admins anyone, members themselves; never the last admin.
pub async fn remove_member(services: &Services, principal: &Principal, name: &str, who: &UserRef) -> Result<()> {
    let me = principal.user()?;
    let leaving = match who {
        UserRef::Username(u) => me.username.eq_ignore_ascii_case(u.as_str()),
        UserRef::Email(e) => me.email.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(e.as_str())),
    };
    let least = if leaving { Role::Read } else { Role::Admin };
    let (org, _) = authz::membership(services, principal, name, least).await?;
    let user = users::by_name_or_email(&services.db, who.as_str()).await?.ok_or(Error::NotFound)?;
    let mut tx = services.db.begin().await?;
    match orgs::remove_member(&mut tx, org.id, user.id).await? {
        MemberChange::Done => {}
        MemberChange::LastAdmin => return Err(Error::field("name", "cannot remove the last admin")),
        _ => return Err(Error::NotFound),
    }
    let params = json!({"organization": org.name, "user": user.username});
    audit::record(&mut *tx, &principal.actor, "organization.member.remove", params).await?;
    tx.commit().await?;
    Ok(())
}
