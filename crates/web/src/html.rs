//! Rendering pages: askama templates (compiled into the binary, every value escaped), the frame
//! every page shares (title, the signed-in user, the header's search box), the headers every
//! page carries, and the one stylesheet.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::session::Viewer;

/// The policy of every page: no scripts at all, styles and images from this origin only (the
/// QR code and the downloads chart are inline SVG), forms posted here only, never framed.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
                       frame-ancestors 'none'; base-uri 'none'";

/// The stylesheet, embedded; its path carries a digest of its text so it may be cached for long.
pub const STYLESHEET: &str = include_str!("../static/hexyard.css");

/// The stylesheet's path.
pub fn stylesheet_path() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        // FNV-1a: a cache-busting tag, not a security measure
        let digest =
            STYLESHEET.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        format!("/static/hexyard-{:08x}.css", digest >> 32)
    })
}

/// `GET /static/hexyard-DIGEST.css`.
pub async fn stylesheet(req: HttpRequest) -> HttpResponse {
    if req.path() != stylesheet_path() {
        return not_found_page(&req);
    }
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(STYLESHEET)
}

/// What every page shows around its content.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    pub title: String,
    /// The signed-in user's name.
    pub user: Option<String>,
    /// The session's CSRF token (for the sign-out form).
    pub csrf: String,
    /// The text in the header's search box.
    pub search: String,
}

impl Frame {
    pub fn new(title: impl Into<String>, viewer: &Viewer) -> Frame {
        let (user, csrf) = match &viewer.0 {
            Some((session, user)) => (Some(user.username.clone()), session.csrf_token.clone()),
            None => (None, String::new()),
        };
        Frame { title: title.into(), user, csrf, search: String::new() }
    }

    /// A frame for a page shown to nobody in particular (sign-in, errors).
    pub fn anonymous(title: impl Into<String>) -> Frame {
        Frame { title: title.into(), ..Frame::default() }
    }

    pub fn stylesheet(&self) -> &'static str {
        stylesheet_path()
    }
}

/// A rendered template as a page with the given status.
pub fn render(status: StatusCode, template: &impl Template) -> HttpResponse {
    match template.render() {
        Ok(html) => secured(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(html)),
        Err(e) => {
            tracing::error!(error = %e, "a page could not be rendered");
            secured(
                HttpResponse::InternalServerError().content_type("text/plain; charset=utf-8").body("internal error"),
            )
        }
    }
}

/// Adds the headers every page carries.
pub fn secured(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A page of a title, a message and maybe a link onwards.
#[derive(Template)]
#[template(path = "message.html")]
pub struct Message {
    pub frame: Frame,
    pub text: String,
    pub error: bool,
    pub link: Option<(String, String)>,
}

/// A page that says one thing.
pub fn message(status: StatusCode, frame: Frame, text: impl Into<String>, link: Option<(&str, &str)>) -> HttpResponse {
    let link = link.map(|(href, label)| (href.to_owned(), label.to_owned()));
    render(status, &Message { frame, text: text.into(), error: !status.is_success(), link })
}

/// The friendly 404 of a path no page has.
pub fn not_found_page(_req: &HttpRequest) -> HttpResponse {
    message(
        StatusCode::NOT_FOUND,
        Frame::anonymous("Page not found"),
        "There is no page here. It may have moved, or it may be private to an organization you are not signed in to.",
        Some(("/packages", "Browse the packages")),
    )
}

/// A time as the pages show it: ISO 8601 in UTC, to the minute.
pub fn timestamp(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    let utc = t.checked_to_offset(time::UtcOffset::UTC).unwrap_or(t);
    utc.format(&format).unwrap_or_else(|_| utc.to_string())
}

/// A day as the pages show it.
pub fn date(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let utc = t.checked_to_offset(time::UtcOffset::UTC).unwrap_or(t);
    utc.format(&format).unwrap_or_else(|_| utc.to_string())
}

/// A count with thousands separated: 12,345.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Percent-encodes a query value.
pub fn encode(text: &str) -> String {
    crate::form_urlencoded(text).collect()
}

/// Whether a link may become an anchor: http(s) only, never `javascript:` or `data:`.
pub fn is_web_link(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")) && !url.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_links() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(-12_345), "-12,345");
        assert!(is_web_link("https://github.com/x") && is_web_link("HTTP://example.com"));
        for bad in ["javascript:alert(1)", "data:text/html,x", "//evil", "ftp://x", "https://a b"] {
            assert!(!is_web_link(bad), "{bad}");
        }
    }

    #[test]
    fn messages_escape_their_text() {
        let page = Message {
            frame: Frame::anonymous("<t>"),
            text: "<script>alert(1)</script>".into(),
            error: true,
            link: Some(("/x\"y".into(), "<b>".into())),
        };
        let html = page.render().unwrap();
        assert!(html.contains("&#60;script&#62;") && !html.contains("<script>"), "{html}");
        assert!(html.contains("&#60;t&#62;") && !html.contains("<b>") && html.contains("/x&#34;y"), "{html}");
    }
}

#[cfg(test)]
mod contrast {
    use super::STYLESHEET;

    /// The colour variables of one theme block of the stylesheet.
    fn theme(block: &str) -> std::collections::HashMap<String, (f64, f64, f64)> {
        block
            .split(';')
            .filter_map(|decl| {
                let (name, value) = decl.split_once(':')?;
                let hex = value.trim().strip_prefix('#')?;
                let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok().map(|c| f64::from(c) / 255.0);
                Some((name.trim().trim_start_matches("--").to_owned(), (channel(0)?, channel(2)?, channel(4)?)))
            })
            .collect()
    }

    /// WCAG 2 contrast ratio of two sRGB colours.
    fn ratio(a: (f64, f64, f64), b: (f64, f64, f64)) -> f64 {
        let lum = |(r, g, b): (f64, f64, f64)| {
            let lin = |c: f64| if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) };
            0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
        };
        let (x, y) = (lum(a) + 0.05, lum(b) + 0.05);
        x.max(y) / x.min(y)
    }

    #[test]
    fn text_colours_meet_wcag_aa_in_both_themes() {
        let dark_at = STYLESHEET.find("@media (prefers-color-scheme: dark)").unwrap();
        let light = &STYLESHEET[STYLESHEET.find(":root {").unwrap() + 7..];
        let dark = &STYLESHEET[dark_at + STYLESHEET[dark_at..].find(":root {").unwrap() + 7..];
        for (name, block) in [("light", light), ("dark", dark)] {
            let block = &block[..block.find('}').unwrap()];
            let c = theme(block);
            // (text, background) pairs the pages use
            let pairs = [
                ("ink", "bg"),
                ("ink", "panel"),
                ("muted", "bg"),
                ("muted", "panel"),
                ("accent", "bg"),
                ("accent", "panel"),
                ("accent", "accent-soft"),
                ("accent-ink", "accent"),
                ("bad", "panel"),
                ("bad", "accent-soft"),
                ("warn", "warn-soft"),
                ("ink", "code"),
            ];
            for (text, background) in pairs {
                let r = ratio(c[text], c[background]);
                assert!(r >= 4.5, "{name} theme: {text} on {background} has contrast {r:.2}, below 4.5");
            }
        }
    }
}
