//! The typed form of `metadata.config`, read from the term tree with one error per bad field.

use std::collections::BTreeMap;

use hexyard_core::{PackageName, RepositoryName, Requirement, RequirementError, Version};
use hexyard_term::Term;
use serde::Serialize;
use serde_json::Value;

use crate::error::{FieldError, TarballError};

/// A package's metadata as its tarball declares it. Publishing rules that depend on the
/// repository (a description and SPDX licenses on public repositories, dependencies that must
/// exist) are the server's; this type holds what any valid tarball holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metadata {
    pub name: PackageName,
    pub version: Version,
    pub app: String,
    pub description: Option<String>,
    pub licenses: Vec<String>,
    pub links: BTreeMap<String, String>,
    pub requirements: Vec<Dependency>,
    /// As declared, or guessed from the top-level files as hex_core guesses when absent.
    pub build_tools: Vec<String>,
    pub elixir: Option<Requirement>,
    pub files: Vec<String>,
    /// Deprecated by Hex, kept when given.
    pub maintainers: Vec<String>,
    /// Free-form, as a JSON object (`null` when absent).
    pub extra: Value,
}

/// One dependency of a release.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dependency {
    pub name: PackageName,
    pub app: String,
    pub requirement: Requirement,
    pub optional: bool,
    /// The repository named by the tarball; absent means the publishing repository.
    pub repository: Option<RepositoryName>,
}

impl Metadata {
    /// Reads the terms of a `metadata.config`, accepting both requirement shapes real clients
    /// write: a list of key-value lists that carry `name` (mix) and a key-value list keyed by
    /// the dependency's name (hex_core, rebar3, Gleam).
    pub fn from_terms(terms: &[Term]) -> Result<Metadata, TarballError> {
        let mut fields: BTreeMap<String, &Term> = BTreeMap::new();
        for term in terms {
            match term {
                Term::Tuple(kv) if kv.len() == 2 => match text(&kv[0]) {
                    // later keys win, as with maps:from_list/1
                    Some(key) => {
                        fields.insert(key, &kv[1]);
                    }
                    None => return Err(not_key_value()),
                },
                _ => return Err(not_key_value()),
            }
        }
        let mut r = FieldReader { fields, errors: Vec::new() };

        let name = r.required("name", |t| Some(PackageName::parse_existing(&text(t)?).map_err(|e| e.to_string())));
        let version = r.required("version", |t| Some(Version::parse_for_release(&text(t)?).map_err(|e| e.to_string())));
        let app = r.required("app", |t| Some(Ok(text(t)?)));
        let description = r.optional("description", |t| Some(Ok(text(t)?)));
        let licenses = r.optional("licenses", |t| Some(Ok(text_list(t)?))).unwrap_or_default();
        let links = r
            .optional("links", |t| {
                Some(Ok(pairs(t)?.into_iter().map(|(k, v)| Some((k, text(v)?))).collect::<Option<_>>()?))
            })
            .unwrap_or_default();
        let files = r.optional("files", |t| Some(Ok(text_list(t)?))).unwrap_or_default();
        let maintainers = r.optional("maintainers", |t| Some(Ok(text_list(t)?))).unwrap_or_default();
        let build_tools =
            r.optional("build_tools", |t| Some(Ok(text_list(t)?))).unwrap_or_else(|| guess_build_tools(&files));
        let elixir = r.optional("elixir", |t| Some(Requirement::parse(&text(t)?).map_err(|e| e.to_string())));
        let extra = r.optional("extra", |t| Some(Ok(to_value(t)))).unwrap_or(Value::Null);
        let requirements = match r.fields.get("requirements") {
            Some(t) => read_requirements(t, &mut r.errors),
            None => Vec::new(),
        };

        match (name, version, app) {
            (Some(name), Some(version), Some(app)) if r.errors.is_empty() => Metadata {
                name,
                version,
                app,
                description,
                licenses,
                links,
                requirements,
                build_tools,
                elixir,
                files,
                maintainers,
                extra,
            }
            .checked_text(),
            _ => Err(TarballError::Metadata(r.errors)),
        }
    }

