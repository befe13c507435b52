//! Organizations, their private repositories and their members.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;

use crate::Result;

/// An organization.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Organization {
    pub id: i64,
    pub name: String,
    pub repository_id: i64,
    pub seats: i32,
    pub inserted_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const COLUMNS: &str = "o.id, o.name, o.repository_id, o.seats, o.inserted_at, o.updated_at";

/// A member and their role.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Member {
    pub user_id: i64,
    pub username: String,
    pub email: Option<String>,
    pub email_public: bool,
    pub role: String,
}

/// What creating an organization came to.
#[derive(Debug)]
pub enum Created {
    Organization(Organization),
    NameTaken,
}

/// Creates an organization with its private repository, the owner as its first admin.
pub async fn create(conn: &mut PgConnection, name: &str, owner_id: i64, seats: i32) -> Result<Created> {
    let taken: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM repositories WHERE name = $1").bind(name).fetch_optional(&mut *conn).await?;
    if taken.is_some() {
        return Ok(Created::NameTaken);
    }
    let (repository_id,): (i64,) =
        sqlx::query_as("INSERT INTO repositories (name, public) VALUES ($1, false) RETURNING id")
            .bind(name)
            .fetch_one(&mut *conn)
            .await?;
    let org: Organization = sqlx::query_as(&format!(
        "INSERT INTO organizations AS o (name, repository_id, seats) VALUES ($1, $2, $3) RETURNING {COLUMNS}"
    ))
    .bind(name)
    .bind(repository_id)
    .bind(seats)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO organization_members (organization_id, user_id, role) VALUES ($1, $2, 'admin')")
        .bind(org.id)
        .bind(owner_id)
        .execute(&mut *conn)
        .await?;
    Ok(Created::Organization(org))
}

pub async fn get(db: impl PgExecutor<'_>, name: &str) -> Result<Option<Organization>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM organizations o WHERE o.name = $1"))
        .bind(name)
        .fetch_optional(db)
        .await?)
}

/// The organizations a user belongs to, with the user's role in each.
pub async fn of_user(db: impl PgExecutor<'_>, user_id: i64) -> Result<Vec<(Organization, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        org: Organization,
        role: String,
    }
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS}, m.role FROM organizations o
         JOIN organization_members m ON m.organization_id = o.id WHERE m.user_id = $1 ORDER BY o.name"
    ))
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.org, r.role)).collect())
}

/// The user's role in the organization, if a member.
pub async fn role(db: impl PgExecutor<'_>, org_id: i64, user_id: i64) -> Result<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT role FROM organization_members WHERE organization_id = $1 AND user_id = $2")
            .bind(org_id)
            .bind(user_id)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(r,)| r))
}

pub async fn members(db: impl PgExecutor<'_>, org_id: i64) -> Result<Vec<Member>> {
    Ok(sqlx::query_as(
        "SELECT m.user_id, u.username, e.email, coalesce(e.is_public, false) AS email_public, m.role
         FROM organization_members m JOIN users u ON u.id = m.user_id
         LEFT JOIN emails e ON e.user_id = u.id AND e.is_primary
         WHERE m.organization_id = $1 ORDER BY lower(u.username)",
    )
    .bind(org_id)
    .fetch_all(db)
    .await?)
}

/// What a membership change came to.
#[derive(Debug, PartialEq, Eq)]
pub enum MemberChange {
    Done,
    NoSeat,
    LastAdmin,
    NotMember,
}

/// Adds a member or changes their role, within the seats and never leaving the organization
/// without an admin. The organization row is locked, so concurrent changes cannot overshoot.
pub async fn set_member(conn: &mut PgConnection, org_id: i64, user_id: i64, role: &str) -> Result<MemberChange> {
    let (seats,): (i32,) = sqlx::query_as("SELECT seats FROM organizations WHERE id = $1 FOR UPDATE")
        .bind(org_id)
        .fetch_one(&mut *conn)
        .await?;
    let current = self::role(&mut *conn, org_id, user_id).await?;
    if current.is_none() {
        let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM organization_members WHERE organization_id = $1")
            .bind(org_id)
            .fetch_one(&mut *conn)
            .await?;
        if count >= i64::from(seats) {
            return Ok(MemberChange::NoSeat);
        }
    } else if current.as_deref() == Some("admin") && role != "admin" && admins(&mut *conn, org_id).await? <= 1 {
        return Ok(MemberChange::LastAdmin);
    }
    sqlx::query(
        "INSERT INTO organization_members (organization_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (organization_id, user_id) DO UPDATE SET role = EXCLUDED.role",
    )
    .bind(org_id)
    .bind(user_id)
    .bind(role)
    .execute(&mut *conn)
    .await?;
    Ok(MemberChange::Done)
}

async fn admins(conn: &mut PgConnection, org_id: i64) -> Result<i64> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM organization_members WHERE organization_id = $1 AND role = 'admin'")
            .bind(org_id)
            .fetch_one(conn)
            .await?;
    Ok(n)
}

/// Removes a member, never the last admin.
pub async fn remove_member(conn: &mut PgConnection, org_id: i64, user_id: i64) -> Result<MemberChange> {
    sqlx::query("SELECT id FROM organizations WHERE id = $1 FOR UPDATE").bind(org_id).execute(&mut *conn).await?;
    match self::role(&mut *conn, org_id, user_id).await?.as_deref() {
        None => return Ok(MemberChange::NotMember),
        Some("admin") if admins(&mut *conn, org_id).await? <= 1 => return Ok(MemberChange::LastAdmin),
        Some(_) => {}
    }
    sqlx::query("DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2")
        .bind(org_id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(MemberChange::Done)
}

/// Sets the seats; false when there are more members than that.
pub async fn set_seats(conn: &mut PgConnection, org_id: i64, seats: i32) -> Result<bool> {
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM organization_members WHERE organization_id = $1")
        .bind(org_id)
        .fetch_one(&mut *conn)
        .await?;
    if i64::from(seats) < count {
        return Ok(false);
    }
    sqlx::query("UPDATE organizations SET seats = $2, updated_at = now() WHERE id = $1")
        .bind(org_id)
        .bind(seats)
        .execute(conn)
        .await?;
    Ok(true)
}

pub async fn by_id(db: impl PgExecutor<'_>, id: i64) -> Result<Option<Organization>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM organizations o WHERE o.id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?)
}
