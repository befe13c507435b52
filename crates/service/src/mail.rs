//! Outgoing mail with lettre: over SMTP when `HEXYARD_SMTP_URL` is set, otherwise written as
//! files under the data dir (and logged), so a fresh installation never loses a message.

use std::path::PathBuf;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, from: Mailbox },
    Files { dir: PathBuf, from: Mailbox },
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mailer::Smtp { from, .. } => write!(f, "Mailer::Smtp(from {from})"),
            Mailer::Files { dir, .. } => write!(f, "Mailer::Files({})", dir.display()),
        }
    }
}

/// A mail configuration that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("HEXYARD_SMTP_URL: {0}")]
    Url(String),
    #[error("HEXYARD_MAIL_FROM: {0}")]
    From(String),
    #[error("building a mail: {0}")]
    Build(String),
    #[error("sending a mail: {0}")]
    Send(String),
}

impl Mailer {
    /// `smtp://host:port`, `smtp://host?tls=required` (STARTTLS) or `smtps://host` (TLS); with
    /// no URL, files under `dir`.
    pub fn new(smtp_url: Option<&str>, from: &str, dir: PathBuf) -> Result<Mailer, MailError> {
        let from: Mailbox = from.parse().map_err(|e: lettre::address::AddressError| MailError::From(e.to_string()))?;
        match smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| MailError::Url(e.to_string()))?
                    .build();
                Ok(Mailer::Smtp { transport, from })
            }
            None => Ok(Mailer::Files { dir, from }),
        }
    }

    /// Sends a plain-text mail.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        let from = match self {
            Mailer::Smtp { from, .. } | Mailer::Files { from, .. } => from.clone(),
        };
        let to: Mailbox = to.parse().map_err(|e: lettre::address::AddressError| MailError::Build(e.to_string()))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| MailError::Build(e.to_string()))?;
        match self {
            Mailer::Smtp { transport, .. } => {
                transport.send(message).await.map_err(|e| MailError::Send(e.to_string()))?;
            }
            Mailer::Files { dir, .. } => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| MailError::Send(e.to_string()))?;
                let name = format!(
                    "{}-{}.eml",
                    time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
                    hexyard_auth::tokens::random_token(4)
                );
                let path = dir.join(name);
                tokio::fs::write(&path, message.formatted()).await.map_err(|e| MailError::Send(e.to_string()))?;
                tracing::info!(path = %path.display(), subject, "mail written to a file (no HEXYARD_SMTP_URL)");
            }
        }
        Ok(())
    }
}
