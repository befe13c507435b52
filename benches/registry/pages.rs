//! The web UI's pages: render time at scale.

use crate::latency;
use crate::support::{Server, get};

/// Render time of the web UI's pages, each alone, with `packages` packages loaded; some of
/// them downloaded first, so the lists and charts have something to draw.
pub fn measure_pages(server: &Server, packages: usize) -> Vec<String> {
    for i in [0, 7, 42, 99] {
        let url = format!("{}/repo/tarballs/pkg{i}-1.0.0.tar", server.url);
        for _ in 0..=i % 5 {
            assert_eq!(get(&url, &[]).status, 200);
        }
    }
    let pages = [
        ("home", "/"),
        ("list", "/packages"),
        ("list, page 200", "/packages?page=200"),
        ("search", "/packages?search=json+parser"),
        ("sort by downloads", "/packages?sort=total_downloads"),
        ("sort by recent", "/packages?sort=recent_downloads"),
        ("package", "/packages/pkg7"),
        ("release", "/packages/pkg7/1.0.0"),
        ("user (owns all)", "/users/bench"),
    ];
    // the planner's statistics as autovacuum keeps them (it would have analyzed the tables
    // within a minute of the preload), not as they were before 10,000 packages arrived
    server.psql("ANALYZE");
    let mut lines = Vec::new();
    for (label, path) in pages {
        let url = format!("{}{path}", server.url);
        let first = get(&url, &[]);
        assert_eq!(first.status, 200, "{path}: {}", first.text());
        let (p50, p95) = latency(&url);
        lines.push(format!("page {label:<18} ({path}, {packages} packages): p50 {p50:>5.1} ms  p95 {p95:>5.1} ms"));
    }
    lines
}
