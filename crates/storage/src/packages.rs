//! Packages: a name in a repository, with the metadata of its latest publish.

use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, PgPool, Postgres, QueryBuilder};
use time::OffsetDateTime;

use crate::Result;

/// A package row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Package {
    pub id: i64,
    pub repository_id: i64,
    pub repository: String,
    pub name: String,
    pub meta: Json<serde_json::Value>,
    pub inserted_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const SELECT: &str = "SELECT p.id, p.repository_id, r.name AS repository, p.name, p.meta, p.inserted_at, p.updated_at
    FROM packages p JOIN repositories r ON r.id = p.repository_id";

pub async fn get(db: impl PgExecutor<'_>, repository_id: i64, name: &str) -> Result<Option<Package>> {
    Ok(sqlx::query_as(&format!("{SELECT} WHERE p.repository_id = $1 AND p.name = $2"))
        .bind(repository_id)
        .bind(name)
        .fetch_optional(db)
        .await?)
}

/// Creates the package or updates its metadata; the flag says whether it was created. Two
/// publishes racing to create one package both succeed, on one row.
pub async fn upsert(
    conn: &mut PgConnection,
    repository_id: i64,
    name: &str,
    meta: &serde_json::Value,
) -> Result<(i64, bool)> {
    let row: (i64, bool) = sqlx::query_as(
        "INSERT INTO packages (repository_id, name, meta) VALUES ($1, $2, $3)
         ON CONFLICT (repository_id, name) DO UPDATE SET meta = EXCLUDED.meta, updated_at = now()
         RETURNING id, (xmax = 0) AS created",
    )
    .bind(repository_id)
    .bind(name)
    .bind(Json(meta))
    .fetch_one(conn)
    .await?;
    Ok(row)
}

/// Which of `names` exist in the repository.
pub async fn existing(db: impl PgExecutor<'_>, repository_id: i64, names: &[String]) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM packages WHERE repository_id = $1 AND name = ANY($2)
         AND EXISTS (SELECT 1 FROM releases WHERE package_id = packages.id)",
    )
    .bind(repository_id)
    .bind(names)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(n,)| n).collect())
}

/// How to order a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Name,
    InsertedAt,
    UpdatedAt,
    /// All downloads, most first.
    TotalDownloads,
    /// Downloads of the 90 days before today, most first.
    RecentDownloads,
    /// Best match first: the exact name, then names starting with the first term, then the
    /// text rank; downloads break ties. Without a search, by name.
    Relevance,
}

/// A parsed package search; every part present must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Free-text terms, lowercase: each of them in the name (a substring from 3 characters, the
    /// whole name below; `*` a wildcard) or among the words of the description or `extra`.
    pub terms: Vec<String>,
    /// Quoted free text: the words in this order.
    pub phrases: Vec<String>,
    /// `name:` — the whole name, `*` a wildcard.
    pub name: Option<String>,
    /// `description:` — any of its words in the description.
    pub description: Option<String>,
    /// `depends:[REPO:]NAME` — the latest release requires it.
    pub depends: Option<String>,
    /// `build_tool:` — some release is built with it.
    pub build_tool: Option<String>,
    /// `updated_after:` — updated at or after.
    pub updated_after: Option<OffsetDateTime>,
    /// `extra:KEY,…,VALUE` — the metadata's `extra` holds the value under the keys.
    pub extra: Vec<serde_json::Value>,
}

/// What to list: the packages of some repositories, maybe matching a search, one page.
#[derive(Debug, Clone, Copy)]
pub struct Listing<'a> {
    pub repository_ids: &'a [i64],
    pub search: Option<&'a SearchQuery>,
    pub sort: Sort,
    pub page: u32,
    pub per_page: u32,
}

/// Escapes LIKE's own characters and makes `*` its wildcard.
fn like_pattern(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_").replace('*', "%")
}

