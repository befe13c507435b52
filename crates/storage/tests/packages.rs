//! Repositories, packages, releases, owners, organizations, audit entries, registry resources
//! and rate-limit counters against a real Postgres.

use hexyard_storage::orgs::{self, MemberChange};
use hexyard_storage::packages::{self, Listing, SearchQuery, Sort};
use hexyard_storage::releases::{self, NewRelease, Requirement};
use hexyard_storage::users::{self, Created, NewUser};
use hexyard_storage::{audit, owners, rate_limits, repositories, resources};
use hexyard_testdb::TestDb;
use serde_json::json;
use time::OffsetDateTime;

async fn user(db: &TestDb, name: &str) -> i64 {
    let mut tx = db.pool.begin().await.unwrap();
    let email = format!("{name}@example.com");
    let new = NewUser {
        username: name,
        email: &email,
        password_hash: None,
        email_verified: true,
        take_over_unconfirmed: false,
    };
    let Created::User(u) = users::create(&mut tx, &new).await.unwrap() else { panic!("taken") };
    tx.commit().await.unwrap();
    u.id
}

fn release<'a>(package_id: i64, version: &'a str, checksum: &'a [u8], meta: &'a serde_json::Value) -> NewRelease<'a> {
    NewRelease { package_id, version, inner_checksum: checksum, outer_checksum: checksum, meta, publisher_id: None }
}

#[tokio::test]
async fn packages_releases_requirements_and_listings() {
    let db = TestDb::new().await;
    let repo = repositories::ensure(&db.pool, "hexyard", true).await.unwrap();
    assert_eq!(repositories::ensure(&db.pool, "hexyard", true).await.unwrap().id, repo.id, "ensure is idempotent");
    let meta = json!({"description": "d"});
    let mut tx = db.pool.begin().await.unwrap();
    let (plug, created) = packages::upsert(&mut tx, repo.id, "plug", &meta).await.unwrap();
    assert!(created);
    let (again, created) = packages::upsert(&mut tx, repo.id, "plug", &json!({"description": "new"})).await.unwrap();
    assert_eq!((again, created), (plug, false));
    let (cowboy, _) = packages::upsert(&mut tx, repo.id, "cowboy", &meta).await.unwrap();
    let (empty, _) = packages::upsert(&mut tx, repo.id, "empty", &meta).await.unwrap();
    let r1 = releases::insert(&mut tx, &release(plug, "1.0.0", &[1; 32], &meta)).await.unwrap();
    releases::insert(&mut tx, &release(cowboy, "2.0.0", &[2; 32], &meta)).await.unwrap();
    let requirement = Requirement {
        release_id: 0,
        dependency_name: "cowboy".into(),
        dependency_repository: "hexyard".into(),
        app: "cowboy".into(),
        requirement: "~> 2.0".into(),
        optional: false,
    };
    releases::insert_requirements(&mut tx, r1, std::slice::from_ref(&requirement)).await.unwrap();
    tx.commit().await.unwrap();

    let stored = releases::requirements_of_package(&db.pool, plug).await.unwrap();
    assert_eq!(stored, vec![Requirement { release_id: r1, ..requirement }]);
    assert_eq!(packages::get(&db.pool, repo.id, "plug").await.unwrap().unwrap().meta.0["description"], "new");
    // a package without releases (only ever inside a transaction) is not named or existing
    let names: Vec<String> = packages::names(&db.pool, repo.id).await.unwrap().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["cowboy", "plug"]);
    let wanted = vec!["plug".to_owned(), "empty".to_owned(), "nope".to_owned()];
    assert_eq!(packages::existing(&db.pool, repo.id, &wanted).await.unwrap(), ["plug"]);
    // listings read packages alone: outside a transaction, a package has a release
    packages::delete(&db.pool, empty).await.unwrap();
    let ids = [repo.id];
    fn page<'a>(ids: &'a [i64], search: Option<&'a SearchQuery>, sort: Sort, page: u32) -> Listing<'a> {
        Listing { repository_ids: ids, search, sort, page, per_page: 100 }
    }
    let listed = packages::list(&db.pool, &page(&ids, None, Sort::Name, 1)).await.unwrap();
    assert_eq!(listed.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["cowboy", "plug"]);
    let term = |t: &str| SearchQuery { terms: vec![t.to_owned()], ..SearchQuery::default() };
    let found = packages::list(&db.pool, &page(&ids, Some(&term("lu")), Sort::Name, 1)).await.unwrap();
    assert!(found.is_empty(), "below 3 characters, only a whole name");
    let found = packages::list(&db.pool, &page(&ids, Some(&term("owb")), Sort::Name, 1)).await.unwrap();
    assert_eq!(found.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["cowboy"], "a substring from 3");
    let wild = packages::list(&db.pool, &page(&ids, Some(&term("%")), Sort::Name, 1)).await.unwrap();
    assert!(wild.is_empty(), "% is matched literally");
    let starred = packages::list(&db.pool, &page(&ids, Some(&term("c*y")), Sort::Name, 1)).await.unwrap();
    assert_eq!(starred.len(), 1, "* is the wildcard");
    assert!(packages::list(&db.pool, &page(&ids, None, Sort::InsertedAt, 2)).await.unwrap().is_empty());

    let summaries = releases::summaries(&db.pool, repo.id).await.unwrap();
    assert_eq!(summaries.len(), 2);
    assert_eq!(releases::summaries_of_package(&db.pool, repo.id, "plug").await.unwrap()[0].version, "1.0.0");
    assert!(releases::checksum_in_use(&db.pool, &[1; 32]).await.unwrap());
    assert!(!releases::checksum_in_use(&db.pool, &[9; 32]).await.unwrap());
    assert_eq!(releases::of_packages(&db.pool, &[plug, cowboy]).await.unwrap().len(), 2);
    assert!(packages::inserted_at(&db.pool, plug).await.unwrap().is_some());

    // replace: new checksum, requirements gone until written again
    let mut tx = db.pool.begin().await.unwrap();
    let (id, old, _) = releases::get_for_update(&mut tx, plug, "1.0.0").await.unwrap().unwrap();
    assert_eq!((id, old), (r1, vec![1; 32]));
    releases::replace(&mut tx, r1, &release(plug, "1.0.0", &[3; 32], &meta)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(releases::get(&db.pool, plug, "1.0.0").await.unwrap().unwrap().outer_checksum, vec![3; 32]);
    assert!(releases::requirements_of_package(&db.pool, plug).await.unwrap().is_empty());
}

