//! A package's page and a release's: install snippets, versions, dependencies, facts, owners,
//! downloads with their chart, and the audit log for those who manage the package.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use hexyard_core::{PackageName, Version};
use hexyard_service::browse::{self, PackagePage};
use hexyard_service::{Error, Services};

use crate::browse::{description, latest, package_path, reader};
use crate::dashboard::{AuditRow, audit_rows};
use crate::html::{Frame, count, date, is_web_link, render};
use crate::session::{PageError, Viewer};

pub struct VersionRow {
    version: String,
    url: String,
    date: String,
    pre: bool,
    current: bool,
    docs: Option<String>,
    retired: Option<String>,
}

pub struct DepRow {
    name: String,
    url: Option<String>,
    requirement: String,
    optional: bool,
    repository: Option<String>,
}

#[derive(Template)]
#[template(path = "package.html")]
struct PackageTemplate {
    frame: Frame,
    name: String,
    repository: Option<String>,
    repo_name: String,
    version: String,
    latest: bool,
    latest_version: String,
    base: String,
    pre: bool,
    retired: Option<(String, String)>,
    description: String,
    mix_dep: String,
    mix_repo: String,
    rebar_dep: String,
    rebar_repo: String,
    deps: Vec<DepRow>,
    versions: Vec<VersionRow>,
    audit: Option<Vec<AuditRow>>,
    docs: Option<String>,
    licenses: Vec<String>,
    published: String,
    publisher: Option<String>,
    build_tools: String,
    checksum: String,
    links: Vec<(String, String, bool)>,
    owners: Vec<(String, String)>,
    downloads: (String, String, String, String),
    release_downloads: String,
    chart: String,
}

/// `/packages/NAME`.
pub async fn package(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    show(&services, &req, viewer, None, &path.into_inner(), None).await
}

/// `/packages/NAME/VERSION`, or `/packages/ORG/NAME`: a version starts with a digit, a
/// package name never does.
pub async fn package_or_release(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (first, second) = path.into_inner();
    match Version::parse(&second) {
        Ok(version) => show(&services, &req, viewer, None, &first, Some(version)).await,
        Err(_) => show(&services, &req, viewer, Some(&first), &second, None).await,
    }
}

