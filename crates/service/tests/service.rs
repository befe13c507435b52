//! The use cases against a real Postgres and a blob store on disk: the races, the rules and
//! the defects found in review, below the HTTP layer.

mod support;

use hexyard_core::{KeyName, UserRef};
use hexyard_service::keys::{self, KeyOwner, KeyRequest};
use hexyard_service::publish::{PublishRequest, publish};
use hexyard_service::users::{self, Registration};
use hexyard_service::{Error, Origin, authz, orgs};
use support::{tarball, world};

fn registration(username: &str, email: &str, password: &str) -> Registration {
    Registration {
        username: Some(username.into()),
        email: Some(email.into()),
        password: Some(password.into()),
        full_name: None,
    }
}

fn field(e: &Error, name: &str) -> Option<String> {
    match e {
        Error::Invalid(fields) => fields.get(name).and_then(|v| v.as_str()).map(str::to_owned),
        _ => None,
    }
}

#[tokio::test]
async fn concurrent_registrations_of_one_name_make_one_account() {
    let w = world().await;
    let services = std::sync::Arc::new(w.services);
    let attempts: Vec<_> = (0..6)
        .map(|i| {
            let services = services.clone();
            tokio::spawn(async move {
                let r = registration("racer", &format!("r{i}@example.com"), &format!("password {i}"));
                users::register(&services, &r, &Origin::default()).await
            })
        })
        .collect();
    let mut ok = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(field(&e, "username").as_deref(), Some("has already been taken"), "{e:?}"),
        }
    }
    assert_eq!(ok, 1, "one registration wins, the others find the name taken");
}

