//! `devctl import-django` against DynamoDB Local, then logging in over the
//! real routers with the Django passwords of the fixture
//! (tests/fixtures/django/dump.json).

use devctl::django::{self, Options, Outcome};
use http::StatusCode;
use serde_json::{json, Value};
use shared::keys;
use shared::permissions::{is_tenant_admin, Grant, Scope};
use shared::records::{CredentialRecord, SequenceRecord, SlugClaim};
use shared::store::Store;
use tests::app::{claims_of, get_as, login, register, setup};
use time::OffsetDateTime;

const DUMP: &str = include_str!("../fixtures/django/dump.json");
const DROP: Options = Options {
    drop_unknown_permissions: true,
};
const ADA: &str = "ada@globex.example";
const ADA_PASSWORD: &str = "ada-old-django-pass";

async fn import(store: &Store, dump: &str, options: Options, dry_run: bool) -> Outcome {
    django::import(store, dump, options, dry_run, OffsetDateTime::now_utc())
        .await
        .unwrap()
}

/// The fixture with its subscription in its current period and the
/// pending invoice not yet due, as in an export taken today.
fn current_dump() -> String {
    use time::format_description::well_known::Rfc3339;
    let now = OffsetDateTime::now_utc();
    let at = |days: i64| (now + time::Duration::days(days)).format(&Rfc3339).unwrap();
    let mut dump: Vec<Value> = serde_json::from_str(DUMP).unwrap();
    for entry in &mut dump {
        let model = entry["model"].as_str().map(str::to_owned);
        let fields = &mut entry["fields"];
        match model.as_deref() {
            Some("billing.subscription") => {
                fields["current_period_start"] = json!(at(-1));
                fields["current_period_end"] = json!(at(29));
            }
            Some("billing.invoice") if fields["status"] == json!("PENDING") => {
                fields["created_at"] = json!(at(-1));
                fields["due_date"] = json!(at(6));
            }
            _ => {}
        }
    }
    serde_json::to_string(&dump).unwrap()
}

async fn credential(store: &Store, email: &str) -> Option<CredentialRecord> {
    store
        .platform()
        .get(&keys::email_claim(email))
        .await
        .unwrap()
}

