//! The real clients for the end-to-end tests: mix with the Hex 2.5.1 archive, rebar3, and
//! Erlang with rebar3's bundled hex_core.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::fixtures;
use std::sync::OnceLock;

/// `rebar3 get-deps` in `dir`, with its home, cache and global config there (and no `HEX_CDN`
/// from outside), plus `env`.
pub fn rebar3_get_deps(dir: &Path, env: &[(&str, &str)]) -> Output {
    Command::new("rebar3")
        .arg("get-deps")
        .current_dir(dir)
        .env("HOME", dir)
        .env("REBAR_CACHE_DIR", dir.join("cache"))
        .env("REBAR_GLOBAL_CONFIG_DIR", dir.join("global"))
        .env_remove("HEX_CDN")
        .envs(env.iter().copied())
        .output()
        .expect("rebar3 is needed: apt-get install rebar3 (scripts/test does)")
}

/// A mix with the Hex archive installed in homes of its own.
pub struct Mix {
    pub home: tempfile::TempDir,
}

impl Mix {
    pub fn new() -> Mix {
        let home = tempfile::tempdir().unwrap();
        let mix = Mix { home };
        let archive = fixtures().join("../clients/hex-2.5.1.ez");
        let out = mix.command(mix.home.path()).args(["archive.install"]).arg(&archive).arg("--force").output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        mix
    }

    pub fn command(&self, dir: &Path) -> Command {
        let mix = which("mix").expect("mix is needed: apt-get install elixir (scripts/test does)");
        let mut command = Command::new(mix);
        let home = self.home.path();
        command
            .current_dir(dir)
            .env("MIX_HOME", home.join("mix"))
            .env("HEX_HOME", home.join("hex"))
            .env("HOME", home)
            .env("MIX_DEBUG", "1")
            .env_remove("HEX_API_KEY")
            .env_remove("HEX_API_URL")
            .stdin(Stdio::null());
        command
    }

    pub fn run(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(dir).args(args).envs(env.iter().copied()).output().unwrap()
    }

    /// A project directory with `mix.exs` and one module.
    pub fn project(&self, name: &str, mix_exs: &str) -> PathBuf {
        let dir = self.home.path().join(name);
        std::fs::create_dir_all(dir.join("lib")).unwrap();
        std::fs::write(dir.join("mix.exs"), mix_exs).unwrap();
        std::fs::write(
            dir.join(format!("lib/{name}.ex")),
            format!("defmodule {} do\n  def hello, do: :world\nend\n", camel(name)),
        )
        .unwrap();
        dir
    }
}

fn camel(name: &str) -> String {
    name.split('_').map(|w| w[..1].to_uppercase() + &w[1..]).collect()
}

pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The directory holding rebar3's bundled hex_core (`r3_hex_*` modules), unpacked once.
pub fn hex_core_ebin() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("hexyard-r3-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rebar3 = which("rebar3").expect("rebar3 is needed: apt-get install rebar3 (scripts/test does)");
        let script = format!(
            "{{ok, S}} = escript:extract(\"{}\", []), {{archive, Zip}} = lists:keyfind(archive, 1, S), \
             {{ok, _}} = zip:extract(Zip, [{{cwd, \"{}\"}}]), halt().",
            rebar3.display(),
            dir.display()
        );
        let out = Command::new("erl").args(["-noshell", "-eval", &script]).output().expect("erl");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        dir.join("rebar/ebin")
    })
}

pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.exists())
        .map(|p| p.canonicalize().unwrap_or(p))
}

/// Runs Erlang code with hex_core loaded; the code must print its result and halt.
pub fn erl(code: &str) -> Output {
    // a crash dump lands in the working directory: keep it out of the source tree
    Command::new("erl")
        .current_dir(std::env::temp_dir())
        .arg("-noshell")
        .arg("-pa")
        .arg(hex_core_ebin())
        .args(["-eval", code])
        .output()
        .expect("erl is needed: apt-get install erlang-nox")
}

/// A binary literal for Erlang source.
pub fn erl_bin(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    format!("<<\"{escaped}\">>")
}
