//! The installs CSV (`installs/hex-1.x.csv`, which mix reads to offer a newer Hex) and its
//! detached signature: verified together with the upstream's key, served as a matching pair.

use std::sync::Arc;

use base64::Engine;

use super::{INSTALLS_CSV, INSTALLS_SIGNATURE, Kind, Mirror, MirrorError, Served};

impl Mirror {
    pub(super) fn verify_installs(&self, csv: &[u8], signature: &[u8]) -> Result<(), MirrorError> {
        let text: Vec<u8> = signature.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
        let signature = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| MirrorError::Upstream("the installs CSV signature is not base64".into()))?;
        if self.key.verify(csv, &signature) {
            Ok(())
        } else {
            Err(MirrorError::Upstream("the installs CSV signature does not verify".into()))
        }
    }

    /// The installs CSV's signature, always one that verifies the CSV served: when the two
    /// cached copies do not match (a replica replaced one), the pair is fetched again.
    pub(super) async fn installs_signature(self: &Arc<Self>) -> Result<Served, MirrorError> {
        let csv = Box::pin(self.resource(INSTALLS_CSV)).await?;
        let signature = self.resource_cached(INSTALLS_SIGNATURE, &Kind::InstallsSignature).await?;
        if let Some(signature) = signature
            && self.verify_installs(&csv.body, &signature.body).is_ok()
        {
            return Ok(signature.served(csv.stale));
        }
        if self.settings.offline {
            return Err(MirrorError::NotCached(INSTALLS_SIGNATURE.to_owned()));
        }
        let cached = self.resource_cached(INSTALLS_CSV, &Kind::Installs).await?;
        let csv = self.resource_from(INSTALLS_CSV, Kind::Installs, cached, true).await?;
        match self.resource_cached(INSTALLS_SIGNATURE, &Kind::InstallsSignature).await? {
            Some(signature) if self.verify_installs(&csv.body, &signature.body).is_ok() => Ok(signature.served(false)),
            _ => Err(MirrorError::Upstream("the installs CSV and its signature do not match".into())),
        }
    }
}
