//! The tenant-scoped store against DynamoDB Local.

use serde::{Deserialize, Serialize};
use shared::keys::{self, kind, IndexKey};
use shared::store::{
    Condition, CursorSigner, Entity, Label, PageRequest, Part, Store, StoreError, TenantScope,
};
use tests::fresh_store;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Note {
    id: Uuid,
    text: String,
    #[serde(default)]
    expires: Option<i64>,
}

// Notes stand in for users: stored under users' keys, listed with them.
impl Entity for Note {
    const ENTITY: &'static str = "test_note";
    type Kind = kind::User;
    fn expires_at(&self) -> Option<i64> {
        self.expires
    }
}

/// A note stored as a role, to sit beside the notes in their partition.
#[derive(Debug, Serialize, Deserialize)]
#[serde(transparent)]
struct RoleNote(Note);

impl Entity for RoleNote {
    const ENTITY: &'static str = "test_note";
    type Kind = kind::Role;
}

fn note(text: &str) -> Note {
    Note {
        id: Uuid::new_v4(),
        text: text.into(),
        expires: None,
    }
}

/// A note that expired a second ago, and one that expires in an hour.
fn dead_and_alive() -> (Note, Note) {
    let dead = Note {
        expires: Some(now() - 1),
        ..note("dead")
    };
    let alive = Note {
        expires: Some(now() + 3600),
        ..note("alive")
    };
    (dead, alive)
}

