//! Browsing: the home page, the package list and search,
//! and a user's public packages.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use hexyard_core::Version;
use hexyard_service::browse;
use hexyard_service::packages::{ListQuery, Listed};
use hexyard_service::{Error, Principal, Services};
use serde::Deserialize;

use crate::html::{Frame, count, date, encode, render};
use crate::origin;
use crate::session::{PageError, Viewer};

/// Packages per page of the list.
const PER_PAGE: u32 = 30;

/// A package in a list.
pub struct Row {
    pub name: String,
    pub url: String,
    pub version: String,
    pub description: String,
    pub downloads: String,
    pub updated: String,
    pub repository: String,
    pub private: bool,
    pub retired: bool,
}

/// The path of a package's page, and of one of its versions.
pub fn package_path(services: &Services, repository: &str, name: &str, version: Option<&str>) -> String {
    let base = if repository == services.public().name {
        format!("/packages/{name}")
    } else {
        format!("/packages/{repository}/{name}")
    };
    match version {
        Some(v) => format!("{base}/{v}"),
        None => base,
    }
}

pub(crate) fn latest<'a>(
    releases: impl Iterator<Item = &'a hexyard_service::model::Release>,
) -> Option<&'a hexyard_service::model::Release> {
    let parsed: Vec<(Version, &hexyard_service::model::Release)> =
        releases.filter_map(|r| Some((Version::parse(&r.version).ok()?, r))).collect();
    Version::latest(parsed.iter().map(|(v, r)| (v, *r)))
}

pub(crate) fn description(meta: &serde_json::Value) -> String {
    meta.get("description").and_then(|d| d.as_str()).unwrap_or_default().to_owned()
}

pub fn rows(services: &Services, listed: &[Listed]) -> Vec<Row> {
    listed
        .iter()
        .map(|l| {
            let newest = latest(l.releases.iter());
            let mut text = description(&l.package.meta.0);
            if text.chars().count() > 200 {
                text = text.chars().take(199).collect::<String>() + "…";
            }
            Row {
                name: l.package.name.clone(),
                url: package_path(services, &l.repo.name, &l.package.name, None),
                version: newest.map(|r| r.version.clone()).unwrap_or_default(),
                description: text,
                downloads: count(l.downloads.all),
                updated: date(l.package.updated_at),
                repository: l.repo.name.clone(),
                private: !l.repo.public,
                retired: newest.is_some_and(|r| r.retirement_reason.is_some()),
            }
        })
        .collect()
}

/// The principal of a signed-in viewer: the pages read what the account may read.
pub(crate) fn reader(viewer: &Viewer, req: &HttpRequest) -> Option<Principal> {
    viewer.0.as_ref().map(|(_, user)| Principal::of_session(user.clone(), &origin(req)))
}

pub struct Setup {
    mix_add: String,
    publish: String,
    dep: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    frame: Frame,
    packages: String,
    releases: String,
    downloads: String,
    empty: bool,
    setup: Setup,
    recent: Vec<Row>,
    popular: Vec<Row>,
}

/// `GET /`.
pub async fn home(services: web::Data<Services>, req: HttpRequest, viewer: Viewer) -> Result<HttpResponse, PageError> {
    let principal = reader(&viewer, &req);
    let overview = browse::overview(&services, principal.as_ref()).await?;
    let public = services.public();
    let base = &services.settings.public_url;
    let page = HomePage {
        frame: Frame::new("Home", &viewer),
        packages: count(overview.totals.packages),
        releases: count(overview.totals.releases),
        downloads: count(overview.totals.downloads),
        empty: overview.totals.packages == 0,
        setup: Setup {
            mix_add: format!(
                "mix hex.repo add {} {base}/repo --fetch-public-key {}",
                public.name,
                public.fingerprint()
            ),
            publish: format!("HEX_API_URL={base}/api HEX_API_KEY=<your key> mix hex.publish"),
            dep: format!("{{:your_package, \"~> 0.1\", repo: \"{}\"}}", public.name),
        },
        recent: rows(&services, &overview.recent),
        popular: rows(&services, &overview.popular),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    search: Option<String>,
    sort: Option<String>,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "packages.html")]
