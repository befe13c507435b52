//! The machine-facing HTTP surface of hexyard (actix-web): the Hex API under `/api`, the
//! repository under `/repo`, `/health`. Handlers extract (validated paths, the caller, the
//! body), call one use case of `hexyard_service`, and render the answer as JSON or ETF.

pub mod error;
pub mod extract;
pub mod media;
pub mod meters;
pub mod observe;
pub mod openapi;
pub mod principal;
pub mod rate_limit;
pub mod routes;
pub mod server;
pub mod views;

use actix_web::middleware::from_fn;
use actix_web::{App, web};
use hexyard_service::Services;

pub use error::ApiError;

/// Renders the process's metrics in the Prometheus text format: the server's exporter, given
/// to the app so that this crate needs no exporter of its own; and the bearer token `/metrics`
/// asks for, if any.
#[derive(Clone)]
pub struct Metrics {
    pub render: std::sync::Arc<dyn Fn() -> String + Send + Sync>,
    pub token: Option<String>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// The people-facing pages of another crate: their routes, and the page a browser gets for a
/// path nothing serves (the API's paths keep Hex's JSON or ETF 404).
#[derive(Clone, Copy)]
pub struct Pages {
    pub configure: fn(&mut web::ServiceConfig),
    pub not_found: fn(&actix_web::HttpRequest) -> actix_web::HttpResponse,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pages")
    }
}

/// The application: the API, the repository and the `pages` of another crate, error
/// negotiation, `//` collapsed in paths, `HEAD` as `GET`, request logs.
pub fn app(
    services: web::Data<Services>,
    pages: Pages,
    metrics: Option<Metrics>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(services)
        .app_data(web::Data::new(metrics))
        .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into()))
        .app_data(web::QueryConfig::default().error_handler(|e, _| ApiError::bad_request(e.to_string()).into()))
        // the machine routes first: clients' fetches are matched before the pages' patterns
        .configure(routes::configure)
        .app_data(web::Data::new(pages))
        .configure(pages.configure)
        .default_service(web::to(routes::not_found))
        .wrap(from_fn(extract::reject_control_characters))
        .wrap(from_fn(media::negotiate_errors))
        .wrap(from_fn(extract::merge_slashes))
        .wrap(from_fn(observe::head_as_get))
        .wrap(from_fn(observe::log_requests))
}