fn page(limit: u16, cursor: Option<String>) -> PageRequest {
    PageRequest::new(limit, cursor, "users")
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn another_tenants_scope_never_sees_the_item() {
    let store = fresh_store().await;
    let (a, b) = (TenantScope::for_new_tenant(), TenantScope::for_new_tenant());
    let n = note("secret of a");
    store
        .tenant(&a)
        .put(&keys::user(n.id), &n, Condition::NotExists)
        .await
        .unwrap();

    assert_eq!(
        store
            .tenant(&a)
            .get::<Note>(&keys::user(n.id))
            .await
            .unwrap(),
        Some(n.clone())
    );
    assert_eq!(
        store
            .tenant(&b)
            .get::<Note>(&keys::user(n.id))
            .await
            .unwrap(),
        None
    );
    let b_page = store
        .tenant(&b)
        .query::<Note>(&keys::users(), &page(10, None))
        .await
        .unwrap();
    assert!(b_page.items.is_empty());
    assert!(
        !store.tenant(&b).delete(&keys::user(n.id)).await.unwrap(),
        "b cannot delete a's item"
    );
    assert!(store
        .tenant(&a)
        .get::<Note>(&keys::user(n.id))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn create_refuses_to_overwrite_and_versioned_writes_detect_races() {
    let store = fresh_store().await;
    let scope = TenantScope::for_new_tenant();
    let t = store.tenant(&scope);
    let n = note("first");
    t.put(&keys::user(n.id), &n, Condition::NotExists)
        .await
        .unwrap();
    let again = t
        .put(&keys::user(n.id), &note("second"), Condition::NotExists)
        .await;
    assert!(matches!(again, Err(StoreError::ConditionFailed)));
    assert_eq!(
        t.get::<Note>(&keys::user(n.id))
            .await
            .unwrap()
            .unwrap()
            .text,
        "first"
    );

    let missing = t
        .put(&keys::user(Uuid::new_v4()), &n, Condition::Exists)
        .await;
    assert!(matches!(missing, Err(StoreError::ConditionFailed)));
    // No version attribute stored: a versioned write must fail, not clobber.
    let stale = t.put(&keys::user(n.id), &n, Condition::VersionIs(3)).await;
    assert!(matches!(stale, Err(StoreError::ConditionFailed)));
}

#[tokio::test]
async fn pages_through_every_item_exactly_once_with_signed_cursors() {
    let store = fresh_store().await;
    let scope = TenantScope::for_new_tenant();
    let t = store.tenant(&scope);
    let mut ids = Vec::new();
    for i in 0..7 {
        let n = note(&format!("n{i}"));
        ids.push(n.id);
        t.put(&keys::user(n.id), &n, Condition::NotExists)
            .await
            .unwrap();
    }
    // Another kind in the same partition must not leak into the query.
    t.put(
        &keys::role(Uuid::new_v4()),
        &RoleNote(note("a role")),
        Condition::NotExists,
    )
    .await
    .unwrap();

    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let p = t
            .query::<Note>(&keys::users(), &page(3, cursor))
            .await
            .unwrap();
        pages += 1;
        seen.extend(p.items.iter().map(|n| n.id));
        match p.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
        assert!(pages < 10, "pagination does not terminate");
    }
    ids.sort();
    seen.sort();
    assert_eq!(seen, ids);
    assert!(pages >= 3);
}

#[tokio::test]
async fn refuses_cursors_that_are_tampered_foreign_or_for_another_query() {
    let store = fresh_store().await;
    let (a, b) = (TenantScope::for_new_tenant(), TenantScope::for_new_tenant());
    for scope in [&a, &b] {
        for i in 0..3 {
            let n = note(&format!("n{i}"));
            store
                .tenant(scope)
                .put(&keys::user(n.id), &n, Condition::NotExists)
                .await
                .unwrap();
        }
    }
    let first = store
        .tenant(&a)
        .query::<Note>(&keys::users(), &page(1, None))
        .await
        .unwrap();
    let cursor = first.next.expect("more pages");

    let foreign = store
        .tenant(&b)
        .query::<Note>(&keys::users(), &page(1, Some(cursor.clone())))
        .await;
    assert!(
        matches!(foreign, Err(StoreError::InvalidCursor)),
        "cursor of tenant a accepted by b"
    );

    let other_query = PageRequest::new(1, Some(cursor.clone()), "users?is_active=true");
    let other = store
        .tenant(&a)
        .query::<Note>(&keys::users(), &other_query)
        .await;
    assert!(
        matches!(other, Err(StoreError::InvalidCursor)),
        "cursor reused for another query"
    );

    let mut tampered = cursor.clone().into_bytes();
    let i = tampered.len() / 3;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let res = store
        .tenant(&a)
        .query::<Note>(&keys::users(), &page(1, Some(tampered)))
        .await;
    assert!(matches!(res, Err(StoreError::InvalidCursor)));

    // A store with another secret (another deployment) refuses it too.
    let other_store = Store::new(
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version_latest()
                .http_client(shared::runtime::http_client())
                .build(),
        ),
        store.table_name().to_owned(),
        CursorSigner::new(b"another secret".to_vec()),
    );
    let res = other_store
        .tenant(&a)
        .query::<Note>(&keys::users(), &page(1, Some(cursor.clone())))
        .await;
    assert!(matches!(res, Err(StoreError::InvalidCursor)));

    // The genuine cursor still works.
    let second = store
        .tenant(&a)
        .query::<Note>(&keys::users(), &page(1, Some(cursor)))
        .await
        .unwrap();
    assert_eq!(second.items.len(), 1);
    assert_ne!(second.items[0].id, first.items[0].id);
}

#[tokio::test]
async fn expired_items_are_gone_on_read_even_before_dynamodb_deletes_them() {
    let store = fresh_store().await;
    let scope = TenantScope::for_new_tenant();
    let t = store.tenant(&scope);
    let (dead, alive) = dead_and_alive();
    t.put(&keys::user(dead.id), &dead, Condition::NotExists)
        .await
        .unwrap();
    t.put(&keys::user(alive.id), &alive, Condition::NotExists)
        .await
        .unwrap();

    assert_eq!(t.get::<Note>(&keys::user(dead.id)).await.unwrap(), None);
    assert_eq!(
        t.get::<Note>(&keys::user(alive.id)).await.unwrap(),
        Some(alive.clone())
    );
    let listed = t
        .query::<Note>(&keys::users(), &page(10, None))
        .await
        .unwrap();
    assert_eq!(listed.items, vec![alive]);
}

/// A note's text, and whatever else a read returns with it.
#[derive(Debug, Deserialize)]
struct NoteText {
    text: String,
    #[serde(flatten)]
    rest: std::collections::BTreeMap<String, serde_json::Value>,
}

impl Part for NoteText {
    type Of = Note;
    const ATTRIBUTES: &'static [&'static str] = &["text"];
}

