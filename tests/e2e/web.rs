//! The web UI: every page passes the HTML and accessibility check (as nobody, as a member, as an
//! owner), every `html_url` of the API is a page, hostile metadata is shown as text, the
//! security headers, and a whole visit in headless Chromium — sign up, confirm, sign in, make
//! a key, turn on 2FA, publish with the real mix client, read the install snippet, search, see
//! a private package only after joining its organization — with full-page screenshots of the
//! key pages saved for a reviewer.

use std::path::PathBuf;

use serde_json::json;

use crate::a11y;
use crate::chrome::Chrome;
use crate::oauth::{Browser, user_with_password};
use crate::support::*;

fn send(server: &Server, method: &str, path: &str, key: &str, body: serde_json::Value) -> Response {
    request(
        method,
        &server.api(path),
        &[("authorization", key), ("content-type", "application/json")],
        Some(body.to_string().as_bytes()),
    )
}

/// A registry with a little of everything: public packages with dependencies (here and on
/// hex.pm), a pre-release, a retired version, docs, downloads, and an organization's package.
fn populated() -> (Server, String) {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    let base =
        tarball_with("base", "1.0.0", &[], |m| m.description = Some("<script>alert('x')</script> & more".into()));
    // the package's text is that of its latest publish
    assert_eq!(server.publish(&ann, &tarball("base", "1.1.0-rc.1", &[]), false).status, 201);
    assert_eq!(server.publish(&ann, &base, false).status, 201);
    let deps = [("base", "~> 1.0", None), ("jason", "~> 1.4", Some("hexpm"))];
    assert_eq!(server.publish(&ann, &tarball("app_kit", "0.3.0", &deps), false).status, 201);
    assert_eq!(server.publish(&ann, &tarball("app_kit", "0.4.0", &deps), false).status, 201);
    let retire = json!({"reason": "security", "message": "CVE-0000: upgrade to 0.4"});
    assert_eq!(send(&server, "POST", "/packages/app_kit/releases/0.3.0/retire", &ann, retire).status, 204);
    let docs = crate::docs::docs_of(&[hexyard_tarball::testing::file(b"index.html", b"<h1>docs</h1>")]);
    assert_eq!(crate::docs::upload(&server, &ann, "/packages/base/releases/1.0.0/docs", &docs).status, 201);
    assert_eq!(get(&format!("{}/repo/tarballs/base-1.0.0.tar", server.url), &[]).status, 200);
    server.admin(&["org", "create", "acme", "--owner", "ann"]);
    let private = request(
        "POST",
        &server.api("/repos/acme/publish"),
        &[("authorization", &ann)],
        Some(&tarball("vault", "2.0.0", &[])),
    );
    assert_eq!(private.status, 201, "{}", private.text());
    user_with_password(&server, "ann_web", "ann's web password");
    let added = send(&server, "POST", "/orgs/acme/members", &ann, json!({"name": "ann_web", "role": "admin"}));
    assert_eq!(added.status, 200, "{}", added.text());
    (server, ann)
}

