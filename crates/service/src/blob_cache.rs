//! Recently served tarballs, in memory. Keys are outer checksums, so an entry can never go
//! stale: a replaced release has a new checksum. The budget bounds memory; the oldest entries
//! go first.

use std::collections::{HashMap, VecDeque};
use std::sync::RwLock;

use bytes::Bytes;

/// A byte-bounded cache of blobs by checksum.
#[derive(Debug)]
pub struct BlobCache {
    budget: usize,
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<Vec<u8>, Bytes>,
    order: VecDeque<Vec<u8>>,
    size: usize,
}

impl BlobCache {
    pub fn new(budget: usize) -> Self {
        BlobCache { budget, inner: RwLock::default() }
    }

    pub fn get(&self, checksum: &[u8]) -> Option<Bytes> {
        self.inner.read().expect("cache lock").entries.get(checksum).cloned()
    }

    /// Keeps `bytes`, evicting the oldest entries to stay within the budget. A blob larger
    /// than the whole budget is not kept.
    pub fn insert(&self, checksum: &[u8], bytes: Bytes) {
        if bytes.len() > self.budget {
            return;
        }
        let mut inner = self.inner.write().expect("cache lock");
        if inner.entries.contains_key(checksum) {
            return;
        }
        while inner.size + bytes.len() > self.budget {
            let Some(oldest) = inner.order.pop_front() else { break };
            if let Some(evicted) = inner.entries.remove(&oldest) {
                inner.size -= evicted.len();
            }
        }
        inner.size += bytes.len();
        inner.order.push_back(checksum.to_vec());
        inner.entries.insert(checksum.to_vec(), bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_oldest_within_budget() {
        let cache = BlobCache::new(10);
        cache.insert(b"a", Bytes::from_static(b"aaaa"));
        cache.insert(b"b", Bytes::from_static(b"bbbb"));
        assert!(cache.get(b"a").is_some() && cache.get(b"b").is_some());
        cache.insert(b"c", Bytes::from_static(b"cccc"));
        assert!(cache.get(b"a").is_none(), "the oldest went");
        assert_eq!(cache.get(b"c").as_deref(), Some(&b"cccc"[..]));
        cache.insert(b"huge", Bytes::from(vec![0; 11]));
        assert!(cache.get(b"huge").is_none());
        assert!(cache.get(b"b").is_some(), "an oversize blob evicts nothing");
    }
}