#[tokio::test]
async fn a_batch_of_parts_reads_only_their_attributes_and_no_expired_item() {
    let store = fresh_store().await;
    let scope = TenantScope::for_new_tenant();
    let t = store.tenant(&scope);
    let (dead, alive) = dead_and_alive();
    let plain = note("plain");
    for n in [&dead, &alive, &plain] {
        t.put(&keys::user(n.id), n, Condition::NotExists)
            .await
            .unwrap();
    }
    let sks = [dead.id, alive.id, plain.id, Uuid::new_v4()].map(keys::user);
    let mut fetched = t
        .get_many_parts(&sks, &[NoteText::ATTRIBUTES])
        .await
        .unwrap();

    // The part, and beside it only the keys and the expiry (read to drop
    // expired items): not `id`, `expires`, `entity` or the index keys.
    let mut read = |i: usize| {
        fetched
            .take_part::<NoteText>(&sks[i])
            .unwrap()
            .map(|part| (part.text, part.rest.into_keys().collect::<Vec<_>>()))
    };
    assert_eq!(
        read(1),
        Some((
            "alive".into(),
            vec!["PK".into(), "SK".into(), "expires_at".into()]
        ))
    );
    assert_eq!(
        read(2),
        Some(("plain".into(), vec!["PK".into(), "SK".into()]))
    );
    assert_eq!(read(0), None, "expired");
    assert_eq!(read(3), None, "never written");
}

#[derive(Debug, Serialize, Deserialize)]
struct Claim {
    owner: Uuid,
}

impl Entity for Claim {
    const ENTITY: &'static str = "test_claim";
    type Kind = kind::SlugClaim;
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Ranked {
    name: String,
    rank: i32,
}

impl Entity for Ranked {
    const ENTITY: &'static str = "test_ranked";
    type Kind = kind::Plan;
    fn index_key(&self) -> Option<IndexKey> {
        Some(keys::plans_index(self.rank, Uuid::nil()))
    }
}

#[tokio::test]
async fn transactions_are_all_or_nothing_and_name_the_failed_condition() {
    let store = fresh_store().await;
    let owner = TenantScope::for_new_tenant();
    let slug = format!("acme-{}", Uuid::new_v4());
    let claim = Claim {
        owner: owner.tenant_id(),
    };

    let first_note = note("created with the claim");
    let mut tx = store.transaction();
    tx.put_platform(
        &keys::slug_claim(&slug),
        &claim,
        Condition::NotExists,
        Label::Slug,
    );
    tx.tenant(&owner).put(
        &keys::user(first_note.id),
        &first_note,
        Condition::NotExists,
        Label::User,
    );
    tx.execute().await.unwrap();

    let intruder = TenantScope::for_new_tenant();
    let second_note = note("must not be written");
    let mut tx = store.transaction();
    tx.tenant(&intruder).put(
        &keys::user(second_note.id),
        &second_note,
        Condition::NotExists,
        Label::User,
    );
    tx.put_platform(
        &keys::slug_claim(&slug),
        &Claim {
            owner: intruder.tenant_id(),
        },
        Condition::NotExists,
        Label::Slug,
    );
    match tx.execute().await {
        Err(StoreError::TransactionConditionFailed(labels)) => {
            assert_eq!(labels, vec![Label::Slug])
        }
        other => panic!("expected the slug condition to fail, got {other:?}"),
    }
    // Nothing of the failed transaction was written.
    assert_eq!(
        store
            .tenant(&intruder)
            .get::<Note>(&keys::user(second_note.id))
            .await
            .unwrap(),
        None
    );
    let stored: Claim = store
        .platform()
        .get(&keys::slug_claim(&slug))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.owner, owner.tenant_id());
}

