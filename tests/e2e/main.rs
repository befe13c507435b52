//! End-to-end tests: the built `hexyard` binary with its embedded Postgres, driven over HTTP by
//! the real clients (rebar3, hex_core as bundled in rebar3, Gleam's `hexpm` crate) and by hand.

mod a11y;
mod api;
mod backup;
mod chrome;
mod clients;
mod crash;
mod docs;
mod downloads;
mod hostile;
mod lifecycle;
mod mail;
mod matrix;
mod mirror;
mod mix;
mod oauth;
mod operations;
mod orgs;
mod ratelimit;
mod replicas;
mod review;
mod s3;
mod search;
mod support;
mod text;
mod tfa;
mod upstream;
mod v1;
mod web;