struct PackagesPage {
    frame: Frame,
    searched: Option<String>,
    total: String,
    page: u32,
    pages: u32,
    sorts: Vec<(&'static str, &'static str, bool)>,
    rows: Vec<Row>,
    error: Option<String>,
    previous: Option<String>,
    next: Option<String>,
}

const SORTS: [(&str, &str); 6] = [
    ("relevance", "Relevance"),
    ("name", "Name"),
    ("recent_downloads", "Recent downloads"),
    ("total_downloads", "All-time downloads"),
    ("inserted_at", "Newest"),
    ("updated_at", "Recently updated"),
];

/// `GET /packages?search=&sort=&page=`: the API's query syntax and sorts.
pub async fn list(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, PageError> {
    let params = params.into_inner();
    let searched = params.search.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let sort = params
        .sort
        .clone()
        .filter(|s| SORTS.iter().any(|(v, _)| v == s))
        .unwrap_or_else(|| if searched.is_some() { "relevance" } else { "name" }.to_owned());
    let mut frame =
        Frame::new(searched.as_ref().map_or_else(|| "Packages".to_owned(), |s| format!("Search: {s}")), &viewer);
    frame.search = searched.clone().unwrap_or_default();
    let principal = reader(&viewer, &req);
    let page = hexyard_service::packages::page(params.page.as_deref()).unwrap_or(1);
    let query = ListQuery {
        search: searched.clone(),
        sort: Some(sort.clone()),
        page: Some(page.to_string()),
        per_page: Some(PER_PAGE.to_string()),
    };
    let found = async {
        let total = browse::count(&services, None, principal.as_ref(), &query).await?;
        let listed = hexyard_service::packages::list(&services, None, principal.as_ref(), &query).await?;
        Ok::<_, Error>((total, listed))
    };
    let (status, total, listed, error) = match found.await {
        Ok((total, listed)) => (StatusCode::OK, total, listed, None),
        Err(e) if !e.is_internal() => (StatusCode::BAD_REQUEST, 0, Vec::new(), Some(e.describe())),
        Err(e) => return Err(e.into()),
    };
    let pages = u32::try_from((total + i64::from(PER_PAGE) - 1) / i64::from(PER_PAGE)).unwrap_or(u32::MAX);
    let link = |p: u32| {
        let search = searched.as_deref().map(|s| format!("search={}&", encode(s))).unwrap_or_default();
        format!("/packages?{search}sort={sort}&page={p}")
    };
    let sorts = SORTS
        .iter()
        .filter(|(v, _)| searched.is_some() || *v != "relevance")
        .map(|(v, l)| (*v, *l, *v == sort))
        .collect();
    let page_view = PackagesPage {
        frame,
        total: count(total),
        page,
        pages,
        sorts,
        rows: rows(&services, &listed),
        error,
        previous: (page > 1 && page <= pages.saturating_add(1)).then(|| link(page - 1)),
        next: (page < pages).then(|| link(page + 1)),
        searched,
    };
    Ok(render(status, &page_view))
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    frame: Frame,
    username: String,
    full_name: Option<String>,
    email: Option<String>,
    since: String,
    rows: Vec<Row>,
    more: i64,
}

/// The most packages a user's page lists.
const USER_PACKAGES: i64 = 100;

/// `/users/NAME`: a user and the public packages they own.
pub async fn user(
    services: web::Data<Services>,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let who = hexyard_core::UserRef::parse(&path.into_inner()).ok_or(Error::NotFound)?;
    // a page, not a dump: the first hundred by name, and how many more there are
    let (user, listed, total) = browse::user_page(&services, &who, USER_PACKAGES).await?;
    let more = total - listed.len() as i64;
    let page = UserPage {
        frame: Frame::new(user.username.clone(), &viewer),
        full_name: user.full_name.clone(),
        email: user.email.clone().filter(|_| user.email_public && user.email_verified),
        since: date(user.inserted_at),
        rows: rows(&services, &listed),
        more,
        username: user.username,
    };
    Ok(render(StatusCode::OK, &page))
}
