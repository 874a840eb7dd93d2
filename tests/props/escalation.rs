//! No escalation, end to end: random partial administrators (random subsets
//! of the `administration` grants plus random module grants) take random
//! role and assignment actions through the in-process roles and users
//! routers against DynamoDB Local. Afterwards no user holds (merged over
//! their roles, read back from the store) a grant beyond what they held
//! before or what the acting administrator held at the start.
//!
//! Few cases (each registers a tenant and logs users in), so it stays well
//! under a minute.

use super::permission_set;
use axum::Router;
use http::StatusCode;
use proptest::prelude::*;
use serde_json::{json, Value};
use shared::auth::{authenticate, Jwks, TokenVerifier};
use shared::keys;
use shared::permissions::{actions as perm, exceeding, merge, PermissionSet, RoleGrants};
use shared::records::{RoleRecord, UserRecord};
use shared::store::{Store, TenantScope};
use std::sync::Arc;
use tests::{send, unique, TestResponse};
use uuid::Uuid;

/// One action of the acting administrator. Indices pick among the users
/// and roles known so far (modulo their number).
#[derive(Debug, Clone)]
enum Action {
    CreateRole(PermissionSet),
    UpdateRole(usize, PermissionSet),
    DeleteRole(usize),
    Assign(usize, Vec<usize>),
    Remove(usize, usize),
    Deactivate(usize),
    Activate(usize),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        permission_set().prop_map(Action::CreateRole),
        (any::<usize>(), permission_set()).prop_map(|(r, p)| Action::UpdateRole(r, p)),
        any::<usize>().prop_map(Action::DeleteRole),
        (any::<usize>(), prop::collection::vec(any::<usize>(), 0..3))
            .prop_map(|(u, rs)| Action::Assign(u, rs)),
        (any::<usize>(), any::<usize>()).prop_map(|(u, r)| Action::Remove(u, r)),
        any::<usize>().prop_map(Action::Deactivate),
        any::<usize>().prop_map(Action::Activate),
    ]
}

/// The acting administrator's role: random module grants and a random
/// subset of the twelve administration grants.
fn actor_grants() -> impl Strategy<Value = PermissionSet> {
    (permission_set(), prop::collection::vec(any::<bool>(), 12)).prop_map(|(mut set, admin)| {
        let admin_keys = perm::ALL.iter().filter(|k| k.module().is_none());
        for (key, on) in admin_keys.zip(admin) {
            let _ = set.set(*key, on.then_some(shared::permissions::Grant::Bool(true)));
        }
        set
    })
}

struct World {
    auth: Router,
    roles: Router,
    users: Router,
    store: Store,
    verifier: Arc<TokenVerifier>,
}

async fn world() -> World {
    let auth = tests::auth_app().await;
    let verifier = Arc::new(
        TokenVerifier::new(
            &Jwks {
                keys: vec![auth.key.public_jwk()],
            },
            &auth.settings,
        )
        .unwrap(),
    );
    let state = |function| shared::state::ApiState {
        store: tests::iam::function_store(&auth.store, function),
        verifier: verifier.clone(),
    };
    let config = shared::http::HttpConfig::default();
    World {
        roles: roles::router(state("roles"), &config),
        users: users::router(
            users::AppState::new(state("users"), tests::outbox_mailer(&auth.outbox)),
            &config,
        ),
        auth: auth.app,
        store: auth.store,
        verifier,
    }
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> TestResponse {
    let mut req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "api.test")
        .header("authorization", format!("Bearer {token}"));
    let body = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            axum::body::Body::from(b.to_string())
        }
        None => axum::body::Body::empty(),
    };
    send(app, req.body(body).unwrap()).await
}

fn id_of(res: &TestResponse) -> Uuid {
    res.json()["id"].as_str().unwrap().parse().unwrap()
}

impl World {
    async fn role(&self, admin: &str, permissions: &PermissionSet) -> Uuid {
        let body = json!({"name": format!("R {}", unique("r").0), "permissions": permissions});
        let res = call(&self.roles, "POST", "/api/roles/", admin, Some(body)).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        id_of(&res)
    }

    /// A user holding `roles`; with a token when `login`.
    async fn user(&self, admin: &str, roles: &[Uuid], login: bool) -> (Uuid, Option<String>) {
        let email = unique("prop").1;
        let body = json!({"email": email, "password": "a-good-password",
                          "password_confirm": "a-good-password", "role_ids": roles});
        let res = call(&self.users, "POST", "/api/users/", admin, Some(body)).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        let id = id_of(&res);
        if !login {
            return (id, None);
        }
        let body = json!({"email": email, "password": "a-good-password"});
        let res = tests::post_json(&self.auth, "/api/auth/login/", &body, None).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        let token = res.json()["tokens"]["access"].as_str().unwrap().to_owned();
        (id, Some(token))
    }

