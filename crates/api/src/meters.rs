//! The request meters: `hexyard_http_requests_total` and
//! `hexyard_http_request_duration_seconds`, by method, route pattern and status.
//!
//! Each worker thread tallies its own requests: the hot path touches nothing another worker
//! writes (no shared atomic, no contended cache line). [`flush`] hands the tallies to the
//! recorder: about once a second, and before every scrape, so `/metrics` is never behind.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The upper bounds, in seconds, of the duration histograms' buckets: the exporter's buckets
/// for every `*_seconds` meter, and the tallies'.
pub const DURATION_BUCKETS: [f64; 15] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The most paths a worker remembers the series of (then it starts afresh).
const REMEMBERED_PATHS: usize = 4096;

/// Per bucket (the last one past every bound): the sum of the durations and how many.
type Buckets = [(f64, u64); DURATION_BUCKETS.len() + 1];

/// One series' requests since the last flush.
struct Tally {
    counter: metrics::Counter,
    histogram: metrics::Histogram,
    buckets: Buckets,
}

fn record_into(buckets: &mut Buckets, seconds: f64) {
    let (sum, n) = &mut buckets[DURATION_BUCKETS.partition_point(|&bound| bound < seconds)];
    *sum += seconds;
    *n += 1;
}

/// The samples that stand for a bucket's tally: its mean, that many times. The mean of
/// values in a bucket lies in the bucket, so the histogram's counts and sum stay exact.
fn samples(buckets: &Buckets) -> impl Iterator<Item = (f64, u64)> + '_ {
    buckets.iter().enumerate().filter(|(_, (_, n))| *n > 0).map(|(i, &(sum, n))| {
        // (rounding could carry the mean of values at or near a bound past it)
        let mut mean = sum / n as f64;
        if let Some(&upper) = DURATION_BUCKETS.get(i) {
            mean = mean.min(upper);
        }
        if let Some(&lower) = i.checked_sub(1).and_then(|below| DURATION_BUCKETS.get(below)) {
            mean = mean.max(lower.next_up());
        }
        (mean, n)
    })
}

/// A method and status seen on a path, and the tally of their series.
type PathSeries = (Box<str>, u16, usize);

/// A worker's tallies (shared only with [`flush`]), and which of them a path's requests go to.
struct Worker {
    tallies: Arc<Mutex<Vec<Tally>>>,
    /// (hashed with foldhash, not SipHash: this lookup is on every request, and its size is
    /// capped, so a flood of paths only starts it afresh)
    paths: HashMap<Box<str>, Vec<PathSeries>, foldhash::fast::RandomState>,
    /// (method, route, status) → tally
    series: HashMap<(Box<str>, String, u16), usize>,
}

/// Every worker's tallies, for [`flush`] (kept after a worker ends: what it tallied last is
/// still handed over).
static WORKERS: Mutex<Vec<Arc<Mutex<Vec<Tally>>>>> = Mutex::new(Vec::new());

impl Worker {
    fn new() -> Worker {
        let tallies = Arc::new(Mutex::new(Vec::new()));
        WORKERS.lock().unwrap_or_else(PoisonError::into_inner).push(tallies.clone());
        Worker { tallies, paths: HashMap::default(), series: HashMap::new() }
    }

    /// The tally of a request not seen on this path before (`route` finds its pattern).
    fn tally_for(&mut self, method: &str, path: &str, status: u16, route: Option<String>) -> usize {
        let route = route.unwrap_or_else(|| UNMATCHED.to_owned());
        let key = (Box::<str>::from(method), route, status);
        let index = match self.series.get(&key) {
            Some(&index) => index,
            None => {
                let labels = vec![
                    metrics::Label::new("method", method.to_owned()),
                    metrics::Label::new("route", key.1.clone()),
                    metrics::Label::new("status", status.to_string()),
                ];
                let tally = Tally {
                    counter: metrics::counter!("hexyard_http_requests_total", labels.clone()),
                    histogram: metrics::histogram!("hexyard_http_request_duration_seconds", labels),
                    buckets: Buckets::default(),
                };
                let mut tallies = self.tallies.lock().unwrap_or_else(PoisonError::into_inner);
                tallies.push(tally);
                let index = tallies.len() - 1;
                self.series.insert(key, index);
                index
            }
        };
        if self.paths.len() >= REMEMBERED_PATHS {
            self.paths.clear();
        }
        self.paths.entry(path.into()).or_default().push((method.into(), status, index));
        index
    }
}

/// The route label of requests that no route takes.
pub const UNMATCHED: &str = "unmatched";

