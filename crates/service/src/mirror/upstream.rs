//! Requests to the upstream repository: conditional GETs with timeouts and a size limit, and
//! every way they can fail sorted into what the mirror answers.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_NONE_MATCH, USER_AGENT};

use super::MirrorError;

/// What the upstream answered.
#[derive(Debug)]
pub(crate) enum Answer {
    Body {
        bytes: Bytes,
        etag: Option<String>,
    },
    NotModified,
    /// 404, or the 403 a bucket answers for a key it does not hold.
    Missing,
}

/// Upstream requests at once: each may buffer a large body.
const CONCURRENT: usize = 32;

#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    client: reqwest::Client,
    base: String,
    permits: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Upstream {
    /// `timeout` bounds connecting and each wait for bytes; a whole request gets four times it.
    pub(crate) fn new(base: &str, timeout: Duration) -> Result<Self, MirrorError> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .read_timeout(timeout)
            .timeout(timeout * 4)
            .user_agent(concat!("hexyard/", env!("CARGO_PKG_VERSION"), " (mirror)"))
            .build()
            .map_err(|e| MirrorError::Internal(format!("setting up the upstream client: {e}")))?;
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENT));
        Ok(Upstream { client, base: base.trim_end_matches('/').to_owned(), permits })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// GETs `path`, with `If-None-Match: etag` when given; a body over `limit` bytes fails.
    pub(crate) async fn get(&self, path: &str, etag: Option<&str>, limit: usize) -> Result<Answer, MirrorError> {
        let _permit = self.permits.acquire().await.map_err(|e| MirrorError::Internal(e.to_string()))?;
        let url = self.url(path);
        let mut request = self.client.get(&url).header(USER_AGENT, concat!("hexyard/", env!("CARGO_PKG_VERSION")));
        if let Some(etag) = etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        let mut response = request.send().await.map_err(|e| failed(&url, &e))?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_MODIFIED => return Ok(Answer::NotModified),
            StatusCode::NOT_FOUND | StatusCode::FORBIDDEN => return Ok(Answer::Missing),
            status => return Err(MirrorError::Upstream(format!("{url} answered {status}"))),
        }
        if response.content_length().is_some_and(|len| len > limit as u64) {
            return Err(MirrorError::Upstream(format!("{url} is larger than {limit} bytes")));
        }
        let etag = response.headers().get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut body = BytesMut::new();
        // a body cut short of its Content-Length, or a connection reset, is an error here
        while let Some(chunk) = response.chunk().await.map_err(|e| failed(&url, &e))? {
            if body.len() + chunk.len() > limit {
                return Err(MirrorError::Upstream(format!("{url} is larger than {limit} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer::Body { bytes: body.freeze(), etag })
    }
}

fn failed(url: &str, e: &reqwest::Error) -> MirrorError {
    // reqwest's Display leaves out the cause ("error sending request"): name it
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = format!("{cause}: {s}");
        source = s.source();
    }
    if e.is_timeout() {
        MirrorError::Timeout(format!("{url}: {cause}"))
    } else {
        MirrorError::Upstream(format!("{url}: {cause}"))
    }
}