/// The words of free text a tsquery may hold: letters and digits only, so no syntax of its own.
fn text_words(text: &str) -> Vec<String> {
    // lowercase first: a letter's lowercase may hold a mark that is not alphanumeric ('İ')
    text.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

/// A text search query written into the SQL as a constant, not a parameter: Postgres then
/// folds it while planning, so a cached (generic) plan still uses the indexes. Safe because
/// the words are letters and digits only ([`text_words`]).
fn tsquery(function: &str, words: &[String], joiner: &str, suffix: &str) -> String {
    assert!(words.iter().all(|w| !w.is_empty() && w.chars().all(char::is_alphanumeric)), "only words: {words:?}");
    let text: Vec<String> = words.iter().map(|w| format!("{w}{suffix}")).collect();
    format!("{function}('english', '{}')", text.join(joiner))
}

/// A page of packages, as the listing asks. (A package always has a release: publishing makes
/// both in one transaction, and reverting the last release removes the package with it.)
pub async fn list(db: &PgPool, listing: &Listing<'_>) -> Result<Vec<Package>> {
    // the page's ids first, sorted over narrow rows; then the page's rows
    // each search's text is in its SQL: not worth a prepared statement in every connection
    let ids: Vec<(i64,)> = page_query(listing, "").build_query_as().persistent(false).fetch_all(db).await?;
    let ids: Vec<i64> = ids.into_iter().map(|(id,)| id).collect();
    let mut rows: Vec<Package> =
        sqlx::query_as(&format!("{SELECT} WHERE p.id = ANY($1)")).bind(&ids).fetch_all(db).await?;
    rows.sort_by_key(|p| ids.iter().position(|id| *id == p.id));
    Ok(rows)
}

/// How many packages a listing finds on all its pages.
pub async fn count(db: &PgPool, listing: &Listing<'_>) -> Result<i64> {
    let mut q = QueryBuilder::<Postgres>::new("SELECT count(*) FROM packages p WHERE p.repository_id = ANY(");
    q.push_bind(listing.repository_ids.to_vec()).push(")");
    if let Some(search) = listing.search {
        push_conditions(&mut q, search);
    }
    let (n,): (i64,) = q.build_query_as().persistent(false).fetch_one(db).await?;
    Ok(n)
}

/// What some repositories hold: packages, releases and all their downloads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Totals {
    pub packages: i64,
    pub releases: i64,
    pub downloads: i64,
}

/// The totals of some repositories.
pub async fn totals(db: impl PgExecutor<'_>, repository_ids: &[i64]) -> Result<Totals> {
    Ok(sqlx::query_as(
        "SELECT count(*) AS packages, coalesce(sum(p.downloads), 0)::bigint AS downloads,
             (SELECT count(*) FROM releases r JOIN packages q ON q.id = r.package_id
              WHERE q.repository_id = ANY($1)) AS releases
         FROM packages p WHERE p.repository_id = ANY($1)",
    )
    .bind(repository_ids)
    .fetch_one(db)
    .await?)
}

/// The plan Postgres makes for a listing's search (`EXPLAIN`), to see which indexes it uses.
pub async fn explain(db: &PgPool, listing: &Listing<'_>) -> Result<String> {
    let lines: Vec<(String,)> =
        page_query(listing, "EXPLAIN ").build_query_as().persistent(false).fetch_all(db).await?;
    Ok(lines.into_iter().map(|(l,)| l).collect::<Vec<_>>().join("\n"))
}