/// A request's route label: the pattern of the route that took it. (Asked only for a path that
/// a worker has not seen before: nothing is looked up for the paths it has.)
pub fn route_of(req: &actix_web::HttpRequest) -> Option<String> {
    match crate::routes::dispatched_pattern(req.match_info().as_str()) {
        Some(pattern) => Some(pattern.to_owned()),
        None => req.match_pattern(),
    }
}

thread_local! {
    static WORKER: RefCell<Option<Worker>> = const { RefCell::new(None) };
}

/// Tallies a request (when meters are kept): the hot paths (the same tarballs and resources again and
/// again) neither route twice nor look labels up in the registry. The route is a pattern,
/// never the path itself, which would make a series per package.
pub fn record(method: &str, path: &str, status: u16, seconds: f64, route: impl FnOnce() -> Option<String>) {
    if !hexyard_service::meters::on() {
        return;
    }
    WORKER.with_borrow_mut(|worker| {
        let worker = worker.get_or_insert_with(Worker::new);
        let known = worker.paths.get(path).and_then(|m| m.iter().find(|(m, s, _)| &**m == method && *s == status));
        let index = match known {
            Some(&(_, _, index)) => index,
            None => worker.tally_for(method, path, status, route()),
        };
        record_into(&mut worker.tallies.lock().unwrap_or_else(PoisonError::into_inner)[index].buckets, seconds);
    });
}

/// Takes a worker's tallies (holding its lock only that long) and records them.
fn hand_over(tallies: &Mutex<Vec<Tally>>) {
    let taken: Vec<_> = tallies
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter_mut()
        .filter(|t| t.buckets.iter().any(|(_, n)| *n > 0))
        .map(|t| (t.counter.clone(), t.histogram.clone(), std::mem::take(&mut t.buckets)))
        .collect();
    for (counter, histogram, buckets) in taken {
        let mut total = 0;
        for (value, n) in samples(&buckets) {
            histogram.record_many(value, usize::try_from(n).unwrap_or(usize::MAX));
            total += n;
        }
        counter.increment(total);
    }
}

/// Hands every worker's tallies to the recorder, and the service's counters.
pub fn flush() {
    hexyard_service::meters::flush();
    let workers = WORKERS.lock().unwrap_or_else(PoisonError::into_inner).clone();
    for tallies in workers {
        hand_over(&tallies);
    }
}

/// Describes the meters of this crate, for `/metrics`' help lines.
pub fn describe() {
    metrics::describe_counter!("hexyard_http_requests_total", "HTTP requests answered, by method, route and status");
    metrics::describe_histogram!(
        "hexyard_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "time to answer an HTTP request (up to its body being streamed), by method, route and status"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_samples_keep_each_buckets_count_and_the_sum() {
        let durations = [0.0001, 0.0004, 0.0005, 0.0007, 0.003, 0.003, 0.0031, 0.2, 29.0, 31.0, 120.0];
        let mut buckets = Buckets::default();
        for d in durations {
            record_into(&mut buckets, d);
        }
        let samples: Vec<_> = samples(&buckets).collect();
        let count = |upper: f64| -> u64 { samples.iter().filter(|(v, _)| *v <= upper).map(|(_, n)| n).sum() };
        // Prometheus' cumulative buckets, as the exporter will count the samples
        for upper in DURATION_BUCKETS {
            assert_eq!(count(upper), durations.iter().filter(|&&d| d <= upper).count() as u64, "le={upper}");
        }
        assert_eq!(samples.iter().map(|(_, n)| n).sum::<u64>(), durations.len() as u64);
        let sum: f64 = samples.iter().map(|(v, n)| v * *n as f64).sum();
        assert!((sum - durations.iter().sum::<f64>()).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn values_at_and_near_a_bound_stay_in_their_bucket() {
        // seven times 0.1 (the upper bound of (0.05, 0.1]), and three just past 0.05
        let mut buckets = Buckets::default();
        for _ in 0..7 {
            record_into(&mut buckets, 0.1);
        }
        for _ in 0..3 {
            record_into(&mut buckets, 0.05f64.next_up());
        }
        let samples: Vec<_> = samples(&buckets).collect();
        assert_eq!(samples.len(), 1, "{samples:?}");
        let (value, n) = samples[0];
        assert_eq!(n, 10);
        assert!(value > 0.05 && value <= 0.1, "{value}");
        assert!((value * 10.0 - (0.7 + 0.15)).abs() < 1e-9, "{value}");
    }
}
