//! The benchmark's instruments: wrk (on any core, or pinned), nginx serving the same bytes, a
//! process's CPU time, and the instructions it executes (callgrind).

use std::process::{Child, Command};
use std::time::Duration;

/// Pins a process (every thread of it) to one CPU.
pub fn pin(pid: u32, cpu: u32) {
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", &cpu.to_string(), &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("taskset (util-linux)");
    assert!(status.success());
}

/// wrk (one thread) on CPU 0.
pub fn wrk_pinned(url: &str, seconds: u32) -> WrkRun {
    run_wrk(Some(0), 1, 64, seconds, url)
}

/// wrk with `threads` and `connections` for `seconds`, pinned to a CPU or not.
fn run_wrk(cpu: Option<u32>, threads: u32, connections: u32, seconds: u32, url: &str) -> WrkRun {
    let mut command = match cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.args(["-c", &cpu.to_string(), "wrk"]);
            command
        }
        None => Command::new("wrk"),
    };
    command.args([&format!("-t{threads}"), &format!("-c{connections}"), &format!("-d{seconds}s"), url]);
    let out = command.output().expect("wrk (apt-get install wrk) and taskset");
    parse_wrk(&String::from_utf8_lossy(&out.stdout))
}

/// The CPU time (user and system) a process has used, from /proc.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // the fields after the command (which is in parentheses and may hold spaces)
    let fields: Vec<&str> = stat.rsplit_once(')').expect("stat").1.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let per_second = Command::new("getconf").arg("CLK_TCK").output().ok();
    let per_second: f64 =
        per_second.and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok()).unwrap_or(100.0);
    ticks / per_second
}

/// The arguments that run a server under callgrind, counting nothing until told to, with its
/// profiles in `dir`.
pub fn callgrind_wrapper(dir: &std::path::Path) -> Vec<String> {
    ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
        .map(String::from)
        .into_iter()
        .chain([format!("--callgrind-out-file={}/callgrind.%p", dir.display())])
        .collect()
}

/// The instructions that the process `pid`, run with [`callgrind_wrapper`] writing to `dir`,
/// executes (every thread, in user space) while `work` runs, and what `work` returns.
pub fn instructions_during<T>(pid: u32, dir: &std::path::Path, work: impl FnOnce() -> T) -> (u64, T) {
    let control = |args: &[&str]| {
        let out = Command::new("callgrind_control").args(args).arg(pid.to_string()).output().expect("valgrind");
        assert!(out.status.success(), "callgrind_control {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    control(&["--zero"]);
    control(&["--instr=on"]);
    let result = work();
    control(&["--instr=off"]);
    control(&["--dump"]);
    // each dump is a part of its own, numbered: callgrind.PID.1, .2, …
    let prefix = format!("callgrind.{pid}.");
    let last = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix(&prefix)?.parse::<u32>().ok())
        .max()
        .expect("a callgrind dump");
    let profile = std::fs::read_to_string(dir.join(format!("{prefix}{last}"))).unwrap();
    let total = profile.lines().find_map(|l| l.strip_prefix("totals:")).expect("totals in the dump");
    (total.trim().parse().unwrap(), result)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Requests per second that wrk measures over 10 seconds with 64 connections.
pub fn wrk(url: &str) -> f64 {
    wrk_run(url, 10).rate
}

/// What wrk measured.
pub struct WrkRun {
    pub rate: f64,
    pub requests: u64,
}

/// wrk for `seconds` with 64 connections.
pub fn wrk_run(url: &str, seconds: u32) -> WrkRun {
    run_wrk(None, 2, 64, seconds, url)
}

/// wrk with one thread and 4 connections: enough for a server slowed down by valgrind.
pub fn wrk_few(url: &str, seconds: u32) -> WrkRun {
    run_wrk(None, 1, 4, seconds, url)
}

pub fn parse_wrk(text: &str) -> WrkRun {
    assert!(!text.contains("Non-2xx"), "{text}");
    let rate = text.lines().find_map(|l| l.strip_prefix("Requests/sec:")).and_then(|v| v.trim().parse().ok());
    // "  912345 requests in 10.00s, 1.2GB read"
    let requests = text.lines().find_map(|l| l.split_once(" requests in ")?.0.trim().parse().ok());
    match (rate, requests) {
        (Some(rate), Some(requests)) => WrkRun { rate, requests },
        _ => panic!("no rate in wrk output:\n{text}"),
    }
}

pub struct Nginx(Child);

impl Nginx {
    pub fn start(dir: &std::path::Path, root: &std::path::Path, port: u16) -> Nginx {
        let conf = dir.join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "worker_processes auto;\ndaemon off;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\n\
                 events {{ worker_connections 4096; }}\n\
                 http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 1000000;\n\
                 client_body_temp_path {dir};\n  proxy_temp_path {dir};\n  fastcgi_temp_path {dir};\n\
                 uwsgi_temp_path {dir};\n  scgi_temp_path {dir};\n\
                 server {{\n    listen 127.0.0.1:{port};\n    root {root};\n    default_type application/octet-stream;\n  }}\n}}\n",
                dir = dir.display(),
                root = root.display(),
            ),
        )
        .unwrap();
        let child = Command::new("nginx")
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.join("error.log"))
            .spawn()
            .expect("nginx (apt-get install nginx)");
        crate::support::wait_for_port(port, Duration::from_secs(10), "nginx");
        Nginx(child)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // TERM, not KILL: the master stops its workers on the way out
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}
