//! Headless Chromium (Debian's `chromium`), driven over WebDriver by Debian's `chromedriver`
//! through the `fantoccini` client, for what only a real browser shows: scripts, origins,
//! cookies, navigation.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

/// A browser session with its own chromedriver and profile, ended on drop.
pub struct Chrome {
    pub client: Client,
    pub runtime: tokio::runtime::Runtime,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Chrome {
    pub fn start() -> Chrome {
        let chromedriver = crate::support::which("chromedriver")
            .expect("chromedriver is not installed (apt-get install chromium chromium-driver; scripts/test does)");
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        // the flags a root user on a machine without a network needs
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
        });
        let serde_json::Value::Object(capabilities) = capabilities else { unreachable!() };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = runtime.block_on(async {
            loop {
                let connector = hyper_util::client::legacy::connect::HttpConnector::new();
                match ClientBuilder::new(connector).capabilities(capabilities.clone()).connect(&url).await {
                    Ok(client) => break client,
                    Err(e) if Instant::now() > deadline => panic!("no WebDriver session: {e}"),
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        Chrome { client, runtime, driver, _profile: profile }
    }

    /// Runs a future of the client to its end.
    pub fn run<T>(&self, future: impl Future<Output = T>) -> T {
        self.runtime.block_on(future)
    }

    pub fn goto(&self, url: &str) {
        self.run(self.client.goto(url)).unwrap();
    }

    /// Fills the named fields of the page's form that has them, submits it, and waits for the
    /// next page to load.
    pub fn submit(&self, fields: &[(&str, &str)]) {
        self.run(async {
            let form = self
                .client
                .form(fantoccini::Locator::XPath(&format!("//form[.//*[@name=\"{}\"]]", fields[0].0)))
                .await?;
            for (name, value) in fields {
                form.set_by_name(name, value).await?;
            }
            self.client.execute("window.hexyardOldPage = true", vec![]).await?;
            form.submit().await?;
            self.wait_for_new_page().await
        })
        .unwrap();
    }

    /// Waits until the document is a new one (the old one was marked) and loaded.
    pub async fn wait_for_new_page(&self) -> Result<(), fantoccini::error::CmdError> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let probe = "return window.hexyardOldPage === undefined && document.readyState === 'complete'";
        while Instant::now() < deadline {
            if self.client.execute(probe, vec![]).await.ok() == Some(serde_json::Value::Bool(true)) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no new page after 20 s")
    }

    /// The text of the first element the CSS selector finds, once it has any.
    pub fn text_of(&self, selector: &str) -> String {
        self.run(async {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let text = self.client.find(fantoccini::Locator::Css(selector)).await?.text().await?;
                if !text.is_empty() || Instant::now() > deadline {
                    return Ok::<_, fantoccini::error::CmdError>(text);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .unwrap()
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let client = self.client.clone();
        let _ = self.runtime.block_on(client.close());
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