#[test]
fn every_page_passes_the_check_and_every_html_url_is_a_page() {
    let (server, ann) = populated();
    let url = |path: &str| format!("{}{path}", server.url);
    let anonymous = [
        "/",
        "/packages",
        "/packages?search=base",
        "/packages?search=nothing_matches_this",
        "/packages?sort=total_downloads&page=2",
        "/packages/base",
        "/packages/base/1.1.0-rc.1",
        "/packages/app_kit",
        "/packages/app_kit/0.3.0",
        "/users/ann",
        "/login",
        "/signup",
        "/password/reset",
    ];
    let mut nobody = Browser::new();
    for path in anonymous {
        let page = nobody.get(&url(path));
        assert_eq!(page.status, 200, "{path}: {}", page.text());
        a11y::check(&page.text(), path);
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline") && !csp.contains("script-src"),
            "{csp}"
        );
    }
    // a private package does not exist for nobody, and the 404 is a page for browsers only
    for path in ["/packages/acme/vault", "/orgs/acme", "/packages/nothing", "/no/such/page"] {
        let page = get(&url(path), &[("accept", "text/html")]);
        assert_eq!(page.status, if path == "/orgs/acme" { 303 } else { 404 }, "{path}");
        if page.status == 404 {
            assert!(page.header("content-type").unwrap().starts_with("text/html"), "{path}");
            a11y::check(&page.text(), path);
        }
    }
    let api_404 = get(&server.api("/nothing"), &[("accept", "text/html")]);
    assert_eq!((api_404.status, api_404.json()["status"].clone()), (404, json!(404)), "the API keeps Hex's 404");

    // hostile metadata is text
    let base = nobody.get(&url("/packages/base")).text();
    assert!(base.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#38; more"), "{base}");
    assert!(!base.contains("<script>"));

    // the package page: snippets, versions, retirement, dependencies, docs, downloads
    let kit = nobody.get(&url("/packages/app_kit")).text();
    assert!(kit.contains("{:app_kit, &#34;~&#62; 0.4.0&#34;, repo: &#34;hexyard&#34;}"), "{kit}");
    assert!(kit.contains("mix hex.repo add hexyard http://127.0.0.1:"), "{kit}");
    assert!(kit.contains("CVE-0000: upgrade to 0.4") && kit.contains("retired"), "{kit}");
    assert!(kit.contains("href=\"/packages/base\"") && kit.contains("href=\"https://hex.pm/packages/jason\""), "{kit}");
    assert_eq!(server.downloads_reach("/packages/base/releases/1.0.0", "", 1), 1);
    let base_page = nobody.get(&url("/packages/base")).text();
    assert!(base_page.contains("href=\"/docs/base/1.0.0/\"") && base_page.contains("pre-release"), "{base_page}");
    // today's download is counted; the chart draws the days before today
    assert!(base_page.contains("<dt>All time</dt><dd>1</dd>"), "{base_page}");
    assert!(base_page.contains("No downloads in the last 90 days."), "{base_page}");

    // every html_url and docs_html_url the API hands out is a page
    let mut urls = Vec::new();
    for name in ["base", "app_kit"] {
        let package = get(&server.api(&format!("/packages/{name}")), &[]).json();
        urls.push(package["html_url"].as_str().unwrap().to_owned());
        urls.extend(package["docs_html_url"].as_str().map(str::to_owned));
        for release in package["releases"].as_array().unwrap() {
            let release = get(release["url"].as_str().unwrap(), &[]).json();
            urls.push(release["html_url"].as_str().unwrap().to_owned());
            urls.extend(release["docs_html_url"].as_str().map(str::to_owned));
        }
    }
    let private = get(&server.api("/repos/acme/packages/vault"), &[("authorization", &ann)]).json();
    let private_url = private["html_url"].as_str().unwrap().to_owned();
    assert!(urls.len() >= 7, "{urls:?}");
    for u in &urls {
        assert_eq!(get(u, &[]).status, 200, "{u}");
    }

    // a member sees the organization's package, page and dashboard; the owner the audit log
    let mut member = Browser::new();
    member.sign_in(&server, "ann_web", "ann's web password");
    assert_eq!(member.get(&private_url).status, 200, "{private_url}");
    let member_pages = [
        "/",
        "/packages",
        "/packages/acme/vault",
        "/packages/acme/vault/2.0.0",
        "/orgs/acme",
        "/orgs/acme/keys",
        "/dashboard",
        "/dashboard/keys",
        "/dashboard/audit",
        "/account/tfa",
        "/oauth/device",
    ];
    for path in member_pages {
        let page = member.get(&url(path));
        assert_eq!(page.status, 200, "{path}: {}", page.text());
        a11y::check(&page.text(), path);
    }
    let listing = member.get(&url("/packages")).text();
    assert!(listing.contains("href=\"/packages/acme/vault\"") && listing.contains("<span class=\"tag\">acme</span>"));
    assert!(!nobody.get(&url("/packages")).text().contains("vault"), "private packages only for members");
    assert!(member.get(&url("/packages/acme/vault")).text().contains("Audit log"), "an owner's organization member");
    assert!(!nobody.get(&url("/packages/base")).text().contains("Audit log"));

    // the password changes on the dashboard with the current one; other sessions end, this one stays
    let mut elsewhere = Browser::new();
    elsewhere.sign_in(&server, "ann_web", "ann's web password");
    let csrf = crate::oauth::hidden(&member.get(&url("/dashboard")).text(), "csrf");
    let change = |member: &mut Browser, current: &str, new: &str, again: &str| {
        let form = [("csrf", csrf.as_str()), ("current", current), ("password", new), ("confirmation", again)];
        member.post(&url("/dashboard/password"), &form)
    };
    assert_eq!(change(&mut member, "wrong password", "a new password", "a new password").status, 422);
    assert_eq!(change(&mut member, "ann's web password", "a new password", "another one").status, 422);
    assert_eq!(change(&mut member, "ann's web password", "short", "short").status, 422);
    assert_eq!(change(&mut member, "ann's web password", "a new password", "a new password").status, 200);
    assert_eq!(member.get(&url("/dashboard")).status, 200, "this session stays");
    assert_eq!(elsewhere.get(&url("/dashboard")).status, 303, "the other session ended");
    Browser::new().sign_in(&server, "ann_web", "a new password");

    // an admin manages the organization through its forms; a refused form says why
    server.user_with_key("zoe_web", &[]);
    let csrf = crate::oauth::hidden(&member.get(&url("/orgs/acme")).text(), "csrf");
    let post = |member: &mut Browser, path: &str, form: &[(&str, &str)]| {
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        member.post(&url(path), &fields)
    };
    let bad_role = post(&mut member, "/orgs/acme/members", &[("username", "zoe_web"), ("role", "owner")]);
    assert_eq!(bad_role.status, 422);
    assert!(bad_role.text().contains("href=\"/orgs/acme\""), "a way back");
    let added = post(&mut member, "/orgs/acme/members", &[("username", "zoe_web"), ("role", "write")]);
    assert_eq!((added.status, added.header("location")), (303, Some("/orgs/acme")));
    // (a member's row has a form for that member; the audit log keeps the name either way)
    let row = "name=\"username\" value=\"zoe_web\"";
    assert!(member.get(&url("/orgs/acme")).text().contains(row));
    assert_eq!(post(&mut member, "/orgs/acme/seats", &[("seats", "many")]).status, 422);
    assert_eq!(post(&mut member, "/orgs/acme/seats", &[("seats", "12")]).status, 303);
    let org = get(&server.api("/orgs/acme"), &[("authorization", &ann)]).json();
    assert_eq!(org["seats"], 12, "{org}");
    let made = post(&mut member, "/orgs/acme/keys", &[("name", "web-ci"), ("permission", "repository:acme")]);
    assert_eq!(made.status, 201, "{}", made.text());
    let revoked = post(&mut member, "/orgs/acme/keys/revoke", &[("name", "web-ci")]);
    assert_eq!((revoked.status, revoked.header("location")), (303, Some("/orgs/acme/keys")));
    assert_eq!(post(&mut member, "/orgs/acme/keys/revoke", &[("name", "web-ci")]).status, 404, "gone");
    let removed = post(&mut member, "/orgs/acme/members/remove", &[("username", "zoe_web")]);
    assert_eq!((removed.status, removed.header("location")), (303, Some("/orgs/acme")));
    assert!(!member.get(&url("/orgs/acme")).text().contains(row));
}