/// `/packages/ORG/NAME/VERSION`.
pub async fn private_release(
    services: web::Data<Services>,
    req: HttpRequest,
    viewer: Viewer,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, PageError> {
    let (org, name, version) = path.into_inner();
    let version = Version::parse(&version).map_err(|_| Error::NotFound)?;
    show(&services, &req, viewer, Some(&org), &name, Some(version)).await
}

async fn show(
    services: &Services,
    req: &HttpRequest,
    viewer: Viewer,
    repository: Option<&str>,
    name: &str,
    version: Option<Version>,
) -> Result<HttpResponse, PageError> {
    let name = PackageName::parse_existing(name).map_err(|_| Error::NotFound)?;
    let principal = reader(&viewer, req);
    let page = browse::package_page(services, repository, principal.as_ref(), &name, version.as_ref()).await?;
    let frame = Frame::new(format!("{} {}", name.as_str(), page.shown.version), &viewer);
    Ok(render(StatusCode::OK, &package_template(services, frame, &page)))
}

fn package_template(services: &Services, frame: Frame, page: &PackagePage) -> PackageTemplate {
    let view = &page.view;
    let repo = &view.repo;
    let name = view.package.name.clone();
    let shown = &page.shown;
    let version = Version::parse(&shown.version).unwrap_or_else(|_| Version::new(0, 0, 0));
    let newest = latest(view.releases.iter()).map(|r| r.version.clone()).unwrap_or_default();
    let base_url = &services.settings.public_url;
    let repo_url =
        if repo.public { format!("{base_url}/repo") } else { format!("{base_url}/repo/repos/{}", repo.name) };
    let auth = if repo.public { "" } else { " --auth-key YOUR_KEY" };
    let pem = String::from_utf8_lossy(&repo.public_key_pem()).trim().replace('\n', "\\n");
    let rebar_key =
        if repo.public { String::new() } else { "\n                  repo_key => <<\"YOUR_KEY\">>,".to_owned() };
    let meta = &view.package.meta.0;
    let strings = |v: Option<&serde_json::Value>| -> Vec<String> {
        v.and_then(|l| l.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let links = meta
        .get("links")
        .and_then(|l| l.as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(label, url)| {
                    let url = url.as_str()?;
                    Some((label.clone(), url.to_owned(), is_web_link(url)))
                })
                .collect()
        })
        .unwrap_or_default();
    let docs_for = |v: &str| hexyard_service::docs::site_path(services, repo, &name, Some(v));
    let versions = view
        .releases
        .iter()
        .map(|r| VersionRow {
            version: r.version.clone(),
            url: package_path(services, &repo.name, &name, Some(&r.version)),
            date: date(r.inserted_at),
            pre: Version::parse(&r.version).is_ok_and(|v| v.is_pre()),
            current: r.id == shown.id,
            docs: r.has_docs.then(|| docs_for(&r.version)),
            retired: r.retirement_reason.as_ref().map(|reason| match r.retirement_message.as_deref() {
                Some(m) if !m.is_empty() => format!("{reason}: {m}"),
                _ => reason.clone(),
            }),
        })
        .collect();
    let deps = page
        .requirements
        .iter()
        .map(|q| {
            let url = if q.dependency_repository == "hexpm" {
                Some(format!("https://hex.pm/packages/{}", q.dependency_name))
            } else {
                Some(package_path(services, &q.dependency_repository, &q.dependency_name, None))
            };
            DepRow {
                name: q.dependency_name.clone(),
                url,
                requirement: q.requirement.clone(),
                optional: q.optional,
                repository: (q.dependency_repository != repo.name).then(|| q.dependency_repository.clone()),
            }
        })
        .collect();
    let d = view.downloads;
    PackageTemplate {
        frame,
        repository: (!repo.public).then(|| repo.name.clone()),
        repo_name: repo.name.clone(),
        latest: shown.version == newest,
        latest_version: newest,
        base: package_path(services, &repo.name, &name, None),
        pre: version.is_pre(),
        retired: shown
            .retirement_reason
            .clone()
            .map(|reason| (reason, shown.retirement_message.clone().unwrap_or_default())),
        description: description(meta),
        mix_dep: format!("{{:{name}, \"{}\", repo: \"{}\"}}", browse::requirement(&version), repo.name),
        mix_repo: format!("mix hex.repo add {} {repo_url} --fetch-public-key {}{auth}", repo.name, repo.fingerprint()),
        rebar_dep: format!("{{deps, [{{{name}, \"{}\"}}]}}.", shown.version),
        rebar_repo: format!(
            "{{hex, [{{repos, [#{{name => <<\"{}\">>,\n                  repo_url => <<\"{repo_url}\">>,{rebar_key}\n                  repo_verify => true,\n                  repo_public_key => <<\"{pem}\">>}}]}}]}}.",
            repo.name
        ),
        deps,
        versions,
        audit: page.audit.as_deref().map(audit_rows),
        docs: shown.has_docs.then(|| docs_for(&shown.version)),
        licenses: strings(meta.get("licenses")),
        published: date(shown.inserted_at),
        publisher: shown.publisher.clone(),
        build_tools: strings(shown.meta.0.get("build_tools")).join(", "),
        checksum: shown.outer_checksum.iter().map(|b| format!("{b:02x}")).collect(),
        links,
        owners: view.owners.iter().map(|o| (o.username.clone(), o.level.clone())).collect(),
        downloads: (count(d.all), count(d.recent), count(d.week), count(d.day)),
        release_downloads: count(page.release_downloads),
        chart: chart(&page.daily),
        version: shown.version.clone(),
        name,
    }
}

/// The daily downloads as an inline SVG bar chart (numbers only: nothing to escape), with a
/// text alternative.
pub fn chart(daily: &[(time::Date, i64)]) -> String {
    let peak = daily.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let total: i64 = daily.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return format!("<p class=\"hint\">No downloads in the last {} days.</p>", daily.len());
    }
    let (width, height) = (daily.len().max(1) * 4, 80);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {width} {}\" role=\"img\" aria-labelledby=\"chart-title\">\
         <title id=\"chart-title\">Daily downloads over the last {} days: {} in all, {} on the busiest day</title>\
         <line class=\"axis\" x1=\"0\" y1=\"{height}.5\" x2=\"{width}\" y2=\"{height}.5\"/>",
        height + 14,
        daily.len(),
        count(total),
        count(peak)
    );
    for (i, (day, n)) in daily.iter().enumerate() {
        if *n == 0 {
            continue;
        }
        let h = ((*n as f64 / peak as f64) * f64::from(height)).max(1.0);
        svg.push_str(&format!(
            "<rect class=\"bar\" x=\"{}\" y=\"{:.1}\" width=\"3\" height=\"{h:.1}\"><title>{day}: {}</title></rect>",
            i * 4,
            f64::from(height) - h,
            count(*n)
        ));
    }
    if let (Some((first, _)), Some((last, _))) = (daily.first(), daily.last()) {
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\">{first}</text><text x=\"{width}\" y=\"{}\" text-anchor=\"end\">{last}</text>",
            height + 12,
            height + 12
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::chart;

    #[test]
    fn charts_scale_to_the_busiest_day() {
        let day = time::macros::date!(2026 - 11 - 01);
        let daily = vec![(day, 0), (day.next_day().unwrap(), 10), (day.next_day().unwrap().next_day().unwrap(), 5)];
        let svg = chart(&daily);
        assert_eq!(svg.matches("<rect").count(), 2, "{svg}");
        assert!(svg.contains("height=\"80.0\"") && svg.contains("height=\"40.0\""), "{svg}");
        assert!(svg.contains("15 in all, 10 on the busiest day"), "{svg}");
        assert_eq!(chart(&[(day, 0)]), "<p class=\"hint\">No downloads in the last 1 days.</p>");
    }
}
