//! The read-only convenience API (`../shared/specs/convenience-api-v1.md`): `/v1/package`,
//! `/v1/releases`, `/v1/release`, `/v1/search` and `/v1/meta`, each answer in the envelope
//! `{data, meta: {timestamp, request_id}, status, message, success}`, errors too (`data` null).
//! Over this server's packages: the public repository's, and an organization's for callers who
//! may read it (`repository=ORG`; search covers every repository the caller may read).

use actix_web::http::StatusCode;
use actix_web::web::{self, get, resource};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use hexyard_core::{PackageName, Version};
use hexyard_service::packages::{self, ListQuery};
use hexyard_service::{Error, Services};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ApiError;
use crate::observe::RequestId;
use crate::principal::MaybePrincipal;
use crate::views::{self, Urls};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/package").route(get().to(package)))
        .service(resource("/releases").route(get().to(releases)))
        .service(resource("/release").route(get().to(release)))
        .service(resource("/search").route(get().to(search)))
        .service(resource("/meta").route(get().to(meta)));
}

/// The envelope around `data`.
fn envelope(req: &HttpRequest, status: StatusCode, data: Value, message: &str) -> HttpResponse {
    let id = req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let now = OffsetDateTime::now_utc();
    let timestamp = now.replace_nanosecond(now.millisecond() as u32 * 1_000_000).unwrap_or(now);
    let ok = status.is_success();
    HttpResponse::build(status).json(json!({
        "data": data,
        "meta": {"timestamp": timestamp.format(&Rfc3339).unwrap_or_default(), "request_id": id},
        "status": if ok { "ok" } else { "error" },
        "message": message,
        "success": ok,
    }))
}

/// An error of this API, in its envelope.
struct Failure(StatusCode, String);

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let api = ApiError::from(e);
        let message = match &api.errors {
            Some(errors) => errors
                .iter()
                .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(", "),
            None if api.status == StatusCode::NOT_FOUND => "not found".to_owned(),
            None => api.message,
        };
        Failure(api.status, message)
    }
}

fn answer(req: &HttpRequest, result: Result<(Value, &str), Failure>) -> HttpResponse {
    match result {
        Ok((data, message)) => envelope(req, StatusCode::OK, data, message),
        Err(Failure(status, message)) => envelope(req, status, Value::Null, &message),
    }
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, Failure> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Failure(StatusCode::BAD_REQUEST, format!("{name} is required")))
}

/// A number in `range`, or its default when absent.
fn bounded(
    value: &Option<String>,
    name: &str,
    range: std::ops::RangeInclusive<u32>,
    default: u32,
) -> Result<u32, Failure> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) => v.parse::<u32>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
            Failure(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{name} must be a number from {} to {}", range.start(), range.end()),
            )
        }),
    }
}

fn package_name(raw: &str) -> Result<PackageName, Failure> {
    PackageName::parse_existing(raw).map_err(|_| Failure(StatusCode::NOT_FOUND, format!("package {raw} not found")))
}