#[tokio::test]
async fn an_export_comes_across_once_and_its_users_log_in_with_their_django_passwords() {
    let s = setup().await;
    let store = &s.auth.store;
    let dump = current_dump();
    let dump = dump.as_str();

    // A role with keys outside the catalog stops the import; nothing is written.
    let blocked = import(store, dump, Options::default(), false).await;
    assert!(blocked.report.blocks());
    assert!(blocked.tally.is_none());
    assert!(blocked
        .report
        .unknown_permissions
        .contains_key("globex-dj/Legacy reports"));
    assert!(credential(store, ADA).await.is_none());

    // The dry run with the flag would proceed, and writes nothing either.
    let dry = import(store, dump, DROP, true).await;
    assert!(!dry.report.blocks(), "{}", dry.report);
    assert!(dry.tally.is_none());
    assert_eq!(dry.report.unknown_hash_schemes, vec!["dan@globex.example"]);
    assert!(credential(store, ADA).await.is_none());

    let first = import(store, dump, DROP, false).await;
    let tally = first.tally.unwrap();
    assert!(tally.written > 20, "{tally:?}");
    assert_eq!(
        first.report.dropped_permissions["globex-dj/Legacy reports"],
        vec!["reports: unknown module"]
    );
    // A second run changes nothing.
    let again = import(store, dump, DROP, false).await.tally.unwrap();
    assert_eq!(again.written, 0, "{again:?}");
    assert_eq!(again.present, tally.written + tally.present);

    // The old PBKDF2 password logs in; the hash becomes argon2id.
    let before = credential(store, ADA).await.unwrap();
    assert!(before.password_hash.starts_with("pbkdf2_sha256$720000$"));
    let wrong = login(&s.auth, ADA, "not-ada-s-password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let res = login(&s.auth, "Ada@Globex.example", ADA_PASSWORD).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let after = credential(store, ADA).await.unwrap();
    assert!(
        after.password_hash.starts_with("$argon2id$"),
        "{}",
        after.password_hash
    );
    assert_eq!(after.version, before.version);
    // ...and keeps working against the new hash.
    let res = login(&s.auth, ADA, ADA_PASSWORD).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let access = res.json()["tokens"]["access"].as_str().unwrap().to_owned();

    // Ids, roles and modules as in the export; user_id as simplejwt had it.
    let claims = claims_of(&s, &access);
    assert_eq!(
        claims.sub.to_string(),
        "9d8c7b6a-3333-4a5b-8c6d-000000000001"
    );
    assert_eq!(
        claims.tenant_id.to_string(),
        "2a6c1f0e-5b7d-4c1e-9f3a-0d1e2f3a4b01"
    );
    assert_eq!(claims.tenant_slug, "globex-dj");
    assert!(is_tenant_admin(&claims.permissions));
    assert_eq!(claims.enabled_modules, vec!["crm", "meetings"]);
    assert_eq!(
        claims
            .roles
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec!["3c4d5e6f-2222-4a5b-8c6d-000000000001"]
    );
    let payload = payload(&access);
    assert_eq!(payload["user_id"], payload["sub"]);

    // The subscription and invoices, through their APIs.
    let sub = get_as(
        &s.subscriptions,
        "/api/subscriptions/my_subscription/",
        &access,
    )
    .await;
    assert_eq!(sub.status, StatusCode::OK, "{}", sub.text());
    let sub = sub.json();
    assert_eq!(sub["status"], json!("active"));
    assert_eq!(sub["billing_cycle"], json!("monthly"));
    let invoices = get_as(&s.invoices, "/api/invoices/", &access).await;
    assert_eq!(invoices.status, StatusCode::OK, "{}", invoices.text());
    let mut numbers: Vec<String> = invoices.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["invoice_number"].as_str().unwrap().to_owned())
        .collect();
    numbers.sort();
    assert_eq!(numbers, vec!["INV-000041", "INV-000042"]);
    let roles = get_as(&s.roles, "/api/roles/", &access).await;
    assert_eq!(roles.status, StatusCode::OK, "{}", roles.text());
    let mut names: Vec<String> = roles.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{}:{}", r["name"].as_str().unwrap(), r["member_count"]))
        .collect();
    names.sort();
    assert_eq!(names, vec!["Admin:2", "Legacy reports:1", "Sales:2"]);

    // A Sales user's grants; the unusable password and the bcrypt hash
    // never log in; the super admin lands in the platform tenant.
    let bob = login(&s.auth, "bob@globex.example", "bob-old-django-pass").await;
    assert_eq!(bob.status, StatusCode::OK, "{}", bob.text());
    let bob = claims_of(&s, bob.json()["tokens"]["access"].as_str().unwrap());
    // Sales gives team, the legacy role (its unknown module dropped) all.
    assert_eq!(
        bob.permissions.get("crm.leads.view"),
        Some(Grant::Scope(Scope::All))
    );
    assert_eq!(
        bob.permissions.get("crm.leads.create"),
        Some(Grant::Bool(true))
    );
    assert!(!is_tenant_admin(&bob.permissions));
    for (email, password) in [
        (
            "carol@globex.example",
            "!Yx8vD9bq2mRtZ0aLXg1vD9bq2mRtZ0aLXg1vD9bq",
        ),
        ("dan@globex.example", "anything-at-all"),
    ] {
        let res = login(&s.auth, email, password).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{email}");
    }
    let root = login(&s.auth, "root@platform-dj.example", "root-old-django-pass").await;
    assert_eq!(root.status, StatusCode::OK, "{}", root.text());
    let root = claims_of(&s, root.json()["tokens"]["access"].as_str().unwrap());
    assert!(root.is_super_admin);
    assert_eq!(root.tenant_slug, "platform");

    // This year's invoice counter continues after the highest number.
    let year = OffsetDateTime::now_utc().year();
    let counter: SequenceRecord = store
        .platform()
        .get(&keys::invoice_sequence(year))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(counter.last, 42);
    assert_eq!(
        shared::billing::invoice_number(year, counter.last + 1),
        format!("INV-{year}-000043")
    );
}

#[tokio::test]
async fn a_taken_slug_or_email_is_reported_and_nothing_is_half_imported() {
    let s = setup().await;
    let store = &s.auth.store;
    let taken = register(&s.auth, "dj-clash").await;
    let mut dump: Vec<Value> = serde_json::from_str(DUMP).unwrap();
    for entry in &mut dump {
        match entry["model"].as_str() {
            Some("tenants.tenant") => entry["fields"]["slug"] = json!(taken.slug),
            Some("accounts.customuser")
                if entry["fields"]["email"] == json!("bob@globex.example") =>
            {
                entry["fields"]["email"] = json!(taken.email)
            }
            _ => {}
        }
    }
    let dump = serde_json::to_string(&dump).unwrap();
    for dry_run in [true, false] {
        let outcome = import(store, &dump, DROP, dry_run).await;
        assert!(outcome.tally.is_none());
        let conflicts = outcome.report.conflicts.join("\n");
        assert!(
            conflicts.contains(&format!("tenant slug {:?}", taken.slug)),
            "{conflicts}"
        );
        assert!(
            conflicts.contains(&format!("email {:?}", taken.email)),
            "{conflicts}"
        );
    }
    assert!(credential(store, ADA).await.is_none());
    let claim: SlugClaim = store
        .platform()
        .get(&keys::slug_claim(&taken.slug))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        claim.tenant_id.to_string(),
        "2a6c1f0e-5b7d-4c1e-9f3a-0d1e2f3a4b01"
    );
    assert!(store
        .platform()
        .get::<shared::records::PlanRecord>(&keys::plan(
            "7b1e0c2d-1111-4a5b-8c6d-000000000001".parse().unwrap()
        ))
        .await
        .unwrap()
        .is_none());
}