#[tokio::test]
async fn concurrent_publishes_of_one_version_have_one_winner() {
    let db = TestDb::new().await;
    let repo = repositories::ensure(&db.pool, "hexyard", true).await.unwrap();
    let pool = db.another_pool(4).await;
    let attempts = (0..4u8).map(|i| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let meta = json!({});
            let mut tx = pool.begin().await.unwrap();
            let (package, _) = packages::upsert(&mut tx, repo.id, "race", &meta).await.unwrap();
            let inserted = releases::insert(&mut tx, &release(package, "1.0.0", &[i; 32], &meta)).await;
            match inserted {
                Ok(_) => tx.commit().await.map_err(hexyard_storage::StorageError::from),
                Err(e) => Err(e),
            }
        })
    });
    let mut won = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(()) => won += 1,
            Err(e) => assert!(e.is_unique_violation("releases_package_id_version_key"), "{e}"),
        }
    }
    assert_eq!(won, 1);
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM releases").fetch_one(&db.pool).await.unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn owners_and_what_they_own() {
    let db = TestDb::new().await;
    let repo = repositories::ensure(&db.pool, "hexyard", true).await.unwrap();
    let (ann, bob) = (user(&db, "ann").await, user(&db, "bob").await);
    let mut tx = db.pool.begin().await.unwrap();
    let (plug, _) = packages::upsert(&mut tx, repo.id, "plug", &json!({})).await.unwrap();
    owners::add(&mut *tx, plug, ann, "full").await.unwrap();
    owners::add(&mut *tx, plug, bob, "maintainer").await.unwrap();
    owners::add(&mut *tx, plug, bob, "full").await.unwrap();
    tx.commit().await.unwrap();
    let all = owners::of_package(&db.pool, plug).await.unwrap();
    assert_eq!(
        all.iter().map(|o| (o.username.as_str(), o.level.as_str())).collect::<Vec<_>>(),
        [("ann", "full"), ("bob", "full")]
    );
    assert_eq!(owners::level(&db.pool, plug, ann).await.unwrap().as_deref(), Some("full"));
    assert_eq!(owners::level(&db.pool, plug, ann + bob).await.unwrap(), None);
    assert_eq!(packages::owned_by(&db.pool, ann, &[repo.id]).await.unwrap()[0].name, "plug");
    assert!(packages::owned_by(&db.pool, ann, &[repo.id + 1]).await.unwrap().is_empty());

    // an organization owns it alone (a transfer); its members hold their roles through it
    let mut tx = db.pool.begin().await.unwrap();
    let orgs::Created::Organization(acme) = orgs::create(&mut tx, "acme", bob, 5).await.unwrap() else { panic!() };
    owners::add_holder(&mut *tx, plug, owners::Holder::Organization(acme.id), "full").await.unwrap();
    assert_eq!(owners::remove_all_but(&mut *tx, plug, owners::Holder::Organization(acme.id)).await.unwrap(), 2);
    tx.commit().await.unwrap();
    let all = owners::of_package(&db.pool, plug).await.unwrap();
    assert_eq!((all.len(), all[0].username.as_str(), all[0].organization_id), (1, "acme", Some(acme.id)));
    assert_eq!(owners::roles_through_organizations(&db.pool, plug, bob).await.unwrap(), ["admin"]);
    assert!(owners::roles_through_organizations(&db.pool, plug, ann).await.unwrap().is_empty());
    assert_eq!(owners::full_owners(&db.pool, plug).await.unwrap(), 1);
    assert!(owners::remove(&db.pool, plug, owners::Holder::Organization(acme.id)).await.unwrap());
    assert!(!owners::remove(&db.pool, plug, owners::Holder::User(ann)).await.unwrap());
}

