//! Users, keys, sessions, OAuth and 2FA rows against a real Postgres (a clone of the migrated
//! template per test).

use hexyard_storage::keys::{self, NewKey, Owner, StoredPermission};
use hexyard_storage::users::{self, Created, NewUser};
use hexyard_storage::{oauth, sessions, tfa};
use hexyard_testdb::TestDb;
use time::{Duration, OffsetDateTime};

fn new_user<'a>(username: &'a str, email: &'a str) -> NewUser<'a> {
    NewUser { username, email, password_hash: Some("hash"), email_verified: false, take_over_unconfirmed: false }
}

async fn create(db: &TestDb, username: &str, email: &str, verified: bool) -> users::User {
    let mut tx = db.pool.begin().await.unwrap();
    let created = users::create(&mut tx, &NewUser { email_verified: verified, ..new_user(username, email) }).await;
    tx.commit().await.unwrap();
    match created.unwrap() {
        Created::User(u) => u,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn users_are_unique_by_name_and_email_case_insensitively() {
    let db = TestDb::new().await;
    let ann = create(&db, "ann", "ann@example.com", true).await;
    assert_eq!(ann.email.as_deref(), Some("ann@example.com"));
    let mut tx = db.pool.begin().await.unwrap();
    assert!(matches!(
        users::create(&mut tx, &new_user("ANN", "other@example.com")).await.unwrap(),
        Created::UsernameTaken(holder) if holder.id == ann.id
    ));
    assert!(matches!(users::create(&mut tx, &new_user("bob", "ANN@example.com")).await.unwrap(), Created::EmailTaken));
    drop(tx);
    assert_eq!(users::by_name_or_email(&db.pool, "ann@EXAMPLE.com").await.unwrap().unwrap().id, ann.id);
    assert_eq!(users::by_username(&db.pool, "Ann").await.unwrap().unwrap().id, ann.id);
}

#[tokio::test]
async fn an_unconfirmed_account_holds_its_name_until_its_link_expires() {
    let db = TestDb::new().await;
    let first = create(&db, "eve", "eve@example.com", false).await;
    let mut tx = db.pool.begin().await.unwrap();
    assert!(matches!(
        users::create(&mut tx, &new_user("eve", "x@example.com")).await.unwrap(),
        Created::UsernameTaken(_)
    ));
    drop(tx);
    // a day later the unconfirmed account gives way
    sqlx::query("UPDATE users SET inserted_at = now() - interval '25 hours' WHERE id = $1")
        .bind(first.id)
        .execute(&db.pool)
        .await
        .unwrap();
    let second = create(&db, "eve", "x@example.com", false).await;
    assert_ne!(second.id, first.id);
    assert!(users::by_id(&db.pool, first.id).await.unwrap().is_none());
    // the operator takes over at once
    let mut tx = db.pool.begin().await.unwrap();
    let new = NewUser { take_over_unconfirmed: true, ..new_user("eve", "eve@example.com") };
    assert!(matches!(users::create(&mut tx, &new).await.unwrap(), Created::User(_)));
}

#[tokio::test]
async fn concurrent_sign_ups_of_one_name_make_one_account() {
    let db = TestDb::new().await;
    let pool = db.another_pool(6).await;
    let attempts = (0..6).map(|i| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut tx = pool.begin().await.unwrap();
            let email = format!("racer{i}@example.com");
            let created = users::create(&mut tx, &new_user("racer", &email)).await.unwrap();
            tx.commit().await.unwrap();
            created
        })
    });
    let mut made = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Created::User(_) => made += 1,
            Created::UsernameTaken(_) => {}
            Created::EmailTaken => panic!("every email differs"),
        }
    }
    assert_eq!(made, 1);
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM users").fetch_one(&db.pool).await.unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn only_public_confirmed_emails_find_a_user_publicly() {
    let db = TestDb::new().await;
    let alice = create(&db, "alice", "alice@example.com", true).await;
    assert!(users::by_name_or_public_email(&db.pool, "alice@example.com").await.unwrap().is_none(), "private");
    sqlx::query("UPDATE emails SET is_public = true WHERE user_id = $1")
        .bind(alice.id)
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(users::by_name_or_public_email(&db.pool, "ALICE@example.com").await.unwrap().unwrap().id, alice.id);
    sqlx::query("UPDATE emails SET verified = false WHERE user_id = $1")
        .bind(alice.id)
        .execute(&db.pool)
        .await
        .unwrap();
    assert!(users::by_name_or_public_email(&db.pool, "alice@example.com").await.unwrap().is_none(), "unconfirmed");
    assert_eq!(users::by_name_or_public_email(&db.pool, "alice").await.unwrap().unwrap().id, alice.id);
}