#[tokio::test]
async fn the_same_registration_again_is_the_same_account() {
    let w = world().await;
    let services = std::sync::Arc::new(w.services);
    let attempts: Vec<_> = (0..4)
        .map(|_| {
            let services = services.clone();
            tokio::spawn(async move {
                let r = registration("eve", "eve@example.com", "correct horse");
                users::register(&services, &r, &Origin::default()).await.map(|u| u.id)
            })
        })
        .collect();
    let mut ids = Vec::new();
    for attempt in attempts {
        ids.push(attempt.await.unwrap().unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "retries answer the one account");
    // another password is not a retry: it may not take the unconfirmed account over
    let origin = Origin::default();
    let other = users::register(&services, &registration("eve", "eve@example.com", "other pass"), &origin).await;
    assert_eq!(field(&other.unwrap_err(), "username").as_deref(), Some("has already been taken"));
    let other = users::register(&services, &registration("eve2", "EVE@example.com", "x password"), &origin).await;
    assert_eq!(field(&other.unwrap_err(), "email").as_deref(), Some("already in use"));
}

#[tokio::test]
async fn an_email_finds_a_profile_only_when_public_and_confirmed() {
    let w = world().await;
    let alice = w.user("alice").await;
    let by_email = UserRef::parse("alice@example.com").unwrap();
    assert!(matches!(users::profile(&w.services, &by_email).await, Err(Error::NotFound)));
    let id = alice.user.as_ref().unwrap().id;
    sqlx::query("UPDATE emails SET is_public = true WHERE user_id = $1").bind(id).execute(&w.db.pool).await.unwrap();
    assert_eq!(users::profile(&w.services, &by_email).await.unwrap().0.username, "alice");
}

#[tokio::test]
async fn a_taken_key_name_becomes_name_2_then_name_3() {
    let w = world().await;
    let ann = w.user("ann").await;
    let request = KeyRequest { name: Some("laptop".into()), ..Default::default() };
    let names: Vec<String> = futures_names(&w, &ann, &request, 3).await;
    assert_eq!(names, ["laptop", "laptop-2", "laptop-3"]);
    // a revoked key's name is free again
    keys::revoke_own(&w.services, &ann, &KeyName::parse("laptop-2").unwrap()).await.unwrap();
    assert_eq!(keys::create_own(&w.services, &ann, &request).await.unwrap().key.name, "laptop-2");
}

async fn futures_names(
    w: &support::World,
    who: &hexyard_service::Principal,
    request: &KeyRequest,
    n: usize,
) -> Vec<String> {
    let mut names = Vec::new();
    for _ in 0..n {
        names.push(keys::create_own(&w.services, who, request).await.unwrap().key.name);
    }
    names
}

#[tokio::test]
async fn revocation_times_past_the_year_9999_are_refused_not_a_panic() {
    let w = world().await;
    let ann = w.user("ann").await;
    for bad in ["9999-12-31T23:59:59-23:59", "2001-01-01T00:00:00Z", "soon"] {
        let request = KeyRequest { name: Some("k".into()), revoke_at: Some(bad.into()), ..Default::default() };
        let e = keys::create_own(&w.services, &ann, &request).await.unwrap_err();
        assert!(field(&e, "revoke_at").is_some(), "{bad}: {e:?}");
    }
    let request = KeyRequest {
        name: Some("k".into()),
        revoke_at: Some("2999-01-01T00:00:00+01:00".into()),
        ..Default::default()
    };
    let key = keys::create_own(&w.services, &ann, &request).await.unwrap().key;
    assert_eq!(key.revoke_at.unwrap().year(), 2998, "kept in UTC");
}

#[tokio::test]
async fn an_organization_key_holds_only_the_api_and_its_own_repository() {
    let w = world().await;
    let ann = w.user("ann").await;
    let org = orgs::create(&w.services, "acme", ann.user.as_ref().unwrap().id, 5, &Default::default()).await.unwrap();
    let request = |perms: Vec<(&str, Option<&str>)>| KeyRequest {
        name: Some("ci".into()),
        permissions: Some(perms.into_iter().map(|(d, r)| (d.to_owned(), r.map(str::to_owned))).collect()),
        revoke_at: None,
    };
    for bad in [vec![("repositories", None)], vec![("repository", Some("other"))], vec![("package", Some("plug"))]] {
        let e = keys::create(&w.services, KeyOwner::Organization(&org), &request(bad), &Default::default()).await;
        assert!(field(&e.unwrap_err(), "permissions").is_some());
    }
    let ok = keys::create(
        &w.services,
        KeyOwner::Organization(&org),
        &request(vec![("api", Some("write"))]),
        &Default::default(),
    )
    .await
    .unwrap();
    let ci = w.principal(&ok.secret).await;
    assert_eq!(ci.organization.as_ref().map(|o| o.name.as_str()), Some("acme"));
    let default = KeyRequest { name: Some("fetch".into()), ..Default::default() };
    let fetch = keys::create(&w.services, KeyOwner::Organization(&org), &default, &Default::default()).await.unwrap();
    assert_eq!(fetch.key.permissions.0[0].resource.as_deref(), Some("acme"));
}

#[tokio::test]
async fn concurrent_publishes_of_one_version_have_one_winner_and_leave_one_blob() {
    let w = world().await;
    let ann = w.user("ann").await;
    let services = std::sync::Arc::new(w.services);
    let repo = services.public().clone();
    let attempts: Vec<_> = (0..4)
        .map(|i| {
            let (services, repo, ann) = (services.clone(), repo.clone(), ann.clone());
            tokio::spawn(async move {
                let body = tarball("race", "1.0.0", &format!("salt {i}"));
                let request = PublishRequest { repo: &repo, url_name: None, replace: false, body, principal: &ann };
                publish(&services, request).await.map(|p| p.release.outer_checksum)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(checksum) => winners.push(checksum),
            Err(e) => assert!(field(&e, "version").is_some() || field(&e, "inserted_at").is_some(), "{e:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    let w_blobs = walk_count(&w.blobs);
    assert_eq!(w_blobs, 1, "the losers' tarballs were removed");
    let stored = repo.tarball("race-1.0.0").unwrap();
    assert_eq!(stored.outer_checksum, winners[0]);
}

fn walk_count(dir: &tempfile::TempDir) -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|e| e.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum())
            .unwrap_or(0)
    }
    walk(&dir.path().join("tarballs"))
}

#[tokio::test]
async fn only_owners_publish_new_versions_of_a_public_package() {
    let w = world().await;
    let (ann, bob) = (w.user("ann").await, w.user("bob").await);
    let repo = w.services.public().clone();
    let first = PublishRequest {
        repo: &repo,
        url_name: Some("plug"),
        replace: false,
        body: tarball("plug", "1.0.0", ""),
        principal: &ann,
    };
    publish(&w.services, first).await.unwrap();
    let by_bob = PublishRequest {
        repo: &repo,
        url_name: None,
        replace: false,
        body: tarball("plug", "1.1.0", ""),
        principal: &bob,
    };
    assert!(matches!(publish(&w.services, by_bob).await, Err(Error::Forbidden(_))));
    let mismatch = PublishRequest {
        repo: &repo,
        url_name: Some("other"),
        replace: false,
        body: tarball("plug", "1.2.0", ""),
        principal: &ann,
    };
    assert!(field(&publish(&w.services, mismatch).await.unwrap_err(), "name").is_some());
    assert_eq!(w.blob_count(), 1, "refused publishes store nothing");
}

#[tokio::test]
async fn organizations_exist_only_for_their_members() {
    let w = world().await;
    let (ann, bob, cy) = (w.user("ann").await, w.user("bob").await, w.user("cyd").await);
    orgs::create(&w.services, "acme", ann.user.as_ref().unwrap().id, 5, &Default::default()).await.unwrap();
    let bob_ref = UserRef::parse("bob").unwrap();
    orgs::set_member(&w.services, &ann, "acme", &bob_ref, hexyard_core::Role::Read).await.unwrap();

    let repo = w.services.repository(Some("acme")).await.unwrap().unwrap();
    assert!(authz::may_read(&w.services, &repo, Some(&bob)).await.unwrap());
    assert!(!authz::may_read(&w.services, &repo, Some(&cy)).await.unwrap());
    assert!(!authz::may_read(&w.services, &repo, None).await.unwrap());
    assert!(matches!(orgs::members(&w.services, &cy, "acme").await, Err(Error::NotFound)), "an outsider");
    assert!(matches!(orgs::set_seats(&w.services, &bob, "acme", 9).await, Err(Error::Forbidden(_))), "a reader");
    assert_eq!(orgs::set_seats(&w.services, &ann, "acme", 9).await.unwrap().seats, 9);
    // names: the rules, hex.pm's name and the public repository's
    for taken in ["hexpm", "hexyard", "acme"] {
        let e = orgs::create(&w.services, taken, 1, 5, &Default::default()).await.unwrap_err();
        assert_eq!(field(&e, "name").as_deref(), Some("has already been taken"), "{taken}");
    }
    assert!(
        field(&orgs::create(&w.services, "Bad-Name", 1, 5, &Default::default()).await.unwrap_err(), "name").is_some()
    );
}