/// Where a test's screenshots go: `target/tmp/screenshots/TEST/`.
fn screenshot_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots").join(test);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Chrome {
    /// The page's HTML as the browser has it (WebDriver serializes the DOM without its doctype).
    fn html(&self) -> String {
        let source = self.run(self.client.source()).unwrap();
        if source.starts_with("<!") { source } else { format!("<!doctype html>{source}") }
    }

    fn current_path(&self) -> String {
        let url = self.run(self.client.current_url()).unwrap();
        format!("{}{}", url.path(), url.query().map(|q| format!("?{q}")).unwrap_or_default())
    }

    /// A screenshot of the whole page at a width, saved as `NAME.png`.
    fn full_page_screenshot(&self, dir: &std::path::Path, name: &str, width: u32) {
        self.run(async {
            self.client.set_window_size(width, 900).await?;
            let height = self.client.execute("return document.documentElement.scrollHeight", vec![]).await?;
            let height = height.as_u64().unwrap_or(900).clamp(300, 8000) as u32;
            self.client.set_window_size(width, height + 140).await?;
            let png = self.client.screenshot().await?;
            assert!(png.starts_with(b"\x89PNG") && png.len() > 2000, "a real screenshot");
            std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
            Ok::<_, fantoccini::error::CmdError>(())
        })
        .unwrap();
    }

    /// Follows a link or presses a button, and waits for the next page.
    fn click(&self, css: &str) {
        self.run(async {
            self.client.execute("window.hexyardOldPage = true", vec![]).await?;
            self.client.find(fantoccini::Locator::Css(css)).await?.click().await?;
            self.wait_for_new_page().await
        })
        .unwrap();
    }
}

