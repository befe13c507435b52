//! Server-rendered pages: plain HTML, every interpolated value escaped.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;

/// Escapes text for HTML bodies and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page around `body` (already escaped where needed).
pub fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · hexyard</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#222}}\
         input,button{{font:inherit;padding:.4rem .6rem}}label{{display:block;margin:.6rem 0}}\
         table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.3rem;text-align:left}}\
         .error{{color:#b00}}code{{font-size:1.2em}}</style></head>\
         <body><header><a href=\"/\">hexyard</a></header><main><h1>{title}</h1>{body}</main></body></html>\n",
        title = esc(title)
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("x-frame-options", "DENY"))
        .insert_header(("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"))
        .insert_header(("cache-control", "no-store"))
        .body(html)
}

/// A time as the pages show it: ISO 8601 in UTC, to the second.
pub fn timestamp(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    let utc = t.checked_to_offset(time::UtcOffset::UTC).unwrap_or(t);
    utc.format(&format).unwrap_or_else(|_| utc.to_string())
}

/// A hidden CSRF field.
pub fn csrf_field(token: &str) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(token))
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