    /// The metadata, unless a string of it holds a control character (`hexyard_core::text`):
    /// none of it may reach storage.
    fn checked_text(self) -> Result<Metadata, TarballError> {
        use hexyard_core::text::{find_in_json, forbidden_char, message};
        let mut texts: Vec<(&str, &str)> = vec![("app", &self.app)];
        texts.extend(self.description.as_deref().map(|d| ("description", d)));
        texts.extend(self.licenses.iter().map(|l| ("licenses", l.as_str())));
        texts.extend(self.links.iter().flat_map(|(k, v)| [("links", k.as_str()), ("links", v.as_str())]));
        texts.extend(self.build_tools.iter().map(|t| ("build_tools", t.as_str())));
        texts.extend(self.files.iter().map(|f| ("files", f.as_str())));
        texts.extend(self.maintainers.iter().map(|m| ("maintainers", m.as_str())));
        texts.extend(self.requirements.iter().map(|d| ("requirements", d.app.as_str())));
        let mut errors: Vec<FieldError> = texts
            .into_iter()
            .filter_map(|(field, text)| Some(FieldError::new(field, message(forbidden_char(text)?))))
            .take(1)
            .collect();
        if errors.is_empty()
            && let Some((_, text)) = find_in_json(&serde_json::json!({ "extra": &self.extra }))
        {
            errors.push(FieldError::new("extra", text));
        }
        if errors.is_empty() { Ok(self) } else { Err(TarballError::Metadata(errors)) }
    }

    /// The terms of a `metadata.config` for this metadata, in hex_core's shape: binary keys,
    /// requirements keyed by name.
    pub fn to_terms(&self) -> Vec<Term> {
        let bin = |s: &str| Term::binary(s);
        let list = |items: &[String]| Term::List(items.iter().map(|s| bin(s)).collect());
        let kv = |k: &str, v: Term| Term::Tuple(vec![bin(k), v]);
        let mut terms = vec![kv("app", bin(&self.app)), kv("build_tools", list(&self.build_tools))];
        if let Some(description) = &self.description {
            terms.push(kv("description", bin(description)));
        }
        if let Some(elixir) = &self.elixir {
            terms.push(kv("elixir", bin(elixir.as_str())));
        }
        if !self.extra.is_null() {
            terms.push(kv("extra", from_value(&self.extra)));
        }
        terms.push(kv("files", list(&self.files)));
        terms.push(kv("licenses", list(&self.licenses)));
        terms.push(kv("links", Term::List(self.links.iter().map(|(k, v)| kv(k, bin(v))).collect())));
        if !self.maintainers.is_empty() {
            terms.push(kv("maintainers", list(&self.maintainers)));
        }
        terms.push(kv("name", bin(self.name.as_str())));
        let requirements = self.requirements.iter().map(|d| {
            let mut fields =
                vec![kv("app", bin(&d.app)), kv("optional", Term::atom(if d.optional { "true" } else { "false" }))];
            if let Some(repo) = &d.repository {
                fields.push(kv("repository", bin(repo.as_str())));
            }
            fields.push(kv("requirement", bin(d.requirement.as_str())));
            kv(d.name.as_str(), Term::List(fields))
        });
        terms.push(kv("requirements", Term::List(requirements.collect())));
        terms.push(kv("version", bin(&self.version.to_string())));
        terms
    }
}

fn not_key_value() -> TarballError {
    TarballError::MetadataSyntax("not in key-value format".into())
}

/// Reads fields, collecting an error for each one that is missing or malformed.
struct FieldReader<'a> {
    fields: BTreeMap<String, &'a Term>,
    errors: Vec<FieldError>,
}

