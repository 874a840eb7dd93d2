//! Token signing (login, refresh) and per-request verification, and the
//! argon2id work of every login and password change.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use shared::auth::{
    hash_password, verify_password, Claims, Jwks, SigningKeyPair, TokenSettings, TokenSigner,
    TokenType, TokenVerifier,
};
use shared::permissions::{admin_permissions, flatten, Module};
use uuid::Uuid;

/// The largest access token: a user holding every permission of the
/// catalog with every module enabled, on a plan.
fn all_permissions_claims(settings: &TokenSettings) -> Claims {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    Claims {
        sub: Uuid::new_v4(),
        email: "someone.with.a.long.name@example-company.com".into(),
        tenant_id: Uuid::new_v4(),
        tenant_slug: "example-company".into(),
        table: None,
        is_super_admin: false,
        plan: Some(Uuid::new_v4()),
        email_verified: false,
        permissions: flatten(&admin_permissions()),
        enabled_modules: Module::ALL.iter().map(|m| m.as_str().to_owned()).collect(),
        team_ids: (0..3).map(|_| Uuid::new_v4()).collect(),
        roles: vec![],
        token_type: TokenType::Access,
        jti: Uuid::new_v4(),
        fam: Uuid::new_v4(),
        iat: now,
        iat_ms: None,
        nbf: now,
        // Outlives any benchmark run.
        exp: now + 24 * 3600,
        iss: settings.issuer.clone(),
        aud: settings.audience.clone(),
    }
}

fn bench(c: &mut Criterion) {
    let settings = TokenSettings::default();
    let key = SigningKeyPair::generate("bench");
    let jwks = Jwks {
        keys: vec![key.public_jwk()],
    };
    let Ok(verifier) = TokenVerifier::new(&jwks, &settings) else {
        panic!("the bench key set is valid");
    };
    let signer = TokenSigner::new(key, settings.clone());
    let claims = all_permissions_claims(&settings);
    let token = match signer.sign(&claims) {
        Ok(t) => t,
        Err(e) => panic!("signing failed: {e}"),
    };
    println!(
        "access token with every permission ({} grants): {} bytes",
        claims.permissions.len(),
        token.len()
    );
    assert!(
        token.len() < 4096,
        "access token is {} bytes; headers and cookies stop at 4 KiB",
        token.len()
    );

    // Login and refresh sign an access and a refresh token each.
    c.bench_function("sign access token (all permissions)", |b| {
        b.iter(|| signer.sign(black_box(&claims)))
    });
    // First sight: header, Ed25519 signature, claims decoding and checks.
    c.bench_function("verify access token, first sight (all permissions)", |b| {
        b.iter(|| verifier.verify_uncached(black_box(&token)))
    });
    // Every later request of the same client in a warm function.
    c.bench_function("verify access token, repeat (all permissions)", |b| {
        b.iter(|| verifier.verify(black_box(&token), TokenType::Access))
    });

    let Ok(rt) = tokio::runtime::Runtime::new() else {
        panic!("tokio runtime starts");
    };
    let password = "Tr0ub4dor&3x".to_owned();
    assert_eq!(password.chars().count(), 12);
    let hash = match rt.block_on(hash_password(password.clone())) {
        Ok(h) => h,
        Err(e) => panic!("hashing failed: {e}"),
    };

    let mut group = c.benchmark_group("argon2id");
    group.sample_size(10);
    group.bench_function("hash 12-char password", |b| {
        b.iter(|| rt.block_on(hash_password(black_box(password.clone()))))
    });
    group.bench_function("verify 12-char password", |b| {
        b.iter(|| {
            rt.block_on(verify_password(
                black_box(password.clone()),
                black_box(hash.clone()),
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