#[tokio::test]
async fn concurrent_claims_of_one_key_have_exactly_one_winner() {
    let store = fresh_store().await;
    let slug = format!("race-{}", Uuid::new_v4());
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        let slug = slug.clone();
        tasks.push(tokio::spawn(async move {
            let scope = TenantScope::for_new_tenant();
            let n = note("winner");
            let mut tx = store.transaction();
            tx.put_platform(
                &keys::slug_claim(&slug),
                &Claim {
                    owner: scope.tenant_id(),
                },
                Condition::NotExists,
                Label::Slug,
            );
            tx.tenant(&scope)
                .put(&keys::user(n.id), &n, Condition::NotExists, Label::User);
            (scope, n.id, tx.execute().await)
        }));
    }
    let mut winners = 0;
    for t in tasks {
        let (scope, id, result) = t.await.unwrap();
        match result {
            Ok(()) => winners += 1,
            Err(StoreError::TransactionConditionFailed(_) | StoreError::TransactionConflict) => {
                assert_eq!(
                    store
                        .tenant(&scope)
                        .get::<Note>(&keys::user(id))
                        .await
                        .unwrap(),
                    None,
                    "partial write"
                );
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn index_queries_return_items_in_index_order() {
    let store = fresh_store().await;
    for (name, rank) in [("c", 30), ("a", -1), ("b", 2)] {
        let key = keys::plan(Uuid::new_v4());
        store
            .platform()
            .put(
                &key,
                &Ranked {
                    name: name.into(),
                    rank,
                },
                Condition::NotExists,
            )
            .await
            .unwrap();
    }
    let req = PageRequest::new(10, None, "plans");
    let page = store
        .platform()
        .query_index::<Ranked>(keys::plans_index_pk(), &req)
        .await
        .unwrap();
    let names: Vec<_> = page.items.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
}

/// Pages are decoded from the answer's text (store/capture.rs); an error
/// answer must still reach the caller as DynamoDB's error, not as an
/// empty page or a decoding failure.
#[tokio::test]
async fn a_query_that_dynamodb_refuses_fails_with_dynamodbs_error() {
    let store = fresh_store().await;
    let missing = Store::new(
        store.client().clone(),
        "no-such-table",
        CursorSigner::new(b"s".to_vec()),
    );
    let scope = TenantScope::for_new_tenant();
    let res = missing
        .tenant(&scope)
        .query::<Note>(&keys::users(), &page(5, None))
        .await;
    let Err(err @ StoreError::Backend(_)) = res else {
        panic!("expected DynamoDB's error, got {res:?}");
    };
    let chain = shared::report::ErrorChain(&err).to_string();
    assert!(chain.contains("ResourceNotFoundException"), "{chain}");
}

#[tokio::test]
async fn an_unreachable_dynamodb_fails_fast_as_unavailable() {
    // Nothing listens on port 9 (discard) of loopback.
    let client = shared::runtime::dynamodb_client(Some("http://127.0.0.1:9"));
    let store = Store::new(client, "nowhere", CursorSigner::new(b"s".to_vec()));
    let started = std::time::Instant::now();
    let scope = TenantScope::for_new_tenant();
    let res = store
        .tenant(&scope)
        .get::<Note>(&keys::user(Uuid::new_v4()))
        .await;
    assert!(matches!(res, Err(StoreError::Unavailable(_))), "{res:?}");
    // Bounded by the client's timeouts, not a hang (generous for slow CI).
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[tokio::test]
async fn previous_cursors_walk_back_to_the_first_page() {
    let store = fresh_store().await;
    let scope = TenantScope::for_new_tenant();
    let t = store.tenant(&scope);
    for i in 0..7 {
        let n = note(&format!("n{i}"));
        t.put(&keys::user(n.id), &n, Condition::NotExists)
            .await
            .unwrap();
    }
    let first = t
        .query::<Note>(&keys::users(), &page(3, None))
        .await
        .unwrap();
    assert!(first.previous.is_none(), "the first page has no previous");
    let second = t
        .query::<Note>(&keys::users(), &page(3, first.next.clone()))
        .await
        .unwrap();
    let third = t
        .query::<Note>(&keys::users(), &page(3, second.next.clone()))
        .await
        .unwrap();
    assert_eq!(third.items.len(), 1);
    assert!(third.next.is_none());

    let back_to_second = t
        .query::<Note>(&keys::users(), &page(3, third.previous.clone()))
        .await
        .unwrap();
    assert_eq!(back_to_second.items, second.items);
    let back_to_first = t
        .query::<Note>(&keys::users(), &page(3, back_to_second.previous.clone()))
        .await
        .unwrap();
    assert_eq!(back_to_first.items, first.items);
    assert!(
        back_to_first.previous.is_none(),
        "walking back ends at the start"
    );
    // And forward again from a page reached backwards.
    let forward_again = t
        .query::<Note>(&keys::users(), &page(3, back_to_first.next.clone()))
        .await
        .unwrap();
    assert_eq!(forward_again.items, second.items);
}

/// `n` notes in a fresh tenant: `text` "hit" where `hit(i)`, in id order.
async fn notes_in_order(store: &Store, n: u128, hit: impl Fn(u128) -> bool) -> TenantScope {
    let scope = TenantScope::for_new_tenant();
    let mut running = tokio::task::JoinSet::new();
    for i in 0..n {
        let (store, scope) = (store.clone(), scope.clone());
        let n = Note {
            id: Uuid::from_u128(i),
            text: if hit(i) { "hit" } else { "miss" }.into(),
            expires: None,
        };
        running.spawn(async move {
            store
                .tenant(&scope)
                .put(&keys::user(n.id), &n, Condition::Always)
                .await
        });
        if running.len() >= 8 {
            running.join_next().await.unwrap().unwrap().unwrap();
        }
    }
    while let Some(done) = running.join_next().await {
        done.unwrap().unwrap();
    }
    scope
}

fn hits(limit: u16, cursor: Option<String>) -> PageRequest {
    page(limit, cursor).where_eq("text", "hit")
}

#[tokio::test]
async fn filtered_pages_link_past_the_items_they_skip_both_ways() {
    let store = fresh_store().await;
    // A hit, 250 misses (more than a page reads), two hits.
    let scope = notes_in_order(&store, 253, |i| i == 0 || i > 250).await;
    let t = store.tenant(&scope);
    let ids = |p: &shared::store::Page<Note>| -> Vec<u128> {
        p.items.iter().map(|n| n.id.as_u128()).collect()
    };

    let first = t
        .query::<Note>(&keys::users(), &hits(2, None))
        .await
        .unwrap();
    assert_eq!(
        ids(&first),
        [0],
        "short: the reads ran out before the next hit"
    );
    assert!(first.previous.is_none());
    let second = t
        .query::<Note>(&keys::users(), &hits(2, first.next.clone()))
        .await
        .unwrap();
    assert_eq!(ids(&second), [251, 252]);
    assert!(second.next.is_none());

    // Back from the two hits: a page of misses only, linked both ways.
    let back = t
        .query::<Note>(&keys::users(), &hits(2, second.previous.clone()))
        .await
        .unwrap();
    assert!(back.items.is_empty());
    let (mut forward, mut cursor, mut pages) = (Vec::new(), back.next.clone(), 0);
    while let Some(c) = cursor {
        pages += 1;
        assert!(pages < 5, "walking forward does not end");
        let p = t
            .query::<Note>(&keys::users(), &hits(2, Some(c)))
            .await
            .unwrap();
        forward.extend(ids(&p));
        cursor = p.next;
    }
    assert_eq!(forward, [251, 252], "forward again from an empty page");
    let start = t
        .query::<Note>(&keys::users(), &hits(2, back.previous.clone()))
        .await
        .unwrap();
    assert_eq!(ids(&start), [0]);
    assert!(start.previous.is_none(), "walking back ends at the start");

    // A cursor from where the reading stopped is bound like any other.
    let cursor = first.next.clone();
    let other = TenantScope::for_new_tenant();
    let foreign = store
        .tenant(&other)
        .query::<Note>(&keys::users(), &hits(2, cursor.clone()))
        .await;
    assert!(matches!(foreign, Err(StoreError::InvalidCursor)));
    let unfiltered = t.query::<Note>(&keys::users(), &page(2, cursor)).await;
    assert!(matches!(unfiltered, Err(StoreError::InvalidCursor)));
}

#[tokio::test]
async fn a_backward_page_with_nothing_before_it_is_the_first_page() {
    let store = fresh_store().await;
    // 250 misses, then two hits: the first page is empty but links on.
    let scope = notes_in_order(&store, 252, |i| i >= 250).await;
    let t = store.tenant(&scope);
    let first = t
        .query::<Note>(&keys::users(), &hits(2, None))
        .await
        .unwrap();
    assert!(first.items.is_empty() && first.next.is_some() && first.previous.is_none());
    let mut p = t
        .query::<Note>(&keys::users(), &hits(2, first.next.clone()))
        .await
        .unwrap();
    assert_eq!(p.items.len(), 2);
    let mut steps = 0;
    while let Some(previous) = p.previous.clone() {
        steps += 1;
        assert!(steps < 5, "walking back does not end");
        p = t
            .query::<Note>(&keys::users(), &hits(2, Some(previous)))
            .await
            .unwrap();
        assert!(p.items.is_empty());
    }
    assert!(p.next.is_some(), "the first page, empty, links on");
    let again = t
        .query::<Note>(&keys::users(), &hits(2, p.next.clone()))
        .await
        .unwrap();
    assert_eq!(again.items.len(), 2);
}