#[tokio::test]
async fn organizations_seats_roles_and_the_last_admin() {
    let db = TestDb::new().await;
    let (ann, bob, cy) = (user(&db, "ann").await, user(&db, "bob").await, user(&db, "cy_").await);
    let mut tx = db.pool.begin().await.unwrap();
    let orgs::Created::Organization(acme) = orgs::create(&mut tx, "acme", ann, 2).await.unwrap() else { panic!() };
    assert!(matches!(orgs::create(&mut tx, "acme", bob, 2).await.unwrap(), orgs::Created::NameTaken));
    repositories::set_signing_key(&mut *tx, acme.repository_id, b"sealed").await.unwrap();
    tx.commit().await.unwrap();
    let private = repositories::private_by_name(&db.pool, "acme").await.unwrap().unwrap();
    assert_eq!(private.signing_key_sealed.as_deref(), Some(&b"sealed"[..]));
    assert_eq!(repositories::private_all(&db.pool).await.unwrap().len(), 1);
    assert_eq!(orgs::by_id(&db.pool, acme.id).await.unwrap().unwrap().name, "acme");

    let mut tx = db.pool.begin().await.unwrap();
    assert_eq!(orgs::set_member(&mut tx, acme.id, bob, "write").await.unwrap(), MemberChange::Done);
    assert_eq!(orgs::set_member(&mut tx, acme.id, cy, "read").await.unwrap(), MemberChange::NoSeat);
    assert_eq!(orgs::set_member(&mut tx, acme.id, ann, "read").await.unwrap(), MemberChange::LastAdmin);
    assert!(!orgs::set_seats(&mut tx, acme.id, 1).await.unwrap(), "fewer seats than members");
    assert!(orgs::set_seats(&mut tx, acme.id, 3).await.unwrap());
    assert_eq!(orgs::remove_member(&mut tx, acme.id, ann).await.unwrap(), MemberChange::LastAdmin);
    assert_eq!(orgs::remove_member(&mut tx, acme.id, cy).await.unwrap(), MemberChange::NotMember);
    assert_eq!(orgs::remove_member(&mut tx, acme.id, bob).await.unwrap(), MemberChange::Done);
    tx.commit().await.unwrap();
    assert_eq!(orgs::role(&db.pool, acme.id, ann).await.unwrap().as_deref(), Some("admin"));
    assert_eq!(orgs::members(&db.pool, acme.id).await.unwrap().len(), 1);
    assert_eq!(orgs::of_user(&db.pool, ann).await.unwrap()[0].1, "admin");
    assert_eq!(orgs::get(&db.pool, "acme").await.unwrap().unwrap().seats, 3);
}

