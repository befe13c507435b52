//! The HTTP server. It is assembled from actix-http rather than `HttpServer` for one reason:
//! `Expect: 100-continue`. hex_core and mix send it with every upload and wait; this server
//! answers an upload it will refuse (no or bad credentials, a key that may not publish, a body
//! over the limit) with its final status at once, without `100 Continue`, so the client never
//! sends the body. Everything else goes to the actix-web app as usual.

use std::net::TcpListener;

use actix_http::body::BoxBody;
use actix_http::{HttpService, Method, Request, Response};
use actix_service::{fn_service, map_config};
use actix_web::dev::AppConfig;
use actix_web::http::header;
use actix_web::web;
use hexyard_auth::{Domain, Grants};
use hexyard_storage::audit::Actor;

use crate::error::ApiError;
use crate::media::Format;
use crate::principal::{MaybePrincipal, authenticate, not_authorized};
use crate::state::AppState;

/// Runs the app on `listener` until a shutdown signal.
pub fn run(state: web::Data<AppState>, listener: TcpListener, workers: usize) -> std::io::Result<actix_server::Server> {
    Ok(actix_server::Server::build()
        .workers(workers)
        .shutdown_timeout(10)
        .listen("hexyard", listener, move || {
            let app_state = state.clone();
            let expect_state = state.clone();
            HttpService::build()
                .expect(fn_service(move |req: Request| {
                    let state = expect_state.clone();
                    async move { check_upload(&state, req).await }
                }))
                .finish(map_config(crate::app(app_state), |_| AppConfig::default()))
                .tcp()
        })?
        .run())
}

fn is_upload(method: &Method, path: &str) -> bool {
    method == Method::POST
        && path.starts_with("/api/")
        && (path.ends_with("/publish") || path.ends_with("/releases") || path.ends_with("/docs"))
}

/// Decides whether an upload that asked `Expect: 100-continue` may send its body.
async fn check_upload(state: &AppState, req: Request) -> Result<Request, Response<BoxBody>> {
    if !is_upload(&req.head().method, req.head().uri.path()) {
        return Ok(req);
    }
    let headers = &req.head().headers;
    let actor = Actor {
        ip: req.peer_addr().map(|a| a.ip().to_string()),
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
        ..Actor::default()
    };
    let verdict = async {
        let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > state.config.limits.max_tarball_size) {
            return Err(ApiError::too_large());
        }
        let principal =
            MaybePrincipal(authenticate(state, headers.get(header::AUTHORIZATION), actor).await?).required()?;
        let grants = &principal.permissions[..];
        if !grants.allows_api_write() && !grants.iter().any(|p| p.domain == Domain::Package) {
            return Err(not_authorized());
        }
        // an OAuth token is challenged for its code before the body is sent
        crate::otp::require_write_otp(state, &principal, headers).await
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