impl FieldReader<'_> {
    /// `read` gives `None` for a term of the wrong shape, `Some(Err)` for a bad value.
    fn optional<T>(&mut self, key: &str, read: impl FnOnce(&Term) -> Option<Result<T, String>>) -> Option<T> {
        let term = self.fields.get(key)?;
        match read(term) {
            Some(Ok(v)) => Some(v),
            Some(Err(message)) => {
                self.errors.push(FieldError::new(key, message));
                None
            }
            None => {
                self.errors.push(FieldError::new(key, "has the wrong type"));
                None
            }
        }
    }

    fn required<T>(&mut self, key: &str, read: impl FnOnce(&Term) -> Option<Result<T, String>>) -> Option<T> {
        if !self.fields.contains_key(key) {
            self.errors.push(FieldError::new(key, "can't be blank"));
            return None;
        }
        self.optional(key, read)
    }
}

fn read_requirements(term: &Term, errors: &mut Vec<FieldError>) -> Vec<Dependency> {
    let entries: Vec<(Option<String>, &Term)> = match term {
        Term::List(items) => items
            .iter()
            .map(|item| match item {
                // kvlist keyed by name: {<<"foo">>, [{<<"app">>, ...}, ...]}
                Term::Tuple(kv) if kv.len() == 2 && text(&kv[0]).is_some() => (text(&kv[0]), &kv[1]),
                // list of kvlists carrying name: [{<<"name">>, <<"foo">>}, ...]
                other => (None, other),
            })
            .collect(),
        Term::Map(pairs) => pairs.iter().map(|(k, v)| (text(k), v)).collect(),
        _ => {
            errors.push(FieldError::new("requirements", "has the wrong type"));
            return Vec::new();
        }
    };
    let mut deps = Vec::new();
    for (key, body) in entries {
        let Some(fields) = pairs(body) else {
            errors.push(FieldError::new("requirements", "invalid requirement format"));
            continue;
        };
        let get = |k: &str| fields.iter().find(|(name, _)| name == k).map(|(_, v)| *v);
        let Some(name) = key.or_else(|| get("name").and_then(text)) else {
            errors.push(FieldError::new("requirements", "a requirement has no name"));
            continue;
        };
        let field = |f: &str| format!("requirements.{name}.{f}");
        let package = match PackageName::parse_existing(&name) {
            Ok(n) => Some(n),
            Err(e) => {
                errors.push(FieldError::new(format!("requirements.{name}"), format!("name {e}")));
                None
            }
        };
        let requirement = match get("requirement").and_then(text) {
            Some(raw) => match Requirement::parse(&raw) {
                Ok(req) => Some(req),
                Err(e @ RequirementError::Invalid(_)) if raw == "nil" => {
                    errors.push(FieldError::new(field("requirement"), format!("{e}, use \">= 0.0.0\" instead")));
                    None
                }
                Err(e) => {
                    errors.push(FieldError::new(field("requirement"), e.to_string()));
                    None
                }
            },
            None => {
                errors.push(FieldError::new(field("requirement"), "can't be blank"));
                None
            }
        };
        let optional = match get("optional") {
            None => Some(false),
            Some(t) => match t.as_atom().or_else(|| t.as_binary().and_then(|b| std::str::from_utf8(b).ok())) {
                Some("true") => Some(true),
                Some("false" | "nil" | "undefined") => Some(false),
                _ => {
                    errors.push(FieldError::new(field("optional"), "must be true or false"));
                    None
                }
            },
        };
        let app = match get("app") {
            None => Some(name.clone()),
            Some(t) => text(t).or_else(|| {
                errors.push(FieldError::new(field("app"), "has the wrong type"));
                None
            }),
        };
        let repository = match get("repository").map(text) {
            None => Some(None),
            Some(Some(repo)) => match RepositoryName::parse(&repo) {
                Ok(r) => Some(Some(r)),
                Err(e) => {
                    errors.push(FieldError::new(field("repository"), e.to_string()));
                    None
                }
            },
            Some(None) => {
                errors.push(FieldError::new(field("repository"), "has the wrong type"));
                None
            }
        };
        if let (Some(name), Some(requirement), Some(optional), Some(app), Some(repository)) =
            (package, requirement, optional, app, repository)
        {
            deps.push(Dependency { name, app, requirement, optional, repository });
        }
    }
    deps
}

