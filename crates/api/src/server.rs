//! The HTTP server. It is assembled from actix-http rather than `HttpServer` for one reason:
//! `Expect: 100-continue`. hex_core and mix send it with every upload and wait; this server
//! answers an upload it will refuse (no or bad credentials, a key that may not publish, a body
//! over the limit) with its final status at once, without `100 Continue`, so the client never
//! sends the body. Everything else goes to the actix-web app as usual.

use std::net::TcpListener;
use std::time::Duration;

use actix_http::body::BoxBody;
use actix_http::{HttpService, Method, Request, Response};
use actix_service::{fn_service, map_config};
use actix_web::dev::AppConfig;
use actix_web::http::header;
use actix_web::web;
use hexyard_core::{PackageName, Version};
use hexyard_service::{Error, Services, authz, docs, tfa};

use crate::error::ApiError;
use crate::media::Format;
use crate::principal::{authenticate, origin_of};

/// How long an idle keep-alive connection stays open: well beyond the 5 s the OAuth device
/// flow asks clients to wait between polls, since mix polls on its kept-alive connection and
/// gives up when the server closed it.
pub const KEEP_ALIVE: Duration = Duration::from_secs(75);

/// How the server runs.
#[derive(Debug)]
pub struct Options {
    pub workers: usize,
    /// How long in-flight requests get to finish after SIGTERM or Ctrl-C.
    pub shutdown: Duration,
    pub metrics: Option<crate::Metrics>,
}

/// Runs the app (with the `pages` of another crate) on `listener` until [`stop_gracefully`] is
/// called (the caller watches for signals).
pub fn run(
    services: web::Data<Services>,
    pages: crate::Pages,
    listener: TcpListener,
    options: Options,
) -> std::io::Result<actix_server::Server> {
    let Options { workers, shutdown, metrics } = options;
    Ok(actix_server::Server::build()
        .workers(workers)
        .shutdown_timeout(shutdown.as_secs().max(1))
        .disable_signals()
        .listen("hexyard", listener, move || {
            let app_services = services.clone();
            let app_metrics = metrics.clone();
            let expect_services = services.clone();
            HttpService::build()
                .keep_alive(KEEP_ALIVE)
                .expect(fn_service(move |req: Request| {
                    let services = expect_services.clone();
                    async move { check_upload(&services, req).await }
                }))
                .finish(map_config(crate::app(app_services, pages, app_metrics), |_| AppConfig::default()))
                .tcp()
        })?
        .run())
}

/// Stops the server: no new connections, the requests under way finished (for up to
/// `deadline`), then every connection closed, idle keep-alive ones at once rather than after
/// their timeout.
pub async fn stop_gracefully(handle: actix_server::ServerHandle, deadline: Duration) {
    handle.pause().await;
    let until = tokio::time::Instant::now() + deadline;
    let mut quiet = 0;
    // two quiet looks in a row: a request read just before the pause is counted by then
    while quiet < 2 && tokio::time::Instant::now() < until {
        if crate::observe::in_flight() == 0 {
            quiet += 1;
        } else {
            quiet = 0;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left = crate::observe::in_flight();
    if left > 0 {
        tracing::warn!(requests = left, "shutdown deadline reached with requests still being handled");
    }
    handle.stop(false).await;
}

fn is_upload(method: &Method, path: &str) -> bool {
    method == Method::POST
        && path.starts_with("/api/")
        && (path.ends_with("/publish") || path.ends_with("/releases") || path.ends_with("/docs"))
}

/// The repository, package and version of a docs upload's path
/// (`/api/[repos/ORG/]packages/NAME/releases/VERSION/docs`).
fn docs_target(path: &str) -> Option<(Option<&str>, &str, &str)> {
    let rest = path.strip_prefix("/api/")?.strip_suffix("/docs")?;
    let segments: Vec<&str> = rest.split('/').collect();
    match segments.as_slice() {
        ["packages", name, "releases", version] => Some((None, name, version)),
        ["repos", repo, "packages", name, "releases", version] => Some((Some(repo), name, version)),
        _ => None,
    }
}

/// Decides whether an upload that asked `Expect: 100-continue` may send its body.
async fn check_upload(services: &Services, req: Request) -> Result<Request, Response<BoxBody>> {
    if !is_upload(&req.head().method, req.head().uri.path()) {
        return Ok(req);
    }
    let headers = &req.head().headers;
    let origin = origin_of(req.peer_addr(), headers);
    let verdict = async {
        let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > services.settings.limits.max_tarball_size) {
            return Err(ApiError::too_large());
        }
        let principal = authenticate(services, headers, &origin).await?;
        let principal = authz::required(principal.as_ref())?;
        if !principal.may_upload() {
            return Err(Error::not_authorized().into());
        }
        // an OAuth token is challenged for its code before the body is sent
        let code = headers.get("x-hex-otp").and_then(|v| v.to_str().ok());
        tfa::require_write_code(services, principal, code).await?;
        // docs go to a release the caller manages
        if let Some((repository, name, version)) = docs_target(req.head().uri.path()) {
            let name = PackageName::parse_existing(name).map_err(|_| Error::NotFound)?;
            let version = Version::parse(version).map_err(|_| Error::NotFound)?;
            // with the code just checked, as the upload itself will carry it
            let principal = hexyard_service::Principal { otp: code.map(str::to_owned), ..principal.clone() };
            docs::may_upload(services, repository, &principal, &name, &version).await?;
        }
        Ok(())
    }
    .await;
    match verdict {
        Ok(()) => Ok(req),
        Err(e) => {
            let mut response = e.render(Format::of(headers));
            // the body was never sent: nothing more can be read on this connection
            response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
            Err(response.into())
        }
    }
}
