//! The HTTP surface of hexyard (actix-web): the Hex API under `/api`, the repository under
//! `/repo`, `/health`. Handlers extract, check permissions, call storage or a domain crate and
//! answer; SQL stays in `hexyard-storage`.

pub mod blob_cache;
pub mod error;
pub mod extract;
pub mod mail;
pub mod media;
pub mod organizations;
pub mod otp;
pub mod pages;
pub mod principal;
pub mod publish;
pub mod rate_limit;
pub mod registry;
pub mod routes;
pub mod server;
pub mod state;
pub mod views;

use actix_web::middleware::{NormalizePath, TrailingSlash, from_fn};
use actix_web::{App, web};

pub use error::ApiError;
pub use registry::RepositoryRegistry;
pub use state::{ApiConfig, AppState};

/// The application: every route, error negotiation, `//` collapsed in paths.
pub fn app(
    state: web::Data<AppState>,
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
        .app_data(state)
        .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into()))
        .app_data(web::QueryConfig::default().error_handler(|e, _| ApiError::bad_request(e.to_string()).into()))
        .configure(routes::configure)
        .default_service(web::to(routes::not_found))
        .wrap(from_fn(media::negotiate_errors))
        .wrap(NormalizePath::new(TrailingSlash::MergeOnly))
}