fn payload(token: &str) -> Value {
    use base64::Engine;
    let body = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn super_admins_join_an_existing_platform_tenant_and_concurrent_first_logins_both_succeed() {
    let s = setup().await;
    let store = &s.auth.store;
    let (_, ops) = tests::unique("dj-ops");
    shared::superadmins::add(store, &ops, "a-long-passphrase")
        .await
        .unwrap();
    let dump = current_dump();
    assert!(
        import(store, &dump, DROP, false)
            .await
            .tally
            .unwrap()
            .written
            > 0
    );
    let mut admins: Vec<String> = shared::superadmins::list(store)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect();
    admins.sort();
    let mut expected = vec![ops, "root@platform-dj.example".to_owned()];
    expected.sort();
    assert_eq!(admins, expected);
    let scope = shared::superadmins::platform_scope(store)
        .await
        .unwrap()
        .unwrap();
    let usage: shared::records::UsageRecord = store
        .tenant(&scope)
        .get(&keys::usage())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((usage.users, usage.admins), (2, 2));
    // A second run adds nothing to the platform tenant's counters.
    assert_eq!(
        import(store, &dump, DROP, false)
            .await
            .tally
            .unwrap()
            .written,
        0
    );
    let again: shared::records::UsageRecord = store
        .tenant(&scope)
        .get(&keys::usage())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, usage);

    // Two first logins at once: both verify the PBKDF2 hash and both
    // succeed; the stored hash ends as argon2id.
    let (a, b) = tokio::join!(
        login(&s.auth, "bob@globex.example", "bob-old-django-pass"),
        login(&s.auth, "bob@globex.example", "bob-old-django-pass"),
    );
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(b.status, StatusCode::OK, "{}", b.text());
    let bob = credential(store, "bob@globex.example").await.unwrap();
    assert!(bob.password_hash.starts_with("$argon2id$"));
    let root = login(&s.auth, "root@platform-dj.example", "root-old-django-pass").await;
    assert_eq!(root.status, StatusCode::OK, "{}", root.text());
    assert!(credential(store, "root@platform-dj.example")
        .await
        .unwrap()
        .password_hash
        .starts_with("$argon2id$"));
}

#[tokio::test]
async fn an_unusable_django_password_is_replaced_through_the_reset_flow() {
    use shared::email::OutboxSender;
    let s = setup().await;
    let dump = current_dump();
    assert!(import(&s.auth.store, &dump, DROP, false)
        .await
        .tally
        .is_some());
    let carol = "carol@globex.example";
    assert_eq!(
        login(&s.auth, carol, "!Yx8vD9bq2mRtZ0aLXg1vD9bq2mRtZ0aLXg1vD9bq")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let res = tests::post_json(
        &s.auth.app,
        "/api/auth/password/reset/",
        &json!({ "email": carol }),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    let message = OutboxSender::read(&s.auth.outbox)
        .unwrap()
        .into_iter()
        .find(|m| m.to == carol && m.subject == "Reset your password")
        .unwrap();
    let prefix = format!("{}/reset-password?token=", tests::TEST_FRONTEND_URL);
    let token = message.links[0].strip_prefix(&prefix).unwrap();
    let res = tests::post_json(
        &s.auth.app,
        "/api/auth/password/reset/confirm/",
        &json!({"token": token, "new_password": "carol-new-secret", "new_password_confirm": "carol-new-secret"}),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = login(&s.auth, carol, "carol-new-secret").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

/// Only the operator's import may name a tenant's scope by id.
#[test]
fn no_function_builds_a_scope_for_an_imported_tenant() {
    fn visit(dir: &std::path::Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                visit(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs")
                && std::fs::read_to_string(&path)
                    .unwrap()
                    .contains("for_imported_tenant")
            {
                found.push(path.display().to_string());
            }
        }
    }
    let mut found = Vec::new();
    visit(&tests::repo_root().join("functions"), &mut found);
    assert!(found.is_empty(), "{found:?}");
}