#[tokio::test]
async fn confirmation_and_password_reset_keys() {
    let db = TestDb::new().await;
    let mia = create(&db, "mia", "mia@example.com", false).await;
    users::set_full_name(&db.pool, mia.id, "Mia Example").await.unwrap();
    assert_eq!(users::by_id(&db.pool, mia.id).await.unwrap().unwrap().full_name.as_deref(), Some("Mia Example"));
    users::set_verification_key(&db.pool, mia.id, b"key").await.unwrap();
    assert!(!users::confirm_email(&db.pool, mia.id, b"wrong").await.unwrap());
    assert!(users::confirm_email(&db.pool, mia.id, b"key").await.unwrap());
    assert!(!users::confirm_email(&db.pool, mia.id, b"key").await.unwrap(), "a key works once");
    assert!(users::by_id(&db.pool, mia.id).await.unwrap().unwrap().email_verified);

    let session = sessions::NewSession {
        user_id: mia.id,
        token_hash: b"session",
        csrf_token: "csrf",
        ip: None,
        user_agent: None,
        expires_at: OffsetDateTime::now_utc() + Duration::days(1),
        tfa_pending: false,
    };
    sessions::create(&db.pool, &session).await.unwrap();
    users::create_password_reset(&db.pool, mia.id, b"reset", "mia@example.com").await.unwrap();
    assert!(users::password_reset_live(&db.pool, mia.id, b"reset").await.unwrap());
    let mut tx = db.pool.begin().await.unwrap();
    assert!(!users::reset_password(&mut tx, mia.id, b"other", "new").await.unwrap());
    assert!(users::reset_password(&mut tx, mia.id, b"reset", "new").await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(users::by_id(&db.pool, mia.id).await.unwrap().unwrap().password_hash.as_deref(), Some("new"));
    assert!(!users::password_reset_live(&db.pool, mia.id, b"reset").await.unwrap());
    assert!(sessions::by_token(&db.pool, b"session").await.unwrap().is_none(), "signed out everywhere");
}

fn key<'a>(owner: Owner, name: &'a str, prefix: &'a str, perms: &'a [StoredPermission]) -> NewKey<'a> {
    NewKey { owner, name, secret_prefix: prefix, secret_hmac: b"hmac", permissions: perms, revoke_at: None }
}

#[tokio::test]
async fn keys_by_owner_name_prefix_and_expiry() {
    let db = TestDb::new().await;
    let ann = create(&db, "ann", "ann@example.com", true).await;
    let perms = [StoredPermission { domain: "api".into(), resource: None }];
    let mut tx = db.pool.begin().await.unwrap();
    let laptop = keys::create(&mut tx, &key(Owner::User(ann.id), "laptop", "aaaa", &perms)).await.unwrap().unwrap();
    assert!(keys::create(&mut tx, &key(Owner::User(ann.id), "laptop", "bbbb", &perms)).await.unwrap().is_none());
    let expired = NewKey {
        revoke_at: Some(OffsetDateTime::now_utc() - Duration::seconds(1)),
        ..key(Owner::User(ann.id), "old", "aaaa", &perms)
    };
    keys::create(&mut tx, &expired).await.unwrap().unwrap();
    tx.commit().await.unwrap();

    let found = keys::candidates(&db.pool, "aaaa").await.unwrap();
    assert_eq!(found.iter().map(|k| k.id).collect::<Vec<_>>(), vec![laptop.id], "an expired key is no candidate");
    assert_eq!(keys::live_names(&db.pool, Owner::User(ann.id)).await.unwrap().len(), 2);
    keys::touch(&db.pool, laptop.id, Some("127.0.0.1"), Some("mix")).await.unwrap();
    let got = keys::get(&db.pool, Owner::User(ann.id), "laptop").await.unwrap().unwrap();
    assert_eq!((got.last_use_ip.as_deref(), got.last_use_user_agent.as_deref()), (Some("127.0.0.1"), Some("mix")));
    assert_eq!(keys::list(&db.pool, Owner::User(ann.id)).await.unwrap().len(), 2);

    assert!(keys::revoke(&db.pool, Owner::User(ann.id), "laptop").await.unwrap().is_some());
    assert!(keys::revoke(&db.pool, Owner::User(ann.id), "laptop").await.unwrap().is_none());
    // a revoked name is free again
    let mut tx = db.pool.begin().await.unwrap();
    assert!(keys::create(&mut tx, &key(Owner::User(ann.id), "laptop", "cccc", &perms)).await.unwrap().is_some());
    tx.commit().await.unwrap();
    assert_eq!(keys::revoke_all(&db.pool, Owner::User(ann.id)).await.unwrap(), 2);
    assert!(keys::list(&db.pool, Owner::User(ann.id)).await.unwrap().is_empty());
}

