//! The second factor on API writes: an OAuth token may write only with `x-hex-otp`, a current
//! TOTP code of its user. API keys never need one (rebar3 and the hexpm crate cannot answer a
//! challenge). The challenge is a 401 whose `www-authenticate` mix recognises byte for byte.

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use hexyard_storage::tfa;
use hexyard_totp::CodeUse;

use crate::error::ApiError;
use crate::principal::Principal;
use crate::state::AppState;

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn challenge(error: &str, message: &str) -> ApiError {
    ApiError::unauthorized(message).with_header("www-authenticate", format!("Bearer realm=\"hex\", error=\"{error}\""))
}

/// Checks a TOTP code for a user: valid now, and not a replay by another holder. Records the use.
/// More than 5 wrong codes for a user in 10 minutes answer 429, as hex.pm does.
pub async fn check_code(state: &AppState, user_id: i64, code: &str, holder: &str) -> Result<bool, ApiError> {
    let Some(row) = tfa::get(&state.db, user_id).await?.filter(|t| t.enabled) else { return Ok(false) };
    // past the limit no code is even looked at, so guessing gains nothing
    let bucket = format!("totp-failures:{user_id}");
    if crate::rate_limit::exhausted(state, &bucket, 5, 10 * 60).await? {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed two-factor authentication attempts. Please try again later.",
        ));
    }
    let ok = check_enabled(state, user_id, &row, code, holder).await?;
    if !ok {
        crate::rate_limit::attempt(state, &bucket, 5, 10 * 60).await?;
    }
    Ok(ok)
}

async fn check_enabled(
    state: &AppState,
    user_id: i64,
    row: &tfa::Tfa,
    code: &str,
    holder: &str,
) -> Result<bool, ApiError> {
    let secret = state.sealer.open(&row.secret_sealed).map_err(ApiError::internal)?;
    let Some(step) = hexyard_totp::verify(&secret, code, now()) else { return Ok(false) };
    let last = row.last_step.zip(row.last_holder.as_deref()).map(|(s, h)| (s as u64, h));
    match hexyard_totp::classify(step, last, holder) {
        CodeUse::SameHolder => Ok(true),
        CodeUse::Replay => Ok(false),
        // a concurrent use of the same or a newer step wins the race; this one is refused
        CodeUse::Fresh => Ok(tfa::record_use(&state.db, user_id, step as i64, holder).await?),
    }
}

/// What a write by `principal` needs besides its permissions.
pub async fn require_write_otp(state: &AppState, principal: &Principal, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token_id) = principal.oauth_token else { return Ok(()) };
    let enabled = tfa::get(&state.db, principal.user()?.id).await?.is_some_and(|t| t.enabled);
    if !enabled {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Two-factor authentication must be enabled for API write access",
        ));
    }
    let Some(code) = headers.get("x-hex-otp").and_then(|v| v.to_str().ok()) else {
        return Err(challenge(
            "totp_required",
            "Two-factor authentication required. Include X-Hex-OTP header with your TOTP code.",
        ));
    };
    if check_code(state, principal.user()?.id, code, &format!("oauth:{token_id}")).await? {
        Ok(())
    } else {
        Err(challenge("invalid_totp", "Invalid two-factor authentication code"))
    }
}
