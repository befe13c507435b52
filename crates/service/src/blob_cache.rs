//! Recently served blobs (tarballs, unpacked docs), in memory. Keys are checksums, so an entry
//! can never go stale: a replaced release or docs upload has a new checksum. The budget bounds
//! memory; the oldest entries go first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock};

use bytes::Bytes;

/// How many bytes a cached value holds.
pub trait Weigh {
    fn weight(&self) -> usize;
}

impl Weigh for Bytes {
    fn weight(&self) -> usize {
        self.len()
    }
}

impl<T: Weigh> Weigh for Arc<T> {
    fn weight(&self) -> usize {
        self.as_ref().weight()
    }
}

/// A byte-bounded cache of values by checksum, metered by name (`hexyard_cache_*{cache="…"}`).
#[derive(Debug)]
pub struct BudgetCache<V> {
    budget: usize,
    inner: RwLock<Inner<V>>,
    meters: Meters,
}

/// A cache's hits, misses and size, through the `metrics` facade.
#[derive(Debug)]
struct Meters {
    hits: crate::meters::LocalCounter,
    misses: crate::meters::LocalCounter,
    bytes: metrics::Gauge,
    entries: metrics::Gauge,
}

impl Meters {
    fn register(cache: &'static str) -> Meters {
        use crate::meters::LocalCounter;
        use metrics::{Unit, describe_counter, describe_gauge};
        describe_counter!("hexyard_cache_hits_total", "lookups an in-memory cache answered");
        describe_counter!("hexyard_cache_misses_total", "lookups an in-memory cache did not hold");
        describe_gauge!("hexyard_cache_bytes", Unit::Bytes, "what an in-memory cache holds");
        describe_gauge!("hexyard_cache_entries", "entries an in-memory cache holds");
        Meters {
            hits: LocalCounter::new(metrics::counter!("hexyard_cache_hits_total", "cache" => cache)),
            misses: LocalCounter::new(metrics::counter!("hexyard_cache_misses_total", "cache" => cache)),
            bytes: metrics::gauge!("hexyard_cache_bytes", "cache" => cache),
            entries: metrics::gauge!("hexyard_cache_entries", "cache" => cache),
        }
    }
}

/// Tarballs by outer checksum.
pub type BlobCache = BudgetCache<Bytes>;

#[derive(Debug)]
struct Inner<V> {
    entries: HashMap<Vec<u8>, V>,
    order: VecDeque<Vec<u8>>,
    size: usize,
}

impl<V: Weigh + Clone> BudgetCache<V> {
    /// An empty cache of `budget` bytes, metered as `name`.
    pub fn new(name: &'static str, budget: usize) -> Self {
        BudgetCache {
            budget,
            inner: RwLock::new(Inner { entries: HashMap::new(), order: VecDeque::new(), size: 0 }),
            meters: Meters::register(name),
        }
    }

    pub fn get(&self, checksum: &[u8]) -> Option<V> {
        let found = self.inner.read().expect("cache lock").entries.get(checksum).cloned();
        match found {
            Some(_) => self.meters.hits.increment(1),
            None => self.meters.misses.increment(1),
        }
        found
    }

    fn measure(&self, inner: &Inner<V>) {
        self.meters.bytes.set(inner.size as f64);
        self.meters.entries.set(inner.entries.len() as f64);
    }

    /// Keeps `value`, evicting the oldest entries to stay within the budget. A value larger
    /// than the whole budget is not kept, and a key already kept keeps its value.
    pub fn insert(&self, checksum: &[u8], value: V) {
        self.store(checksum, value, false);
    }

    /// Keeps `value` under `key`, replacing what the key held (for keys that are not
    /// checksums, such as a mirrored resource's path).
    pub fn put(&self, key: &[u8], value: V) {
        self.store(key, value, true);
    }

    /// Forgets every entry whose key `forget` picks.
    pub fn remove_if(&self, forget: impl Fn(&[u8]) -> bool) {
        let mut inner = self.inner.write().expect("cache lock");
        let Inner { entries, order, size } = &mut *inner;
        entries.retain(|key, value| {
            let keep = !forget(key);
            if !keep {
                *size -= value.weight();
            }
            keep
        });
        order.retain(|key| entries.contains_key(key));
        self.measure(&inner);
    }

    fn store(&self, checksum: &[u8], value: V, replace: bool) {
        let weight = value.weight();
        if weight > self.budget {
            return;
        }
        let mut inner = self.inner.write().expect("cache lock");
        if let Some(held) = inner.entries.get(checksum) {
            if !replace {
                return;
            }
            let old = held.weight();
            inner.size -= old;
            inner.entries.remove(checksum);
            inner.order.retain(|k| k.as_slice() != checksum);
        }
        while inner.size + weight > self.budget {
            let Some(oldest) = inner.order.pop_front() else { break };
            if let Some(evicted) = inner.entries.remove(&oldest) {
                inner.size -= evicted.weight();
            }
        }
        inner.size += weight;
        inner.order.push_back(checksum.to_vec());
        inner.entries.insert(checksum.to_vec(), value);
        self.measure(&inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_oldest_within_budget() {
        let cache = BlobCache::new("test", 10);
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

    #[test]
    fn put_replaces_and_keeps_the_budget() {
        let cache = BlobCache::new("test", 10);
        cache.insert(b"a", Bytes::from_static(b"aaaa"));
        cache.insert(b"a", Bytes::from_static(b"zzzz"));
        assert_eq!(cache.get(b"a").as_deref(), Some(&b"aaaa"[..]), "insert keeps the first value");
        cache.put(b"a", Bytes::from_static(b"AAAAAA"));
        assert_eq!(cache.get(b"a").as_deref(), Some(&b"AAAAAA"[..]));
        cache.put(b"b", Bytes::from_static(b"bbbb"));
        assert!(cache.get(b"a").is_some() && cache.get(b"b").is_some(), "6 + 4 bytes fit in 10");
        cache.put(b"c", Bytes::from_static(b"c"));
        assert!(cache.get(b"a").is_none(), "the oldest went");
        cache.remove_if(|key| key == b"b");
        assert!(cache.get(b"b").is_none() && cache.get(b"c").is_some());
        // the budget freed: 9 more bytes fit beside "c"
        cache.put(b"d", Bytes::from(vec![0; 9]));
        assert!(cache.get(b"c").is_some() && cache.get(b"d").is_some());
    }
}