/// The query of a listing's page.
fn page_query<'a>(listing: &Listing<'a>, prefix: &str) -> QueryBuilder<'a, Postgres> {
    // the recent downloads of every package counted once, joined, rather than a subquery per package
    let recent = if matches!(listing.sort, Sort::RecentDownloads) {
        " LEFT JOIN (SELECT d.package_id, sum(d.downloads) AS recent FROM package_downloads d
             WHERE d.day >= (now() AT TIME ZONE 'UTC')::date - 90 AND d.day < (now() AT TIME ZONE 'UTC')::date
             GROUP BY d.package_id) rd ON rd.package_id = p.id"
    } else {
        ""
    };
    let mut q = QueryBuilder::<Postgres>::new(format!(
        "{prefix}SELECT p.id FROM packages p{recent} WHERE p.repository_id = ANY("
    ));
    q.push_bind(listing.repository_ids.to_vec()).push(")");
    let mut words = Vec::new();
    let mut exact = None;
    if let Some(search) = listing.search {
        words = search.terms.iter().flat_map(|t| text_words(t)).collect();
        push_conditions(&mut q, search);
        let free: Vec<&str> = search.terms.iter().map(String::as_str).collect();
        exact = (!free.is_empty()).then(|| free.join(" "));
    }
    q.push(" ORDER BY ");
    if let Some(exact) = &exact {
        // the package of exactly that name first, whatever the order
        q.push("(p.name = ").push_bind(exact.clone()).push(") DESC, ");
    }
    match listing.sort {
        Sort::Name => q.push("p.name"),
        Sort::InsertedAt => q.push("p.inserted_at DESC, p.name"),
        Sort::UpdatedAt => q.push("p.updated_at DESC, p.name"),
        Sort::TotalDownloads => q.push("p.downloads DESC, p.name"),
        Sort::RecentDownloads => q.push("coalesce(rd.recent, 0) DESC, p.name"),
        Sort::Relevance => match listing.search.and_then(|s| s.terms.first()) {
            Some(first) => {
                q.push("(p.name LIKE ").push_bind(format!("{}%", like_pattern(first))).push(") DESC, ");
                if !words.is_empty() {
                    q.push(format!("ts_rank(p.search, {}) DESC, ", tsquery("to_tsquery", &words, " | ", "")));
                }
                q.push("p.downloads DESC, p.name")
            }
            None => q.push("p.name"),
        },
    };
    q.push(" LIMIT ").push_bind(i64::from(listing.per_page));
    q.push(" OFFSET ").push_bind(i64::from(listing.page.saturating_sub(1)) * i64::from(listing.per_page));
    q
}

fn push_conditions(q: &mut QueryBuilder<'_, Postgres>, search: &SearchQuery) {
    // every term: in the name, or its words in the text (a term of stop words only, such as
    // "the", asks nothing)
    for term in &search.terms {
        if term.contains('*') {
            q.push(" AND (p.name LIKE ").push_bind(like_pattern(term));
        } else if term.chars().count() >= 3 {
            q.push(" AND (p.name LIKE ").push_bind(format!("%{}%", like_pattern(term)));
        } else {
            q.push(" AND (p.name = ").push_bind(term.clone());
        }
        let words = text_words(term);
        if !words.is_empty() {
            // a term of stop words only makes an empty query, which Postgres folds to true here
            let query = tsquery("to_tsquery", &words, " & ", "");
            q.push(format!(" OR p.search @@ {query} OR numnode({query}) = 0"));
        }
        q.push(")");
    }
    for phrase in &search.phrases {
        let words = text_words(phrase);
        q.push(" AND (p.name LIKE ").push_bind(format!("%{}%", like_pattern(&phrase.replace('*', ""))));
        if !words.is_empty() {
            q.push(format!(" OR p.search @@ {}", tsquery("phraseto_tsquery", &words, " ", "")));
        }
        q.push(")");
    }
    if let Some(name) = &search.name {
        q.push(" AND p.name LIKE ").push_bind(like_pattern(name));
    }
    if let Some(description) = &search.description {
        // the description's words are those of weight B in the search vector
        let words = text_words(description);
        if words.is_empty() {
            q.push(" AND false");
        } else {
            q.push(format!(" AND p.search @@ {}", tsquery("to_tsquery", &words, " | ", ":B")));
        }
    }
    if let Some(depends) = &search.depends {
        q.push(" AND p.depends @> ARRAY[").push_bind(depends.clone()).push("]::text[]");
    }
    if let Some(tool) = &search.build_tool {
        q.push(" AND EXISTS (SELECT 1 FROM releases r WHERE r.package_id = p.id AND r.meta->'build_tools' ? ");
        q.push_bind(tool.clone()).push(")");
    }
    if let Some(after) = search.updated_after {
        q.push(" AND p.updated_at >= ").push_bind(after);
    }
    for extra in &search.extra {
        q.push(" AND p.meta->'extra' @> ").push_bind(Json(extra.clone()));
    }
}