#[tokio::test]
async fn concurrent_member_additions_never_overshoot_the_seats() {
    let db = TestDb::new().await;
    let ann = user(&db, "ann").await;
    let mut others = Vec::new();
    for name in ["u1_", "u2_", "u3_", "u4_"] {
        others.push(user(&db, name).await);
    }
    let mut tx = db.pool.begin().await.unwrap();
    let orgs::Created::Organization(acme) = orgs::create(&mut tx, "acme", ann, 3).await.unwrap() else { panic!() };
    tx.commit().await.unwrap();
    let pool = db.another_pool(4).await;
    let adds = others.into_iter().map(|id| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut tx = pool.begin().await.unwrap();
            let change = orgs::set_member(&mut tx, acme.id, id, "read").await.unwrap();
            tx.commit().await.unwrap();
            change
        })
    });
    let mut done = 0;
    for add in adds {
        if add.await.unwrap() == MemberChange::Done {
            done += 1;
        }
    }
    assert_eq!(done, 2, "three seats, one taken by the admin");
}

#[tokio::test]
async fn audit_entries_by_user_package_and_organization() {
    let db = TestDb::new().await;
    let ann = user(&db, "ann").await;
    let actor =
        audit::Actor { user_id: Some(ann), key_id: None, ip: Some("127.0.0.1".into()), user_agent: Some("mix".into()) };
    audit::record(&db.pool, &actor, "release.publish", json!({"package": "plug", "repository": "hexyard"}))
        .await
        .unwrap();
    audit::record(
        &db.pool,
        &actor,
        "release.publish",
        json!({"package": "plug", "repository": "acme", "organization": "acme"}),
    )
    .await
    .unwrap();
    audit::record(&db.pool, &audit::Actor::default(), "user.create", json!({})).await.unwrap();
    let mine = audit::of_user(&db.pool, ann, 1, 100).await.unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].params["repository"], "acme", "newest first");
    assert_eq!(audit::of_user(&db.pool, ann, 2, 1).await.unwrap()[0].params["repository"], "hexyard");
    assert_eq!(audit::of_package(&db.pool, "hexyard", "plug", 1, 100).await.unwrap().len(), 1);
    assert_eq!(audit::of_organization(&db.pool, "acme", 1, 100).await.unwrap().len(), 1);
}

#[tokio::test]
async fn registry_resources_keep_the_newest_and_are_announced() {
    let db = TestDb::new().await;
    let repo = repositories::ensure(&db.pool, "hexyard", true).await.unwrap();
    let now = OffsetDateTime::now_utc();
    let resource = |body: &[u8], at: OffsetDateTime| resources::Resource {
        repository_id: repo.id,
        path: "names".into(),
        body: body.to_vec(),
        etag: format!("\"{}\"", body.len()),
        updated_at: at,
    };
    let mut listener = resources::listen(&db.pool).await.unwrap();
    resources::put(&db.pool, &resource(b"new", now)).await.unwrap();
    resources::put(&db.pool, &resource(b"older", now - time::Duration::seconds(5))).await.unwrap();
    assert_eq!(resources::get(&db.pool, repo.id, "names").await.unwrap().unwrap().body, b"new");
    assert_eq!(resources::all(&db.pool).await.unwrap().len(), 1);
    resources::announce(&db.pool, "instance 1 names").await.unwrap();
    let heard = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv()).await.unwrap().unwrap();
    assert_eq!(heard.payload(), "instance 1 names");
}

