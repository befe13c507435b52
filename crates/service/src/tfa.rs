//! Two-factor authentication: TOTP codes checked against a user's sealed secret (with the
//! replay rule and a throttle on wrong codes), and the second factor on API writes: an OAuth
//! token may write only with a current code (`x-hex-otp`). API keys never need one (rebar3 and
//! the hexpm crate cannot answer a challenge).

use std::time::{SystemTime, UNIX_EPOCH};

use hexyard_storage::tfa;
use hexyard_totp::CodeUse;

use crate::{Error, Principal, Result, Services, throttle};

/// Seconds since the epoch, the clock of TOTP codes.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Wrong codes allowed per user in [`FAILURE_WINDOW`] seconds, as hex.pm allows.
const FAILURES_ALLOWED: i64 = 5;
const FAILURE_WINDOW: i64 = 10 * 60;

/// Whether a user has 2FA turned on.
pub async fn enabled(services: &Services, user_id: i64) -> Result<bool> {
    Ok(tfa::get(&services.db, user_id).await?.is_some_and(|t| t.enabled))
}

/// Checks a TOTP code for a user: valid now, and not a replay by another holder. Records the
/// use. Past 5 wrong codes in 10 minutes no code is even looked at (429), so guessing gains
/// nothing.
pub async fn check_code(services: &Services, user_id: i64, code: &str, holder: &str) -> Result<bool> {
    let Some(row) = tfa::get(&services.db, user_id).await?.filter(|t| t.enabled) else { return Ok(false) };
    let bucket = format!("totp-failures:{user_id}");
    if throttle::exhausted(services, &bucket, FAILURES_ALLOWED, FAILURE_WINDOW).await? {
        return Err(Error::TooManyRequests(
            "Too many failed two-factor authentication attempts. Please try again later.".into(),
        ));
    }
    let ok = check_enabled(services, user_id, &row, code, holder).await?;
    if !ok {
        throttle::attempt(services, &bucket, FAILURES_ALLOWED, FAILURE_WINDOW).await?;
    }
    Ok(ok)
}

async fn check_enabled(services: &Services, user_id: i64, row: &tfa::Tfa, code: &str, holder: &str) -> Result<bool> {
    let secret = open_secret(services, &row.secret_sealed)?;
    let Some(step) = hexyard_totp::verify(&secret, code, now()) else { return Ok(false) };
    let last = row.last_step.zip(row.last_holder.as_deref()).map(|(s, h)| (s as u64, h));
    match hexyard_totp::classify(step, last, holder) {
        CodeUse::SameHolder => Ok(true),
        CodeUse::Replay => Ok(false),
        // a concurrent use of the same or a newer step wins the race; this one is refused
        CodeUse::Fresh => Ok(tfa::record_use(&services.db, user_id, step as i64, holder).await?),
    }
}

pub(crate) fn open_secret(services: &Services, sealed: &[u8]) -> Result<Vec<u8>> {
    services.tfa_sealer.open(sealed).map_err(|e| Error::internal("unsealing a TOTP secret", e.to_string()))
}

fn challenge(error: &'static str, message: &str) -> Error {
    Error::TotpChallenge { error, message: message.to_owned() }
}

/// What a write by `principal` needs besides its grants: for an OAuth token, 2FA turned on and
/// a current code (`code`, from `x-hex-otp`).
pub async fn require_write_code(services: &Services, principal: &Principal, code: Option<&str>) -> Result<()> {
    let Some(token_id) = principal.oauth_token else { return Ok(()) };
    let user_id = principal.user()?.id;
    if !enabled(services, user_id).await? {
        return Err(Error::Forbidden("Two-factor authentication must be enabled for API write access".into()));
    }
    let Some(code) = code else {
        return Err(challenge(
            "totp_required",
            "Two-factor authentication required. Include X-Hex-OTP header with your TOTP code.",
        ));
    };
    if check_code(services, user_id, code, &format!("oauth:{token_id}")).await? {
        Ok(())
    } else {
        Err(challenge("invalid_totp", "Invalid two-factor authentication code"))
    }
}

/// A secret offered for enrolment: the `otpauth://` QR code as SVG, and the key to type in.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub qr_svg: String,
    pub base32: String,
}

/// Keeps a fresh secret awaiting its first code (an enabled 2FA is left alone).
pub async fn begin_enrolment(services: &Services, user_id: i64, username: &str) -> Result<Enrolment> {
    let secret = hexyard_totp::new_secret();
    tfa::set_pending(&services.db, user_id, &services.tfa_sealer.seal(&secret)).await?;
    let url = hexyard_totp::otpauth_url(&secret, username)
        .map_err(|e| Error::internal("making the otpauth URL", e.to_string()))?;
    Ok(Enrolment { qr_svg: hexyard_totp::qr_svg(&url), base32: hexyard_totp::base32(&secret) })
}

/// Turns 2FA on with the first code from the app; answers the ten recovery codes (shown once),
/// or `None` when the code is wrong or nothing awaits a code.
pub async fn enable(
    services: &Services,
    user_id: i64,
    session: &hexyard_storage::sessions::Session,
    code: &str,
    origin: &crate::Origin,
) -> Result<Option<Vec<String>>> {
    let Some(row) = tfa::get(&services.db, user_id).await?.filter(|t| !t.enabled) else { return Ok(None) };
    let secret = open_secret(services, &row.secret_sealed)?;
    let Some(step) = hexyard_totp::verify(&secret, code, now()) else { return Ok(None) };
    let codes = hexyard_totp::recovery_codes();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| hexyard_auth::tokens::sha256(c)).collect();
    let mut tx = services.db.begin().await?;
    tfa::enable(&mut tx, user_id, step as i64, &crate::sessions::holder(session), &hashes).await?;
    let actor = origin.actor(Some(user_id));
    hexyard_storage::audit::record(&mut *tx, &actor, "security.tfa.enable", serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(Some(codes))
}

/// Whether a user's 2FA is waiting for its first code.
pub async fn enrolment_pending(services: &Services, user_id: i64) -> Result<bool> {
    Ok(tfa::get(&services.db, user_id).await?.is_some_and(|t| !t.enabled))
}

/// Turns 2FA off with a current code; false when the code is wrong.
pub async fn disable(
    services: &Services,
    user_id: i64,
    session: &hexyard_storage::sessions::Session,
    code: &str,
    origin: &crate::Origin,
) -> Result<bool> {
    if !check_code(services, user_id, code, &crate::sessions::holder(session)).await? {
        return Ok(false);
    }
    let mut tx = services.db.begin().await?;
    tfa::disable(&mut tx, user_id).await?;
    let actor = origin.actor(Some(user_id));
    hexyard_storage::audit::record(&mut *tx, &actor, "security.tfa.disable", serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(true)
}