/// Records the dependencies of a package's latest release, as `NAME` and `REPOSITORY:NAME`.
pub async fn set_depends(db: impl PgExecutor<'_>, package_id: i64, depends: &[String]) -> Result<()> {
    sqlx::query("UPDATE packages SET depends = $2 WHERE id = $1").bind(package_id).bind(depends).execute(db).await?;
    Ok(())
}

/// The packages a user owns, in the given repositories.
pub async fn owned_by(db: impl PgExecutor<'_>, user_id: i64, repository_ids: &[i64]) -> Result<Vec<Package>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} JOIN package_owners o ON o.package_id = p.id
         WHERE o.user_id = $1 AND p.repository_id = ANY($2) ORDER BY p.name"
    ))
    .bind(user_id)
    .bind(repository_ids)
    .fetch_all(db)
    .await?)
}

/// The first `limit` packages (by name) a user owns in a repository. (One repository, so the
/// repository's name index can be read in order, each package checked against its owners
/// until `limit` are found, when the user owns many; or the user's few, sorted.)
pub async fn owned_by_first(
    db: impl PgExecutor<'_>,
    user_id: i64,
    repository_id: i64,
    limit: i64,
) -> Result<Vec<Package>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE p.repository_id = $2
         AND EXISTS (SELECT 1 FROM package_owners o WHERE o.package_id = p.id AND o.user_id = $1)
         ORDER BY p.name LIMIT $3"
    ))
    .bind(user_id)
    .bind(repository_id)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// How many packages a user owns in a repository.
pub async fn count_owned(db: impl PgExecutor<'_>, user_id: i64, repository_id: i64) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM package_owners o JOIN packages p ON p.id = o.package_id
         WHERE o.user_id = $1 AND p.repository_id = $2",
    )
    .bind(user_id)
    .bind(repository_id)
    .fetch_one(db)
    .await?;
    Ok(n)
}

/// Name and last update of every package of the repository that has a release.
pub async fn names(db: impl PgExecutor<'_>, repository_id: i64) -> Result<Vec<(String, OffsetDateTime)>> {
    Ok(sqlx::query_as(
        "SELECT name, updated_at FROM packages p WHERE repository_id = $1
         AND EXISTS (SELECT 1 FROM releases WHERE package_id = p.id) ORDER BY name",
    )
    .bind(repository_id)
    .fetch_all(db)
    .await?)
}

/// When the package was created.
pub async fn inserted_at(db: impl PgExecutor<'_>, package_id: i64) -> Result<Option<OffsetDateTime>> {
    let row: Option<(OffsetDateTime,)> =
        sqlx::query_as("SELECT inserted_at FROM packages WHERE id = $1").bind(package_id).fetch_optional(db).await?;
    Ok(row.map(|(t,)| t))
}

/// Locks a package's row for the transaction: reverts of its releases happen one at a time.
pub async fn lock(conn: &mut PgConnection, id: i64) -> Result<()> {
    sqlx::query("SELECT id FROM packages WHERE id = $1 FOR UPDATE").bind(id).execute(conn).await?;
    Ok(())
}

/// Deletes a package (its owners go with it); its releases must be gone.
pub async fn delete(db: impl PgExecutor<'_>, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM packages WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM releases WHERE package_id = $1)")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
