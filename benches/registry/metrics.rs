//! What `/metrics` costs reads: instructions per request under callgrind, and time and CPU per
//! request on pairs of pinned replicas.

use crate::support::{Server, get};
use crate::tools::{callgrind_wrapper, cpu_seconds, instructions_during, pin, wrk_few, wrk_pinned};

/// The reads that the metrics comparison measures: a registry resource and a tarball.
const METERED_READS: [(&str, &str); 2] =
    [("/repo/packages/pkg0", "/repo/packages/pkg0"), ("tarball", "/repo/tarballs/pkg0-1.0.0.tar")];

/// The metric settings of the three replicas compared: on, off, and off again (the noise).
const METRIC_ARMS: [&str; 3] = ["on", "off", "off"];

pub fn compare_metrics(server: &Server) -> Vec<String> {
    let mut lines = metrics_in_instructions(server);
    lines.extend(metrics_in_time(server));
    lines
}

/// Instructions per request on three replicas run under callgrind: counts that do not depend on
/// what else the machine is doing, where time does. They are user space only (the kernel's
/// TCP is not counted), so the share they give metrics is an upper bound of its share of time.
fn metrics_in_instructions(server: &Server) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let wrapper = callgrind_wrapper(dir.path());
    let wrapper: Vec<&str> = wrapper.iter().map(String::as_str).collect();
    let servers = METRIC_ARMS.map(|setting| server.replica_under(&wrapper, &[("HEXYARD_METRICS", setting)]));
    assert_eq!(get(&format!("{}/metrics", servers[0].url), &[]).status, 200, "metrics are on there");
    let mut lines = Vec::new();
    for (what, path) in METERED_READS {
        let per_request = servers.each_ref().map(|s| {
            let url = format!("{}{path}", s.url);
            wrk_few(&url, 1);
            let (instructions, run) = instructions_during(s.pid(), dir.path(), || wrk_few(&url, 5));
            instructions as f64 / run.requests as f64
        });
        lines.push(cost_line(what, "instructions / request", per_request, "", 0));
    }
    lines
}

/// Time and CPU per request, metrics on against off, on fresh pairs of replicas pinned to one
/// core with wrk on the other. Two identical processes differ by a few percent (their memory
/// layout), which one pair cannot tell from the cost; the mean over pairs, with its standard
/// error, can. Within a pair the first measured alternates.
fn metrics_in_time(server: &Server) -> Vec<String> {
    const PAIRS: usize = 6;
    // per read, per pair: [time, CPU] per request, on and off
    let mut samples = vec![Vec::new(); METERED_READS.len()];
    for pair in 0..PAIRS {
        let [on, off] = ["on", "off"].map(|setting| server.replica_with(&[("HEXYARD_METRICS", setting)]));
        assert_eq!(get(&format!("{}/metrics", on.url), &[]).status, 200, "metrics are on there");
        assert_eq!(get(&format!("{}/metrics", off.url), &[]).status, 404, "metrics are off there");
        pin(on.pid(), 1);
        pin(off.pid(), 1);
        for (k, (_, path)) in METERED_READS.iter().enumerate() {
            let measure = |s: &Server| {
                let url = format!("{}{path}", s.url);
                wrk_pinned(&url, 1);
                let before = cpu_seconds(s.pid());
                let run = wrk_pinned(&url, 5);
                let cpu = cpu_seconds(s.pid()) - before;
                [1.0 / run.rate * 1e6, cpu / run.requests as f64 * 1e6]
            };
            let (a, b) = if pair % 2 == 0 {
                (measure(&on), measure(&off))
            } else {
                let b = measure(&off);
                (measure(&on), b)
            };
            samples[k].push((a, b));
        }
    }
    let mut lines = Vec::new();
    for ((what, _), pairs) in METERED_READS.iter().zip(&samples) {
        // throughput as its inverse, time per request, so that every cost reads alike
        for (m, measure) in ["1 / throughput", "CPU per request"].into_iter().enumerate() {
            let mean = |values: Vec<f64>| values.iter().sum::<f64>() / values.len() as f64;
            let (on, off) =
                (mean(pairs.iter().map(|p| p.0[m]).collect()), mean(pairs.iter().map(|p| p.1[m]).collect()));
            let costs: Vec<f64> = pairs.iter().map(|(a, b)| (a[m] / b[m] - 1.0) * 100.0).collect();
            let cost = mean(costs.clone());
            let spread = (costs.iter().map(|c| (c - cost).powi(2)).sum::<f64>() / (costs.len() - 1) as f64).sqrt();
            lines.push(format!(
                "{what:<20} {measure:<24} on {on:>9.2} µs, off {off:>9.2} µs: cost {cost:>4.1} % ± {:.1} % \
                 (mean over {PAIRS} pairs of processes ± its standard error)",
                spread / (costs.len() as f64).sqrt()
            ));
        }
    }
    lines
}

/// "what measure: on …, off …: cost …% (off again …: noise …%)"
fn cost_line(what: &str, measure: &str, [on, off, again]: [f64; 3], unit: &str, digits: usize) -> String {
    let cost = |on: f64, off: f64| (on / off - 1.0) * 100.0;
    format!(
        "{what:<20} {measure:<24} on {on:>9.digits$}{unit}, off {off:>9.digits$}{unit}: cost {:>4.1} %   \
         (off again {again:>9.digits$}{unit}: noise {:>4.1} %)",
        cost(on, off),
        cost(again, off)
    )
}