#[tokio::test]
async fn sessions_live_until_revoked_or_expired() {
    let db = TestDb::new().await;
    let ann = create(&db, "ann", "ann@example.com", true).await;
    let new = |hash: &'static [u8], expires: OffsetDateTime| sessions::NewSession {
        user_id: ann.id,
        token_hash: hash,
        csrf_token: "csrf",
        ip: Some("127.0.0.1"),
        user_agent: Some("browser"),
        expires_at: expires,
        tfa_pending: true,
    };
    let now = OffsetDateTime::now_utc();
    let id = sessions::create(&db.pool, &new(b"one", now + Duration::days(1))).await.unwrap();
    sessions::create(&db.pool, &new(b"old", now - Duration::seconds(1))).await.unwrap();
    assert!(sessions::by_token(&db.pool, b"old").await.unwrap().is_none());
    let live = sessions::by_token(&db.pool, b"one").await.unwrap().unwrap();
    assert!(live.tfa_pending);
    sessions::complete_tfa(&db.pool, id).await.unwrap();
    assert!(!sessions::by_token(&db.pool, b"one").await.unwrap().unwrap().tfa_pending);
    assert_eq!(sessions::of_user(&db.pool, ann.id).await.unwrap().len(), 1);
    assert!(!sessions::revoke(&db.pool, ann.id + 1, id).await.unwrap(), "only the owner revokes");
    assert!(sessions::revoke(&db.pool, ann.id, id).await.unwrap());
    assert!(sessions::by_token(&db.pool, b"one").await.unwrap().is_none());
}