#[tokio::test]
async fn rate_limit_windows_count_and_prune() {
    let db = TestDb::new().await;
    assert_eq!(rate_limits::hit(&db.pool, "ip:1", 60).await.unwrap(), 1);
    assert_eq!(rate_limits::hit(&db.pool, "ip:1", 60).await.unwrap(), 2);
    assert_eq!(rate_limits::hit(&db.pool, "ip:1", 120).await.unwrap(), 1, "a new window");
    assert_eq!(rate_limits::count(&db.pool, "ip:1", 60).await.unwrap(), 2);
    assert_eq!(rate_limits::count(&db.pool, "ip:2", 60).await.unwrap(), 0);
    assert_eq!(rate_limits::prune(&db.pool, 100).await.unwrap(), 1);
    assert_eq!(rate_limits::count(&db.pool, "ip:1", 60).await.unwrap(), 0);
    let pool = db.another_pool(8).await;
    let hits = (0..20).map(|_| {
        let pool = pool.clone();
        tokio::spawn(async move { rate_limits::hit(&pool, "ip:3", 60).await.unwrap() })
    });
    let mut counts = Vec::new();
    for hit in hits {
        counts.push(hit.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=20).collect::<Vec<_>>(), "concurrent hits are counted one by one");
}

/// With 10,000 packages, every form of search is answered from an index, never by reading the
/// whole table.
#[tokio::test]
async fn searches_use_their_indexes() {
    let db = TestDb::new().await;
    let repo = repositories::ensure(&db.pool, "hexyard", true).await.unwrap();
    // each description word is in about 1% of the packages, as a word like "json" is on hex.pm;
    // the rest of the metadata about as long as a real package's
    sqlx::query(
        "INSERT INTO packages (repository_id, name, meta)
         SELECT $1, 'pkg' || i, jsonb_build_object(
             'description', 'topic' || (i % 97) || ' area' || ((i / 97) % 89) || ' library for the BEAM, with '
                 || 'plenty of prose around the words that matter, as the descriptions of real packages have',
             'licenses', jsonb_build_array('Apache-2.0'),
             'links', jsonb_build_object('GitHub', 'https://github.com/example/pkg' || i, 'Changelog',
                 'https://github.com/example/pkg' || i || '/blob/main/CHANGELOG.md'),
             'maintainers', jsonb_build_array('Someone Somewhere'))
         FROM generate_series(1, 10000) i",
    )
    .bind(repo.id)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO releases (package_id, version, inner_checksum, outer_checksum, meta)
         SELECT id, '1.0.0', sha256(name::bytea), sha256(name::bytea), '{\"build_tools\": [\"mix\"]}' FROM packages",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE packages SET depends = ARRAY['pkg' || (id % 100), 'hexyard:pkg' || (id % 100)]")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("ANALYZE packages").execute(&db.pool).await.unwrap();
    sqlx::query("ANALYZE releases").execute(&db.pool).await.unwrap();

    let ids = [repo.id];
    let name_prefix = ["packages_repository_id_name_key", "packages_name_trgm_idx"];
    for (query, indexes) in [
        (SearchQuery { terms: vec!["topic7".into()], ..SearchQuery::default() }, &["packages_search_idx"][..]),
        (
            SearchQuery { terms: vec!["topic7".into(), "area13".into()], ..SearchQuery::default() },
            &["packages_search_idx"],
        ),
        (SearchQuery { terms: vec!["*kg99*".into()], ..SearchQuery::default() }, &["packages_name_trgm_idx"]),
        (SearchQuery { terms: vec!["pkg99*".into()], ..SearchQuery::default() }, &name_prefix),
        (SearchQuery { depends: Some("pkg7".into()), ..SearchQuery::default() }, &["packages_depends_idx"]),
        (SearchQuery { name: Some("pkg12*".into()), ..SearchQuery::default() }, &name_prefix),
    ] {
        let listing =
            Listing { repository_ids: &ids, search: Some(&query), sort: Sort::Relevance, page: 1, per_page: 100 };
        let plan = packages::explain(&db.pool, &listing).await.unwrap();
        assert!(indexes.iter().any(|i| plan.contains(i)), "{query:?} should use {indexes:?}:\n{plan}");
        assert!(!plan.contains("Seq Scan on packages"), "{query:?} reads the whole table:\n{plan}");
        assert!(!packages::list(&db.pool, &listing).await.unwrap().is_empty(), "{query:?} finds packages");
    }
}
