//! A stand-in for repo.hex.pm: a signed registry named `hexpm`, made with a test key, served
//! over HTTP on 127.0.0.1 by a small server the test controls: it counts requests, answers
//! conditional GETs, and can be made to fail (a status, a hang, a truncated or garbage body)
//! or stopped.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::Engine;
use hexyard_registry::build::{self, Dependency, NamesEntry, PackageEntry, Release, VersionsEntry};
use hexyard_registry::{SigningKey, sign_and_gzip};
use sha2::{Digest, Sha256};

/// How a path misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Status(u16),
    /// Never answers.
    Hang,
    /// Announces the whole length, sends half, closes.
    Truncate,
    /// A 200 whose body is an HTML page.
    Garbage,
    /// Answers after a pause.
    Slow(Duration),
}

#[derive(Default)]
struct State {
    files: HashMap<String, Vec<u8>>,
    faults: HashMap<String, Fault>,
    hits: HashMap<String, usize>,
}

/// A release: version, tarball, dependencies (name, requirement).
type ReleaseFiles = (String, Vec<u8>, Vec<(String, String)>);

/// A signed repository being built: packages, each with releases.
pub struct Registry {
    pub name: String,
    pub key: SigningKey,
    packages: BTreeMap<String, Vec<ReleaseFiles>>,
}

impl Registry {
    pub fn new(name: &str) -> Registry {
        Registry { name: name.to_owned(), key: SigningKey::generate().unwrap(), packages: BTreeMap::new() }
    }

    /// Adds a release built in code (a rebar3 project) depending on `deps` (name, requirement)
    /// in the same repository; returns its tarball.
    pub fn release(&mut self, name: &str, version: &str, deps: &[(&str, &str)]) -> Vec<u8> {
        let with_repo: Vec<(&str, &str, Option<&str>)> = deps.iter().map(|(d, r)| (*d, *r, None)).collect();
        let tarball = crate::support::tarball(name, version, &with_repo);
        let deps = deps.iter().map(|(d, r)| (d.to_string(), r.to_string())).collect();
        self.packages.entry(name.to_owned()).or_default().push((version.to_owned(), tarball.clone(), deps));
        tarball
    }

    /// Replaces a release's tarball, as `mix hex.publish --replace` does on hex.pm.
    pub fn replace(&mut self, name: &str, version: &str, tarball: Vec<u8>) {
        let releases = self.packages.get_mut(name).unwrap();
        let release = releases.iter_mut().find(|(v, _, _)| v == version).unwrap();
        release.1 = tarball;
    }

    /// Every file of the repository, signed with `key` (which may differ from `self.key`, for
    /// a forged one) as repository `name`.
    pub fn files_signed(&self, key: &SigningKey, name: &str) -> HashMap<String, Vec<u8>> {
        let mut files = HashMap::new();
        let mut names = Vec::new();
        let mut versions = Vec::new();
        for (package, releases) in &self.packages {
            let mut entry = PackageEntry { name: package.clone(), releases: Vec::new() };
            for (version, tarball, deps) in releases {
                let read = hexyard_tarball::read(tarball, &hexyard_tarball::Limits::default()).unwrap();
                entry.releases.push(Release {
                    version: hexyard_core::Version::parse(version).unwrap(),
                    inner_checksum: read.inner_checksum,
                    outer_checksum: Sha256::digest(tarball).into(),
                    dependencies: deps
                        .iter()
                        .map(|(d, r)| Dependency {
                            package: d.clone(),
                            requirement: r.clone(),
                            optional: false,
                            app: d.clone(),
                            repository: name.to_owned(),
                        })
                        .collect(),
                    retired: None,
                    published_at: Some(SystemTime::now()),
                });
                files.insert(format!("tarballs/{package}-{version}.tar"), tarball.clone());
            }
            files.insert(format!("packages/{package}"), sign_and_gzip(&build::package(name, &entry), key));
            names.push(NamesEntry { name: package.clone(), updated_at: Some(SystemTime::now()) });
            versions.push(VersionsEntry {
                name: package.clone(),
                releases: releases
                    .iter()
                    .map(|(v, _, _)| (hexyard_core::Version::parse(v).unwrap(), false, false))
                    .collect(),
            });
        }
        files.insert("names".into(), sign_and_gzip(&build::names(name, &names), key));
        files.insert("versions".into(), sign_and_gzip(&build::versions(name, &versions), key));
        files.insert("public_key".into(), self.key.verifying_key().to_pem().into_bytes());
        let csv = b"2.5.1,0123abcd,1.14.0\n".to_vec();
        let signature = base64::engine::general_purpose::STANDARD.encode(key.sign(&csv));
        files.insert("installs/hex-1.x.csv".into(), csv);
        files.insert("installs/hex-1.x.csv.signed".into(), signature.into_bytes());
        files
    }

