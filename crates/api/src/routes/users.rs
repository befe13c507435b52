//! `/api/users`.

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use hexyard_service::Services;
use hexyard_service::users::{self, Registration};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::extract::UserPath;
use crate::media::{Body, Reply};
use crate::principal::{MaybePrincipal, origin};
use crate::views;

#[derive(Debug, Deserialize)]
pub struct CreateUser {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
    full_name: Option<String>,
}

/// `POST /api/users`: registers an account; its email starts unconfirmed.
#[tracing::instrument(skip_all)]
pub async fn create_user(
    services: web::Data<Services>,
    req: HttpRequest,
    Body(body): Body<CreateUser>,
) -> Result<Reply, ApiError> {
    let registration =
        Registration { username: body.username, email: body.email, password: body.password, full_name: body.full_name };
    let user = users::register(&services, &registration, &origin(&req)).await?;
    let location = services.api_url(&format!("/users/{}", user.username));
    Ok(Reply::created(views::user(&services, &user, &[], true)).header(header::LOCATION, location))
}

/// `GET /api/users/{name_or_email}`: by username, or by a public, confirmed email.
#[tracing::instrument(skip_all)]
pub async fn get_user(services: web::Data<Services>, path: UserPath) -> Result<Reply, ApiError> {
    let (user, owned) = users::profile(&services, &path.0).await?;
    Ok(Reply::ok(views::user(&services, &user, &owned, false)))
}

/// `GET /api/users/me`: with `organizations` always present, as mix requires.
#[tracing::instrument(skip_all)]
pub async fn get_me(services: web::Data<Services>, principal: MaybePrincipal) -> Result<Reply, ApiError> {
    let (user, owned, orgs) = users::me(&services, &principal.required()?).await?;
    let mut body = views::user(&services, &user, &owned, true);
    body["organizations"] = orgs.iter().map(|(org, role)| json!({"name": org.name, "role": role.as_str()})).collect();
    Ok(Reply::ok(body))
}

/// `POST /api/users/{name_or_email}/reset`: mails a link to a page that sets a new password.
#[tracing::instrument(skip_all)]
pub async fn reset_password(
    services: web::Data<Services>,
    req: HttpRequest,
    path: UserPath,
) -> Result<Reply, ApiError> {
    users::request_password_reset(&services, &path.0, &origin(&req)).await?;
    Ok(Reply::no_content())
}