#[tokio::test]
async fn device_flow_grants_tokens_and_revocation() {
    let db = TestDb::new().await;
    let ann = create(&db, "ann", "ann@example.com", true).await;
    let scopes = vec!["api".to_owned()];
    let device = oauth::NewDevice {
        device_code_hash: b"device",
        user_code: "ABCD2345",
        client_id: "client",
        client_name: Some("Hex CLI"),
        scopes: &scopes,
        interval_seconds: 5,
        expires_at: OffsetDateTime::now_utc() + Duration::minutes(10),
    };
    oauth::create_device(&db.pool, &device).await.unwrap();
    let pending = oauth::device_by_user_code(&db.pool, "ABCD2345").await.unwrap().unwrap();
    assert_eq!(pending.status, "pending");
    assert!(oauth::decide(&db.pool, pending.id, ann.id, true, &scopes).await.unwrap());
    assert!(!oauth::decide(&db.pool, pending.id, ann.id, false, &scopes).await.unwrap(), "decided once");
    let mut tx = db.pool.begin().await.unwrap();
    let polled = oauth::device_for_poll(&mut tx, b"device").await.unwrap().unwrap();
    assert_eq!((polled.status.as_str(), polled.user_id), ("approved", Some(ann.id)));
    oauth::polled(&mut *tx, polled.id, 10).await.unwrap();
    oauth::mark_device_used(&mut *tx, polled.id).await.unwrap();
    let grant =
        oauth::create_grant(&mut *tx, ann.id, "client", &scopes, OffsetDateTime::now_utc() + Duration::days(30))
            .await
            .unwrap();
    let now = OffsetDateTime::now_utc();
    let token = oauth::NewToken {
        grant_id: grant,
        access_hash: b"access",
        refresh_hash: Some(b"refresh"),
        access_expires_at: now + Duration::minutes(30),
        refresh_expires_at: Some(now + Duration::days(30)),
    };
    oauth::create_token(&mut *tx, &token).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(oauth::device_by_user_code(&db.pool, "ABCD2345").await.unwrap().unwrap().status, "used");

    let live = oauth::by_access(&db.pool, b"access").await.unwrap().unwrap();
    assert_eq!((live.user_id, live.scopes.clone()), (ann.id, scopes.clone()));
    let mut tx = db.pool.begin().await.unwrap();
    assert_eq!(oauth::by_refresh_for_update(&mut tx, b"refresh").await.unwrap().unwrap().id, live.id);
    drop(tx);
    oauth::revoke_token(&db.pool, live.id).await.unwrap();
    assert!(oauth::by_access(&db.pool, b"access").await.unwrap().is_none(), "a rotated token is dead");
    assert!(!oauth::revoke_by_hash(&db.pool, b"access").await.unwrap(), "already revoked");
    let second = oauth::NewToken { access_hash: b"access2", refresh_hash: Some(b"refresh2"), ..token };
    oauth::create_token(&db.pool, &second).await.unwrap();
    assert!(oauth::revoke_by_hash(&db.pool, b"refresh2").await.unwrap(), "by its refresh token");
    assert!(oauth::by_access(&db.pool, b"access2").await.unwrap().is_none());
    assert!(oauth::revoke_grant_by_refresh(&db.pool, b"refresh").await.unwrap());
    assert!(!oauth::revoke_grant_by_refresh(&db.pool, b"refresh").await.unwrap());
}

#[tokio::test]
async fn totp_state_replay_race_and_recovery_codes() {
    let db = TestDb::new().await;
    let ann = create(&db, "ann", "ann@example.com", true).await;
    tfa::set_pending(&db.pool, ann.id, b"sealed").await.unwrap();
    assert!(!tfa::get(&db.pool, ann.id).await.unwrap().unwrap().enabled);
    let mut tx = db.pool.begin().await.unwrap();
    tfa::enable(&mut tx, ann.id, 100, "session:1", &[b"code1".to_vec(), b"code2".to_vec()]).await.unwrap();
    tx.commit().await.unwrap();
    tfa::set_pending(&db.pool, ann.id, b"other").await.unwrap();
    assert_eq!(tfa::get(&db.pool, ann.id).await.unwrap().unwrap().secret_sealed, b"sealed", "enabled is left alone");
    // two uses of one step race: one wins
    let pool = db.another_pool(2).await;
    let (a, b) = tokio::join!(tfa::record_use(&pool, ann.id, 101, "a"), tfa::record_use(&pool, ann.id, 101, "b"));
    assert!(a.unwrap() ^ b.unwrap());
    assert!(!tfa::record_use(&db.pool, ann.id, 100, "c").await.unwrap(), "never an older step");
    assert!(tfa::use_recovery_code(&db.pool, ann.id, b"code1").await.unwrap());
    assert!(!tfa::use_recovery_code(&db.pool, ann.id, b"code1").await.unwrap(), "once");
    let mut tx = db.pool.begin().await.unwrap();
    tfa::disable(&mut tx, ann.id).await.unwrap();
    tx.commit().await.unwrap();
    assert!(tfa::get(&db.pool, ann.id).await.unwrap().is_none());
    assert!(!tfa::use_recovery_code(&db.pool, ann.id, b"code2").await.unwrap());
}

#[tokio::test]
async fn the_template_has_every_migration_applied() {
    let db = TestDb::new().await;
    let applied = hexyard_storage::applied_migrations(&db.pool).await.unwrap();
    let known: Vec<i64> =
        hexyard_storage::MIGRATOR.iter().filter(|m| m.migration_type.is_up_migration()).map(|m| m.version).collect();
    assert_eq!(applied, known);
}