    pub fn files(&self) -> HashMap<String, Vec<u8>> {
        self.files_signed(&self.key, &self.name)
    }

    pub fn public_key_pem(&self) -> String {
        self.key.verifying_key().to_pem()
    }
}

/// The upstream server.
pub struct Upstream {
    pub url: String,
    state: Arc<Mutex<State>>,
    stopped: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl Upstream {
    pub fn serve(files: HashMap<String, Vec<u8>>) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State { files, ..State::default() }));
        let stopped = Arc::new(AtomicBool::new(false));
        let (s, stop) = (state.clone(), stopped.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (s, stop) = (s.clone(), stop.clone());
                std::thread::spawn(move || answer(stream, &s, &stop));
            }
            // the listener drops here: connections are refused from now on
        });
        Upstream { url: format!("http://{addr}"), state, stopped, addr }
    }

    /// Replaces (or adds) a file.
    pub fn set(&self, path: &str, body: Vec<u8>) {
        self.state.lock().unwrap().files.insert(path.to_owned(), body);
    }

    pub fn replace_all(&self, files: HashMap<String, Vec<u8>>) {
        self.state.lock().unwrap().files = files;
    }

    pub fn fault(&self, path: &str, fault: Option<Fault>) {
        let mut state = self.state.lock().unwrap();
        match fault {
            Some(f) => state.faults.insert(path.to_owned(), f),
            None => state.faults.remove(path),
        };
    }

    /// Requests for `path` so far.
    pub fn hits(&self, path: &str) -> usize {
        self.state.lock().unwrap().hits.get(path).copied().unwrap_or(0)
    }

    pub fn total_hits(&self) -> usize {
        self.state.lock().unwrap().hits.values().sum()
    }

    /// Stops answering: new connections are refused.
    pub fn stop(&self) {
        if !self.stopped.swap(true, Ordering::SeqCst) {
            // wake the accept loop so it sees the flag and drops the listener
            let _ = TcpStream::connect(self.addr);
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop();
    }
}

fn answer(stream: TcpStream, state: &Mutex<State>, stopped: &AtomicBool) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 || stopped.load(Ordering::SeqCst) {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_owned();
    let mut if_none_match = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("if-none-match")
        {
            if_none_match = Some(value.trim().to_owned());
        }
    }
    let (body, fault) = {
        let mut state = state.lock().unwrap();
        *state.hits.entry(path.clone()).or_default() += 1;
        (state.files.get(&path).cloned(), state.faults.get(&path).copied())
    };
    let mut stream = stream;
    let respond = |stream: &mut TcpStream, status: &str, headers: &str, body: &[u8]| {
        let head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n", body.len());
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(body);
    };
    match fault {
        Some(Fault::Hang) => {
            while !stopped.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
            return;
        }
        Some(Fault::Status(code)) => return respond(&mut stream, &format!("{code} Failing"), "", b"upstream trouble"),
        Some(Fault::Garbage) => {
            return respond(&mut stream, "200 OK", "Content-Type: text/html\r\n", b"<html>maintenance</html>");
        }
        Some(Fault::Slow(pause)) => std::thread::sleep(pause),
        Some(Fault::Truncate) | None => {}
    }
    let Some(body) = body else { return respond(&mut stream, "404 Not Found", "", b"not found") };
    let etag = format!("\"{}\"", hexyard_tarball::hex_lower(&Sha256::digest(&body)[..8]));
    if if_none_match.as_deref() == Some(etag.as_str()) {
        return respond(&mut stream, "304 Not Modified", &format!("ETag: {etag}\r\n"), b"");
    }
    if fault == Some(Fault::Truncate) {
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&body[..body.len() / 2]);
        return;
    }
    respond(&mut stream, "200 OK", &format!("ETag: {etag}\r\nContent-Type: application/octet-stream\r\n"), &body);
}
