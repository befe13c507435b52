//! The people-facing pages of hexyard: the home page, package lists and search, package and
//! release pages, users and organizations, the dashboard (profile, password, keys, sessions,
//! organizations, audit log), sign-up, sign-in and 2FA, the device verification page of the
//! OAuth device flow, the pages behind the links of mails, and the hosted docs site.
//! Server-rendered from askama templates compiled into the binary, no JavaScript, one embedded
//! stylesheet; each handler calls the use cases of `hexyard_service` and renders a template.

use actix_web::http::header;
use actix_web::web::{get, post, resource};
use actix_web::{HttpRequest, HttpResponse, web};

mod auth;
mod browse;
mod dashboard;
pub mod docs;
mod email;
mod form;
mod html;
mod orgs;
mod package;
pub mod session;
mod tfa;

pub use html::not_found_page;

/// Registers every page.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/").route(get().to(browse::home)))
        .service(resource("/static/{file}").route(get().to(html::stylesheet)))
        .service(resource("/packages").route(get().to(browse::list)))
        .service(resource("/packages/{name}").route(get().to(package::package)))
        .service(resource("/packages/{first}/{second}").route(get().to(package::package_or_release)))
        .service(resource("/packages/{org}/{name}/{version}").route(get().to(package::private_release)))
        .service(resource("/users/{name}").route(get().to(browse::user)))
        .service(resource("/orgs/{name}").route(get().to(orgs::show)))
        .service(resource("/orgs/{name}/members").route(post().to(orgs::set_member)))
        .service(resource("/orgs/{name}/members/remove").route(post().to(orgs::remove_member)))
        .service(resource("/orgs/{name}/seats").route(post().to(orgs::set_seats)))
        .service(resource("/orgs/{name}/keys").route(get().to(orgs::org_keys)).route(post().to(orgs::create_org_key)))
        .service(resource("/orgs/{name}/keys/revoke").route(post().to(orgs::revoke_org_key)))
        .service(resource("/dashboard").route(get().to(dashboard::overview)))
        .service(resource("/dashboard/password").route(post().to(dashboard::change_password)))
        .service(
            resource("/dashboard/keys").route(get().to(dashboard::keys_page)).route(post().to(dashboard::create_key)),
        )
        .service(resource("/dashboard/audit").route(get().to(dashboard::audit_log)))
        .service(resource("/signup").route(get().to(auth::signup_form)).route(post().to(auth::signup)))
        .service(resource("/login").route(get().to(auth::login_form)).route(post().to(auth::login)))
        .service(resource("/logout").route(post().to(auth::logout)))
        .service(resource("/oauth/device").route(get().to(auth::device_form)).route(post().to(auth::device_decide)))
        .service(resource("/email/verify").route(get().to(email::verify_email)))
        .service(resource("/password/reset").route(get().to(auth::reset_form)).route(post().to(auth::reset)))
        .service(
            resource("/password/new").route(get().to(email::new_password_form)).route(post().to(email::new_password)),
        )
        .service(resource("/login/tfa").route(get().to(tfa::second_factor_form)).route(post().to(tfa::second_factor)))
        .service(resource("/account/tfa").route(get().to(tfa::settings)))
        .service(resource("/account/tfa/enable").route(post().to(tfa::enable)))
        .service(resource("/account/tfa/disable").route(post().to(tfa::disable)))
        .service(resource("/account/orgs").route(post().to(orgs::create)))
        .service(resource("/account/keys/revoke").route(post().to(dashboard::revoke_key)))
        .service(resource("/account/sessions/revoke").route(post().to(dashboard::revoke_session)))
        .service(resource("/docs/{name}").route(get().to(docs::root)))
        .service(resource("/docs/{name}/{rest:.*}").route(get().to(docs::public)))
        .service(resource("/repos/{org}/docs/{name}").route(get().to(docs::root)))
        .service(resource("/repos/{org}/docs/{name}/{rest:.*}").route(get().to(docs::private)));
}

pub(crate) fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, to)).finish()
}

/// Where a browser request came from: the connection's address and the User-Agent.
pub(crate) fn origin(req: &HttpRequest) -> hexyard_service::Origin {
    hexyard_service::Origin {
        ip: req.peer_addr().map(|a| a.ip().to_string()),
        user_agent: req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
    }
}

/// Percent-encodes a query value.
pub(crate) fn form_urlencoded(text: &str) -> impl Iterator<Item = char> + '_ {
    text.bytes().flat_map(|b| {
        let keep = b.is_ascii_alphanumeric() || b"-_.~".contains(&b);
        let s = if keep { (b as char).to_string() } else { format!("%{b:02X}") };
        s.chars().collect::<Vec<_>>()
    })
}
