//! API key secrets. A secret is 32 random bytes in lowercase hex, shown to its owner once. The
//! server keeps its first characters (to find candidates) and an HMAC-SHA256 of it under the
//! server secret, compared in constant time; a leaked database reveals no usable key.

use std::fmt;

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// How many characters of a secret are kept in clear to find it again.
pub const PREFIX_LEN: usize = 8;

/// The server secret that keys' HMACs are computed under.
#[derive(Clone)]
pub struct ServerSecret(hmac::Key);

impl ServerSecret {
    pub fn new(bytes: &[u8]) -> Self {
        ServerSecret(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// 32 random bytes, hex encoded: what a new installation keeps as its secret.
    pub fn generate_text() -> String {
        random_hex()
    }
}

impl fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSecret(..)")
    }
}

/// A key's secret as the client sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct KeySecret(String);

impl KeySecret {
    pub fn generate() -> Self {
        KeySecret(random_hex())
    }

    /// A secret as received; anything can be tried, the lookup decides.
    pub fn from_client(text: &str) -> Self {
        KeySecret(text.trim().to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The characters stored in clear.
    pub fn prefix(&self) -> &str {
        self.0.get(..PREFIX_LEN).unwrap_or(&self.0)
    }

    pub fn hmac(&self, server: &ServerSecret) -> Vec<u8> {
        hmac::sign(&server.0, self.0.as_bytes()).as_ref().to_vec()
    }

    /// Constant-time comparison with a stored HMAC.
    pub fn matches(&self, server: &ServerSecret, stored: &[u8]) -> bool {
        hmac::verify(&server.0, self.0.as_bytes(), stored).is_ok()
    }
}

impl fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeySecret({}…)", self.prefix())
    }
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).expect("the system random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_verify_only_under_their_server_secret() {
        let server = ServerSecret::new(b"server secret");
        let a = KeySecret::generate();
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a, KeySecret::generate());
        assert_eq!(a.prefix().len(), PREFIX_LEN);
        let stored = a.hmac(&server);
        assert!(KeySecret::from_client(a.expose()).matches(&server, &stored));
        assert!(!KeySecret::generate().matches(&server, &stored));
        assert!(!a.matches(&ServerSecret::new(b"another"), &stored));
        assert!(!format!("{a:?}").contains(a.expose()));
    }
}