/// hex_core's guess when `build_tools` is absent, from the top-level files.
fn guess_build_tools(files: &[String]) -> Vec<String> {
    let mut tools: Vec<String> = Vec::new();
    for file in files.iter().filter(|f| !f.contains('/')) {
        let tool = match file.as_str() {
            "mix.exs" => "mix",
            "rebar.config" | "rebar.config.script" | "rebar" | "rebar.lock" => "rebar3",
            "Makefile" | "Makefile.win" | "erlang.mk" => "make",
            _ => continue,
        };
        if !tools.iter().any(|t| t == tool) {
            tools.push(tool.to_owned());
        }
    }
    tools
}

/// A string from a binary (UTF-8, or latin-1 when it is not) or from a charlist.
fn text(term: &Term) -> Option<String> {
    match term {
        Term::Binary(bytes) => Some(match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
        }),
        Term::List(items) => items
            .iter()
            .map(|t| match t {
                Term::Integer(n) => u32::try_from(*n).ok().and_then(char::from_u32),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn text_list(term: &Term) -> Option<Vec<String>> {
    match term {
        Term::List(items) => items.iter().map(text).collect(),
        _ => None,
    }
}

/// The pairs of a key-value list (`[{K, V}]`) or map with string keys.
fn pairs(term: &Term) -> Option<Vec<(String, &Term)>> {
    match term {
        Term::List(items) => items
            .iter()
            .map(|item| match item {
                Term::Tuple(kv) if kv.len() == 2 => Some((text(&kv[0])?, &kv[1])),
                _ => None,
            })
            .collect(),
        Term::Map(kvs) => kvs.iter().map(|(k, v)| Some((text(k)?, v))).collect(),
        _ => None,
    }
}

/// Free-form metadata (`extra`) as JSON: key-value lists become objects.
fn to_value(term: &Term) -> Value {
    match term {
        Term::Atom(a) => match a.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "nil" | "undefined" => Value::Null,
            other => Value::String(other.to_owned()),
        },
        Term::Integer(n) => i64::try_from(*n).map(Value::from).unwrap_or_else(|_| Value::String(n.to_string())),
        Term::Float(f) => serde_json::Number::from_f64(*f).map(Value::Number).unwrap_or(Value::Null),
        Term::Binary(_) => Value::String(text(term).unwrap_or_default()),
        Term::List(items) if !items.is_empty() => match pairs(term) {
            Some(kvs) => Value::Object(kvs.into_iter().map(|(k, v)| (k, to_value(v))).collect()),
            None => Value::Array(items.iter().map(to_value).collect()),
        },
        Term::Map(_) => match pairs(term) {
            Some(kvs) => Value::Object(kvs.into_iter().map(|(k, v)| (k, to_value(v))).collect()),
            None => Value::Null,
        },
        Term::List(items) | Term::Tuple(items) => Value::Array(items.iter().map(to_value).collect()),
    }
}

/// The reverse of [`to_value`], for building tarballs: objects become key-value lists.
fn from_value(value: &Value) -> Term {
    match value {
        Value::Null => Term::atom("nil"),
        Value::Bool(b) => Term::atom(if *b { "true" } else { "false" }),
        Value::Number(n) => n.as_i64().map(|i| Term::Integer(i.into())).unwrap_or_else(|| Term::binary(&n.to_string())),
        Value::String(s) => Term::binary(s),
        Value::Array(items) => Term::List(items.iter().map(from_value).collect()),
        Value::Object(map) => {
            Term::List(map.iter().map(|(k, v)| Term::Tuple(vec![Term::binary(k), from_value(v)])).collect())
        }
    }
}