fn stamp(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Releases newest first.
fn newest_first(releases: &[hexyard_service::model::Release]) -> Vec<(Version, &hexyard_service::model::Release)> {
    let mut sorted: Vec<_> = releases.iter().filter_map(|r| Some((Version::parse(&r.version).ok()?, r))).collect();
    sorted.sort_by(|a, b| b.0.cmp(&a.0));
    sorted
}

fn release_summary(v: &Version, r: &hexyard_service::model::Release) -> Value {
    json!({"version": v.to_string(), "has_docs": r.has_docs, "inserted_at": stamp(r.inserted_at)})
}

#[derive(Debug, Deserialize)]
pub struct Query {
    name: Option<String>,
    version: Option<String>,
    repository: Option<String>,
    limit: Option<String>,
    page: Option<String>,
    q: Option<String>,
}

/// How many releases `/v1/package` lists.
const RECENT_RELEASES: usize = 10;

/// `GET /v1/package?name=`: metadata, owners, downloads and the latest releases.
async fn package(
    req: HttpRequest,
    services: web::Data<Services>,
    caller: MaybePrincipal,
    query: web::Query<Query>,
) -> HttpResponse {
    let result = async {
        let name = package_name(required(&query.name, "name")?)?;
        let found = packages::get(&services, query.repository.as_deref(), caller.as_ref(), &name).await?;
        let urls = Urls { services: &services, repo: &found.repo };
        let sorted = newest_first(&found.releases);
        let meta = &found.package.meta.0;
        let d = &found.downloads;
        let data = json!({"package": {
            "name": found.package.name,
            "repository": found.repo.name,
            "description": meta.get("description").cloned().unwrap_or(Value::Null),
            "licenses": meta.get("licenses").cloned().unwrap_or_else(|| json!([])),
            "links": meta.get("links").cloned().unwrap_or_else(|| json!({})),
            "owners": found.owners.iter().map(|o| {
                let full = views::owner(&urls, o);
                json!({"username": full["username"], "url": full["url"]})
            }).collect::<Vec<_>>(),
            "html_url": urls.package_html(&found.package.name),
            "docs_html_url": if found.releases.iter().any(|r| r.has_docs) { json!(urls.docs_html(&found.package.name, None)) } else { Value::Null },
            "downloads": {"all": d.all, "day": d.day, "week": d.week, "recent": d.recent},
            "latest_version": sorted.first().map(|(v, _)| v.to_string()),
            "latest_stable_version": sorted.iter().find(|(v, _)| !v.is_pre()).map(|(v, _)| v.to_string()),
            "releases": sorted.iter().take(RECENT_RELEASES).map(|(v, r)| release_summary(v, r)).collect::<Vec<_>>(),
            "inserted_at": stamp(found.package.inserted_at),
            "updated_at": stamp(found.package.updated_at),
        }});
        Ok((data, "Package retrieved"))
    }
    .await;
    answer(&req, result)
}

/// `GET /v1/releases?name=&limit=`: the release history, newest first.
async fn releases(
    req: HttpRequest,
    services: web::Data<Services>,
    caller: MaybePrincipal,
    query: web::Query<Query>,
) -> HttpResponse {
    let result = async {
        let name = package_name(required(&query.name, "name")?)?;
        let limit = bounded(&query.limit, "limit", 1..=500, 50)? as usize;
        let found = packages::get(&services, query.repository.as_deref(), caller.as_ref(), &name).await?;
        let sorted = newest_first(&found.releases);
        let listed: Vec<Value> = sorted.iter().take(limit).map(|(v, r)| release_summary(v, r)).collect();
        let data = json!({
            "package": found.package.name,
            "latest": sorted.first().map(|(v, _)| v.to_string()),
            "total": sorted.len(),
            "count": listed.len(),
            "releases": listed,
        });
        Ok((data, "Releases retrieved"))
    }
    .await;
    answer(&req, result)
}

/// `GET /v1/release?name=&version=`: one release, its dependencies and build facts.
async fn release(
    req: HttpRequest,
    services: web::Data<Services>,
    caller: MaybePrincipal,
    query: web::Query<Query>,
) -> HttpResponse {
    let result = async {
        let raw_name = required(&query.name, "name")?;
        let raw_version = required(&query.version, "version")?;
        let name = package_name(raw_name)?;
        let version = Version::parse(raw_version)
            .map_err(|_| Failure(StatusCode::NOT_FOUND, format!("release {raw_name} {raw_version} not found")))?;
        let found = packages::release(&services, query.repository.as_deref(), caller.as_ref(), &name, &version).await?;
        let r = &found.release;
        let meta = &r.meta.0;
        let dependencies: Vec<Value> = found
            .requirements
            .iter()
            .filter(|q| q.release_id == r.id)
            .map(|q| {
                let mut dep = json!({"name": q.dependency_name, "app": q.app, "requirement": q.requirement, "optional": q.optional});
                if q.dependency_repository != found.repo.name {
                    dep["repository"] = json!(q.dependency_repository);
                }
                dep
            })
            .collect();
        let data = json!({"release": {
            "package": found.package.name,
            "version": r.version,
            "app": meta.get("app").cloned().unwrap_or(Value::Null),
            "elixir": meta.get("elixir").cloned().unwrap_or(Value::Null),
            "build_tools": meta.get("build_tools").cloned().unwrap_or_else(|| json!([])),
            "checksum": views::hex(&r.outer_checksum),
            "has_docs": r.has_docs,
            "downloads": found.downloads,
            "retirement": views::retirement(r),
            "dependencies": dependencies,
            "inserted_at": stamp(r.inserted_at),
            "updated_at": stamp(r.updated_at),
        }});
        Ok((data, "Release retrieved"))
    }
    .await;
    answer(&req, result)
}

/// `GET /v1/search?q=&page=&limit=`: packages matching hex.pm's search syntax, best first.
async fn search(
    req: HttpRequest,
    services: web::Data<Services>,
    caller: MaybePrincipal,
    query: web::Query<Query>,
) -> HttpResponse {
    let result = async {
        let q = required(&query.q, "q")?;
        let limit = bounded(&query.limit, "limit", 1..=100, 20)?;
        let page = bounded(&query.page, "page", 1..=100_000, 1)?;
        let listing = ListQuery {
            search: Some(q.to_owned()),
            sort: None,
            page: Some(page.to_string()),
            per_page: Some(limit.to_string()),
        };
        let found = packages::list(&services, None, caller.as_ref(), &listing).await?;
        let results: Vec<Value> = found
            .iter()
            .map(|l| {
                let urls = Urls { services: &services, repo: &l.repo };
                let sorted = newest_first(&l.releases);
                json!({
                    "name": l.package.name,
                    "repository": l.repo.name,
                    "html_url": urls.package_html(&l.package.name),
                    "description": l.package.meta.0.get("description").cloned().unwrap_or(Value::Null),
                    "downloads_all": l.downloads.all,
                    "latest_version": sorted.iter().find(|(v, _)| !v.is_pre()).or(sorted.first()).map(|(v, _)| v.to_string()),
                })
            })
            .collect();
        Ok((json!({"query": q, "page": page, "count": results.len(), "results": results}), "Search results retrieved"))
    }
    .await;
    answer(&req, result)
}

/// `GET /v1/meta`: what this API serves, and from where.
async fn meta(req: HttpRequest, services: web::Data<Services>) -> HttpResponse {
    let data = json!({
        "note": "Live registry data of this hexyard server. /v1/package = metadata (description, licenses, links, owners, downloads, recent releases); /v1/releases = full version history; /v1/release = a single release's dependencies, Elixir constraint and build tools; /v1/search = search the registry.",
        "source": format!("hexyard — the package registry at {}", services.settings.public_url),
        "endpoints": ["/v1/package", "/v1/releases", "/v1/release", "/v1/search", "/v1/meta"],
    });
    envelope(&req, StatusCode::OK, data, "Meta retrieved")
}
