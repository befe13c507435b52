//! Who is calling, for handlers: the caller authenticated once per request (by the rate
//! limiter, or here), with the request's TOTP code attached.

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use hexyard_service::{Origin, Principal, Services, authz, principal};

use crate::error::ApiError;

/// The caller as the rate limiter already authenticated them, kept in the request.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Option<Principal>);

/// The caller, if they sent credentials; invalid credentials are refused here.
#[derive(Debug, Clone)]
pub struct MaybePrincipal(pub Option<Principal>);

impl MaybePrincipal {
    /// The caller, or 401 when there is none.
    pub fn required(self) -> Result<Principal, ApiError> {
        authz::required(self.0.as_ref()).cloned().map_err(ApiError::from)
    }

    pub fn as_ref(&self) -> Option<&Principal> {
        self.0.as_ref()
    }
}

/// Where the request came from: the connection's own address (forwarding headers are not
/// trusted: anyone can send them), and the User-Agent.
pub fn origin_of(peer: Option<std::net::SocketAddr>, headers: &HeaderMap) -> Origin {
    Origin {
        ip: peer.map(|a| a.ip().to_string()),
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
    }
}

/// The origin of a request.
pub fn origin(req: &HttpRequest) -> Origin {
    origin_of(req.peer_addr(), req.headers())
}

/// The `Authorization` header as text; one that is not text is refused.
pub fn authorization(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    match headers.get(header::AUTHORIZATION) {
        None => Ok(None),
        Some(v) => v.to_str().map(Some).map_err(|_| ApiError::unauthorized("invalid authentication information")),
    }
}

/// Authenticates a request's credentials.
pub async fn authenticate(
    services: &Services,
    headers: &HeaderMap,
    origin: &Origin,
) -> Result<Option<Principal>, ApiError> {
    Ok(principal::authenticate(services, authorization(headers)?, origin).await?)
}

fn with_otp(principal: Option<Principal>, otp: Option<String>) -> Option<Principal> {
    principal.map(|p| Principal { otp, ..p })
}

impl FromRequest for MaybePrincipal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let otp = req.headers().get("x-hex-otp").and_then(|v| v.to_str().ok()).map(str::to_owned);
        if let Some(Authenticated(known)) = req.extensions().get::<Authenticated>() {
            let known = with_otp(known.clone(), otp);
            return Box::pin(async move { Ok(MaybePrincipal(known)) });
        }
        let authorization = authorization(req.headers()).map(|a| a.map(str::to_owned));
        let services = req.app_data::<web::Data<Services>>().cloned();
        let origin = origin(req);
        Box::pin(async move {
            let services = services.ok_or_else(|| ApiError::internal("no application state"))?;
            let principal = principal::authenticate(&services, authorization?.as_deref(), &origin).await?;
            Ok(MaybePrincipal(with_otp(principal, otp)))
        })
    }
}
