//! Hot paths of the permission engine: they run on every login/refresh
//! (merge, gate, flatten) and every request (can).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use shared::permissions::{
    actions, admin_permissions, can, catalog, flatten, gate, merge, templates, ActionKind,
    FlatPermissions, Grant, Module, PermissionKey, PermissionSet, Resource, RoleGrants, Scope,
    Subject,
};
use uuid::Uuid;

struct User {
    id: Uuid,
    tenant: Uuid,
    teams: Vec<Uuid>,
    perms: FlatPermissions,
}

impl Subject for User {
    fn user_id(&self) -> Uuid {
        self.id
    }
    fn tenant_id(&self) -> Uuid {
        self.tenant
    }
    fn team_ids(&self) -> &[Uuid] {
        &self.teams
    }
    fn permissions(&self) -> &FlatPermissions {
        &self.perms
    }
}

/// Ten roles that each touch every catalog action with varying grants, so
/// the merge does real work on the full catalog.
fn ten_roles() -> Vec<RoleGrants> {
    (0..10)
        .map(|i| {
            let mut set = PermissionSet::empty();
            for (n, action) in catalog().actions().enumerate() {
                let key = PermissionKey::parse(&format!(
                    "{}.{}.{}",
                    action.module.key, action.resource.key, action.action.key
                ));
                let grant = match action.action.kind {
                    ActionKind::Scope => Scope::ALL.get((i + n) % 4).copied().map(Grant::Scope),
                    ActionKind::Boolean => Some(Grant::Bool((i + n) % 3 == 0)),
                };
                if let Some(key) = key {
                    let _ = set.set(key, grant);
                }
            }
            RoleGrants {
                id: format!("r{i}"),
                name: format!("Role {i}"),
                is_active: i != 3,
                permissions: set,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let roles = ten_roles();
    c.bench_function("merge 10 roles (full catalog)", |b| {
        b.iter(|| merge(black_box(&roles)))
    });

    let merged = merge(&roles);
    c.bench_function("gate", |b| {
        b.iter(|| gate(black_box(&merged), black_box(&[Module::Crm, Module::Tasks])))
    });

    let admin = admin_permissions();
    c.bench_function("flatten (full catalog)", |b| {
        b.iter(|| flatten(black_box(&admin)))
    });

    let tenant = Uuid::new_v4();
    let manager = templates()
        .into_iter()
        .find(|t| t.name == "Manager")
        .map(|t| t.permissions);
    let user = User {
        id: Uuid::new_v4(),
        tenant,
        teams: (0..5).map(|_| Uuid::new_v4()).collect(),
        perms: flatten(&manager.unwrap_or_default()),
    };
    // Team scope, record of another user in one of the user's teams.
    let resource = Resource {
        tenant_id: tenant,
        owner_id: Some(Uuid::new_v4()),
        team_id: user.teams.get(4).copied(),
    };
    c.bench_function("can (team scope)", |b| {
        b.iter(|| {
            can(
                black_box(&user),
                black_box(actions::CRM_LEADS_EDIT),
                black_box(&resource),
            )
        })
    });

    let token_json = serde_json::to_string(&flatten(&admin)).unwrap_or_default();
    c.bench_function("decode flat permissions from token JSON", |b| {
        b.iter(|| serde_json::from_str::<FlatPermissions>(black_box(&token_json)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