#[test]
fn a_visitor_signs_up_publishes_with_mix_and_browses_in_chromium() {
    let server = Server::start("hexyard");
    let shots = screenshot_dir("a_visitor_signs_up_publishes_with_mix_and_browses_in_chromium");
    let chrome = Chrome::start();
    let url = |path: &str| format!("{}{path}", server.url);

    // a fresh server's home page says how to publish
    chrome.goto(&url("/"));
    assert!(chrome.text_of("h2#start").contains("Nothing published yet"));
    assert!(chrome.html().contains("mix hex.repo add hexyard"));
    chrome.full_page_screenshot(&shots, "home-empty", 1280);

    // sign up, confirm the mail, sign in
    chrome.click("a[href='/signup']");
    chrome.submit(&[("username", "zoe"), ("email", "zoe@example.com"), ("password", "zoe's password")]);
    assert_eq!(chrome.text_of("h1"), "Confirm your email");
    let mail = crate::mail::mail_with(&server.data_dir().join("mail"), "/email/verify");
    chrome.goto(&crate::mail::link(&mail, &server, "/email/verify"));
    assert_eq!(chrome.text_of("h1"), "Email confirmed");
    chrome.goto(&url("/login"));
    chrome.submit(&[("username", "zoe"), ("password", "zoe's password")]);
    assert_eq!(chrome.current_path(), "/", "{}", chrome.html());
    assert_eq!(chrome.text_of(".account a[href='/dashboard']"), "zoe");

    // a key from the dashboard, shown once
    chrome.goto(&url("/dashboard/keys"));
    chrome.submit(&[("name", "laptop")]);
    let key = chrome.text_of("#key-secret");
    assert!(key.len() == 64 && key.chars().all(|c| c.is_ascii_hexdigit()), "{key}");

    // 2FA on, with a code from the key the page shows
    chrome.goto(&url("/account/tfa"));
    let secret = hexyard_totp::from_base32(&chrome.text_of("#secret")).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    chrome.submit(&[("code", &hexyard_totp::code_at(&secret, now).unwrap())]);
    assert!(chrome.text_of("#recovery-codes").split_whitespace().count() >= 10);

    // publish with the real mix client and the key; its printed link is this server's page
    let mix = crate::support::Mix::new();
    let project = mix.project("greeter", crate::mix::GREETER);
    let env = [("HEX_API_URL", server.api("")), ("HEX_API_KEY", key.clone())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = crate::support::text(&mix.run(&project, &["hex.publish", "package", "--yes"], &env));
    let printed = out.split("Package published to ").nth(1).unwrap_or_else(|| panic!("{out}"));
    let printed = printed.split_whitespace().next().unwrap().trim_end_matches('.').to_owned();
    assert_eq!(printed, url("/packages/greeter/1.0.0"), "{out}");
    assert_eq!(get(&server.api("/packages/greeter"), &[]).json()["latest_version"], "1.0.0");
    chrome.goto(&printed);
    assert!(chrome.text_of("h1").starts_with("greeter"));
    assert_eq!(chrome.text_of("#mix-dep"), "{:greeter, \"~> 1.0\", repo: \"hexyard\"}");
    assert!(
        chrome
            .text_of("#mix-repo")
            .starts_with(&format!("mix hex.repo add hexyard {}/repo --fetch-public-key SHA256:", server.url))
    );
    a11y::check(&chrome.html(), "the package page in Chromium");
    chrome.full_page_screenshot(&shots, "package", 1280);
    chrome.full_page_screenshot(&shots, "package-phone", 390);

    // search from the header's box
    chrome.goto(&url("/"));
    chrome.submit(&[("search", "greet")]);
    assert_eq!(chrome.current_path(), "/packages?search=greet");
    assert_eq!(chrome.text_of("[role=status]"), "1 package matches “greet”");
    assert_eq!(chrome.text_of(".packages a.name"), "greeter");
    a11y::check(&chrome.html(), "the search results in Chromium");
    chrome.full_page_screenshot(&shots, "search", 1280);
    chrome.goto(&url("/"));
    chrome.full_page_screenshot(&shots, "home", 1280);
    chrome.goto(&url("/dashboard"));
    assert!(chrome.html().contains("confirmed"));
    chrome.full_page_screenshot(&shots, "dashboard", 1280);

    // a private package is seen only after joining its organization
    let ann = server.user_with_key("ann", &[]);
    server.admin(&["org", "create", "acme", "--owner", "ann"]);
    let vault = request(
        "POST",
        &server.api("/repos/acme/publish"),
        &[("authorization", &ann)],
        Some(&tarball("vault", "2.0.0", &[])),
    );
    assert_eq!(vault.status, 201);
    chrome.goto(&url("/packages?search=vault"));
    assert_eq!(chrome.text_of("[role=status]"), "0 packages match “vault”");
    chrome.goto(&url("/packages/acme/vault"));
    assert_eq!(chrome.text_of("h1"), "Page not found");
    let joined = send(&server, "POST", "/orgs/acme/members", &ann, json!({"name": "zoe", "role": "read"}));
    assert_eq!(joined.status, 200, "{}", joined.text());
    chrome.goto(&url("/packages?search=vault"));
    assert_eq!(chrome.text_of("[role=status]"), "1 package matches “vault”");
    chrome.click(".packages a.name");
    assert_eq!(chrome.current_path(), "/packages/acme/vault");
    assert!(chrome.text_of("#mix-repo").contains("--auth-key"));
    chrome.goto(&url("/orgs/acme"));
    assert!(chrome.html().contains("href=\"/users/ann\""));
    for name in ["home-empty", "home", "search", "package", "package-phone", "dashboard"] {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}");
    }
    eprintln!("screenshots: {}", shots.display());
}