    /// A user's merged grants, read from the store (inactive users hold
    /// nothing: they cannot sign in).
    async fn held(&self, scope: &TenantScope, user: Uuid) -> PermissionSet {
        let store = self.store.tenant(scope);
        let Some(u) = store.get::<UserRecord>(&keys::user(user)).await.unwrap() else {
            return PermissionSet::empty();
        };
        let mut roles = Vec::new();
        for id in &u.role_ids {
            if let Some(r) = store.get::<RoleRecord>(&keys::role(*id)).await.unwrap() {
                roles.push(RoleGrants {
                    id: r.id.to_string(),
                    name: r.name,
                    is_active: r.is_active,
                    permissions: r.permissions,
                });
            }
        }
        if u.is_active {
            merge(&roles)
        } else {
            PermissionSet::empty()
        }
    }
}

async fn run_case(
    w: &World,
    actor_set: PermissionSet,
    peer_set: PermissionSet,
    actions: Vec<Action>,
) {
    let (slug, email) = unique("propt");
    // Each case registers a tenant: from its own address, so the per-address
    // registration throttle never answers instead.
    let res = tests::post_json_from(
        &w.auth,
        "/api/auth/register/",
        &tests::registration(&slug, &email),
        None,
        &tests::fresh_source_ip(),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let body = res.json();
    let admin = body["tokens"]["access"].as_str().unwrap().to_owned();
    let principal = authenticate(&w.verifier, Some(&format!("Bearer {admin}"))).unwrap();
    let scope = principal.scope().clone();
    let admin_id = principal.user_id();

    let actor_role = w.role(&admin, &actor_set).await;
    let peer_role = w.role(&admin, &peer_set).await;
    let res = call(&w.roles, "GET", "/api/roles/", &admin, None).await;
    let system: Uuid = res.json()["results"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (actor, token) = w.user(&admin, &[actor_role], true).await;
    let token = token.unwrap();
    let (peer, _) = w.user(&admin, &[peer_role], false).await;
    let (plain, _) = w.user(&admin, &[], false).await;
    let users = [actor, peer, plain, admin_id];
    let mut roles = vec![actor_role, peer_role, system];

    let actor_start = w.held(&scope, actor).await;
    let mut before = Vec::new();
    for u in users {
        before.push(w.held(&scope, u).await);
    }

    for a in actions {
        let pick_user = |i: usize| users[i % users.len()];
        let res = match &a {
            Action::CreateRole(p) => {
                let body = json!({"name": format!("C {}", unique("c").0), "permissions": p});
                let res = call(&w.roles, "POST", "/api/roles/", &token, Some(body)).await;
                if res.status == StatusCode::CREATED {
                    roles.push(id_of(&res));
                }
                res
            }
            Action::UpdateRole(r, p) => {
                let id = roles[r % roles.len()];
                let uri = format!("/api/roles/{id}/");
                call(
                    &w.roles,
                    "PATCH",
                    &uri,
                    &token,
                    Some(json!({"permissions": p})),
                )
                .await
            }
            Action::DeleteRole(r) => {
                let id = roles[r % roles.len()];
                call(
                    &w.roles,
                    "DELETE",
                    &format!("/api/roles/{id}/"),
                    &token,
                    None,
                )
                .await
            }
            Action::Assign(u, rs) => {
                let ids: Vec<Uuid> = rs.iter().map(|r| roles[r % roles.len()]).collect();
                let uri = format!("/api/users/{}/assign_roles/", pick_user(*u));
                call(
                    &w.users,
                    "POST",
                    &uri,
                    &token,
                    Some(json!({"role_ids": ids})),
                )
                .await
            }
            Action::Remove(u, r) => {
                let uri = format!("/api/users/{}/remove_role/", pick_user(*u));
                let body = json!({"role_id": roles[r % roles.len()]});
                call(&w.users, "DELETE", &uri, &token, Some(body)).await
            }
            Action::Deactivate(u) => {
                call(
                    &w.users,
                    "DELETE",
                    &format!("/api/users/{}/", pick_user(*u)),
                    &token,
                    None,
                )
                .await
            }
            Action::Activate(u) => {
                let uri = format!("/api/users/{}/activate/", pick_user(*u));
                call(&w.users, "POST", &uri, &token, None).await
            }
        };
        assert!(
            res.status.as_u16() < 500,
            "{a:?} answered {}: {}",
            res.status,
            res.text()
        );
    }

    for (u, start) in users.iter().zip(&before) {
        let after = w.held(&scope, *u).await;
        let bound = start.union(&actor_start);
        let beyond = exceeding(&after, &bound);
        assert!(
            beyond.is_empty(),
            "user {u} ended with {beyond:?} beyond their own and the actor's starting grants"
        );
    }
}

#[test]
fn partial_administrators_never_raise_anyone_beyond_their_own_grants() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let w = rt.block_on(world());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 16,
        max_shrink_iters: 32,
        ..ProptestConfig::default()
    });
    let strategy = (
        actor_grants(),
        permission_set(),
        prop::collection::vec(action(), 1..8),
    );
    runner
        .run(&strategy, |(actor, peer, actions)| {
            rt.block_on(run_case(&w, actor, peer, actions));
            Ok(())
        })
        .unwrap();
}
