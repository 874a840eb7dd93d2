//! Token verification against forged, altered and misused tokens. Pure
//! crypto: no DynamoDB needed.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use shared::auth::key_pair::StoredSigningKey;
use shared::auth::{
    authenticate, Claims, Jwks, SigningKeyPair, TokenError, TokenSettings, TokenSigner, TokenType,
    TokenVerifier,
};
use shared::permissions::{admin_permissions, flatten, Module};
use uuid::Uuid;

const KID: &str = "k1";

struct Fixture {
    key: SigningKeyPair,
    signer: TokenSigner,
    verifier: TokenVerifier,
    settings: TokenSettings,
}

fn fixture() -> Fixture {
    let settings = TokenSettings::default();
    let key = SigningKeyPair::generate(KID);
    let verifier = TokenVerifier::new(
        &Jwks {
            keys: vec![key.public_jwk()],
        },
        &settings,
    )
    .expect("valid key set");
    let signer = TokenSigner::new(key.clone(), settings.clone());
    Fixture {
        key,
        signer,
        verifier,
        settings,
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn claims(settings: &TokenSettings, token_type: TokenType) -> Claims {
    let now = now();
    Claims {
        sub: Uuid::new_v4(),
        email: "jane@example.com".into(),
        tenant_id: Uuid::new_v4(),
        tenant_slug: "acme".into(),
        table: None,
        is_super_admin: false,
        plan: Some(Uuid::new_v4()),
        email_verified: false,
        permissions: flatten(&admin_permissions()),
        enabled_modules: Module::ALL.iter().map(|m| m.as_str().to_owned()).collect(),
        team_ids: vec![Uuid::new_v4(), Uuid::new_v4()],
        roles: vec![],
        token_type,
        jti: Uuid::new_v4(),
        fam: Uuid::new_v4(),
        iat: now,
        iat_ms: None,
        nbf: now,
        exp: now + settings.access_ttl_secs,
        iss: settings.issuer.clone(),
        aud: settings.audience.clone(),
    }
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// The key's private half as a jsonwebtoken key, to sign with headers
/// `TokenSigner` would never write.
fn raw_encoding_key(key: &SigningKeyPair) -> EncodingKey {
    let stored: StoredSigningKey =
        serde_json::from_str(&key.to_json().expect("key serialises")).expect("stored form");
    // jsonwebtoken's PEM parsing is feature-gated; PKCS#8 PEM is base64 DER.
    let body: String = stored
        .private_key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    EncodingKey::from_ed_der(&STANDARD.decode(body).expect("PEM body is base64"))
}

fn refused(f: &Fixture, token: &str, expected: TokenType) -> TokenError {
    match f.verifier.verify(token, expected) {
        Ok(c) => panic!("token was accepted: {token} → {c:?}"),
        Err(e) => e,
    }
}

#[test]
fn happy_path_decodes_every_claim() {
    let f = fixture();
    for token_type in [TokenType::Access, TokenType::Refresh] {
        let signed = claims(&f.settings, token_type);
        let token = f.signer.sign(&signed).unwrap();
        assert_eq!(f.verifier.verify(&token, token_type).unwrap(), signed);
    }
}

#[test]
fn an_all_permissions_access_token_fits_in_a_header() {
    let f = fixture();
    let token = f
        .signer
        .sign(&claims(&f.settings, TokenType::Access))
        .unwrap();
    assert!(token.len() < 4096, "access token is {} bytes", token.len());
}

#[test]
fn alg_none_is_refused() {
    let f = fixture();
    let payload = serde_json::to_value(claims(&f.settings, TokenType::Access)).unwrap();
    for header in [
        json!({"alg": "none", "typ": "JWT"}),
        json!({"alg": "none", "kid": KID}),
        json!({"alg": "None", "kid": KID}),
    ] {
        let token = format!("{}.{}.", b64(&header), b64(&payload));
        assert_eq!(refused(&f, &token, TokenType::Access), TokenError::Invalid);
    }
}

/// An HMAC-signed token built by hand: the platform's jsonwebtoken
/// provides Ed25519 alone, so it cannot make one.
fn hmac_token(alg: &str, header: &Value, payload: &Value, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let mac = match alg {
        "HS256" => hmac::<sha2::Sha256>(secret, &input),
        "HS384" => hmac::<sha2::Sha384>(secret, &input),
        "HS512" => hmac::<sha2::Sha512>(secret, &input),
        other => panic!("not an HMAC algorithm: {other}"),
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac))
}

fn hmac<D>(secret: &[u8], input: &str) -> Vec<u8>
where
    D: sha2::Digest + hmac::digest::core_api::BlockSizeUser,
{
    use hmac::Mac;
    <hmac::SimpleHmac<D> as Mac>::new_from_slice(secret)
        .unwrap()
        .chain_update(input)
        .finalize()
        .into_bytes()
        .to_vec()
}

#[test]
fn hs256_with_the_public_key_as_secret_is_refused() {
    let f = fixture();
    let c = serde_json::to_value(claims(&f.settings, TokenType::Access)).unwrap();
    let x = f.key.public_jwk().x;
    let raw_public = URL_SAFE_NO_PAD.decode(&x).unwrap();
    let jwk_json = serde_json::to_vec(&f.key.public_jwk()).unwrap();
    for secret in [raw_public.as_slice(), x.as_bytes(), jwk_json.as_slice()] {
        for alg in ["HS256", "HS384", "HS512"] {
            let header = json!({"alg": alg, "typ": "JWT", "kid": KID});
            let token = hmac_token(alg, &header, &c, secret);
            assert_eq!(refused(&f, &token, TokenType::Access), TokenError::Invalid);
        }
    }
    // A header claiming EdDSA with the trusted kid, signed as HMAC.
    let header = json!({"alg": "EdDSA", "kid": KID});
    let token = hmac_token("HS256", &header, &c, &raw_public);
    assert_eq!(refused(&f, &token, TokenType::Access), TokenError::Invalid);
}

#[test]
fn unknown_or_missing_kid_is_refused() {
    let f = fixture();
    let c = claims(&f.settings, TokenType::Access);
    // A genuine signature by the trusted key, but under a kid it doesn't have.
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("k2".into());
    let token = jsonwebtoken::encode(&header, &c, &raw_encoding_key(&f.key)).unwrap();
    assert_eq!(refused(&f, &token, TokenType::Access), TokenError::Invalid);

    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &c,
        &raw_encoding_key(&f.key),
    )
    .unwrap();
    assert_eq!(refused(&f, &token, TokenType::Access), TokenError::Invalid);

    let other = TokenSigner::new(SigningKeyPair::generate("stranger"), f.settings.clone());
    assert_eq!(
        refused(&f, &other.sign(&c).unwrap(), TokenType::Access),
        TokenError::Invalid
    );
}

#[test]
fn another_key_under_the_same_kid_is_refused() {
    let f = fixture();
    let impostor = TokenSigner::new(SigningKeyPair::generate(KID), f.settings.clone());
    let token = impostor
        .sign(&claims(&f.settings, TokenType::Access))
        .unwrap();
    assert_eq!(refused(&f, &token, TokenType::Access), TokenError::Invalid);
}

#[test]
fn expired_tokens_are_refused() {
    let f = fixture();
    let mut c = claims(&f.settings, TokenType::Access);
    c.iat = now() - 3600;
    c.nbf = c.iat;
    c.exp = now() - 60;
    assert_eq!(
        refused(&f, &f.signer.sign(&c).unwrap(), TokenType::Access),
        TokenError::Expired
    );
}

#[test]
fn not_yet_valid_tokens_are_refused() {
    let f = fixture();
    let mut c = claims(&f.settings, TokenType::Access);
    c.nbf = now() + 60;
    assert_eq!(
        refused(&f, &f.signer.sign(&c).unwrap(), TokenType::Access),
        TokenError::Invalid
    );
}

#[test]
fn wrong_audience_or_issuer_is_refused() {
    let f = fixture();
    let mut c = claims(&f.settings, TokenType::Access);
    c.aud = "another-api".into();
    assert_eq!(
        refused(&f, &f.signer.sign(&c).unwrap(), TokenType::Access),
        TokenError::Invalid
    );
    let mut c = claims(&f.settings, TokenType::Access);
    c.iss = "another-issuer".into();
    assert_eq!(
        refused(&f, &f.signer.sign(&c).unwrap(), TokenType::Access),
        TokenError::Invalid
    );
}

#[test]
fn token_types_are_not_interchangeable() {
    let f = fixture();
    let refresh = f
        .signer
        .sign(&claims(&f.settings, TokenType::Refresh))
        .unwrap();
    assert_eq!(
        refused(&f, &refresh, TokenType::Access),
        TokenError::WrongType(TokenType::Access)
    );
    let access = f
        .signer
        .sign(&claims(&f.settings, TokenType::Access))
        .unwrap();
    assert_eq!(
        refused(&f, &access, TokenType::Refresh),
        TokenError::WrongType(TokenType::Refresh)
    );
}

#[test]
fn tampered_payloads_are_refused() {
    let f = fixture();
    let token = f
        .signer
        .sign(&claims(&f.settings, TokenType::Access))
        .unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let tampers: [(&str, Value); 4] = [
        ("is_super_admin", json!(true)),
        ("tenant_id", json!(Uuid::new_v4())),
        ("exp", json!(now() + 365 * 24 * 3600)),
        ("token_type", json!("refresh")),
    ];
    for (claim, value) in tampers {
        let mut changed = payload.clone();
        changed[claim] = value;
        let forged = format!("{}.{}.{}", parts[0], b64(&changed), parts[2]);
        assert_eq!(
            refused(&f, &forged, TokenType::Access),
            TokenError::Invalid,
            "{claim}"
        );
    }
    // Flipping one signature character breaks it too.
    let mut sig = parts[2].to_owned();
    let first = if sig.starts_with('A') { "B" } else { "A" };
    sig.replace_range(0..1, first);
    assert_eq!(
        refused(
            &f,
            &format!("{}.{}.{sig}", parts[0], parts[1]),
            TokenType::Access
        ),
        TokenError::Invalid
    );
}

#[test]
fn garbage_is_refused() {
    let f = fixture();
    let valid = f
        .signer
        .sign(&claims(&f.settings, TokenType::Access))
        .unwrap();
    let header_only = valid.split('.').next().unwrap().to_owned();
    for junk in [
        "",
        "garbage",
        "a.b.c",
        "..",
        "....",
        "Bearer x",
        "eyJhbGciOiJFZERTQSJ9",
        "eyJhbGciOiJFZERTQSJ9.e30.",
        &format!("{header_only}.."),
        &format!("{valid}."),
        &format!("{valid}x"),
        &valid[..valid.len() - 1],
        "\u{0}\u{1}.\u{2}.\u{3}",
    ] {
        assert!(
            f.verifier.verify(junk, TokenType::Access).is_err(),
            "{junk:?} was accepted"
        );
    }
}

#[test]
fn a_rotated_key_set_verifies_both_keys() {
    let settings = TokenSettings::default();
    let old = SigningKeyPair::generate("2024-old");
    let new = SigningKeyPair::generate("2025-new");
    let verifier = TokenVerifier::new(
        &Jwks {
            keys: vec![old.public_jwk(), new.public_jwk()],
        },
        &settings,
    )
    .unwrap();
    for key in [old, new] {
        let c = claims(&settings, TokenType::Access);
        let token = TokenSigner::new(key, settings.clone()).sign(&c).unwrap();
        assert_eq!(verifier.verify(&token, TokenType::Access).unwrap(), c);
    }
}

#[test]
fn authenticate_answers_401_with_drf_bodies() {
    let f = fixture();
    let unauthenticated = |header: Option<&str>| match authenticate(&f.verifier, header) {
        Ok(p) => panic!("{header:?} authenticated as {}", p.user_id()),
        Err(e) => {
            assert_eq!(e.status(), StatusCode::UNAUTHORIZED, "{header:?}");
            e.body()
        }
    };
    for header in [
        None,
        Some("Basic dXNlcjpwYXNz"),
        Some("Bearer "),
        Some("Token abc"),
        Some(""),
    ] {
        assert_eq!(
            unauthenticated(header)["code"],
            "not_authenticated",
            "{header:?}"
        );
    }
    assert_eq!(
        unauthenticated(None),
        json!({"detail": "Authentication credentials were not provided.", "code": "not_authenticated"})
    );
    assert_eq!(
        unauthenticated(Some("Bearer not.a.token")),
        json!({"detail": "Token is invalid.", "code": "token_not_valid"})
    );
    let refresh = f
        .signer
        .sign(&claims(&f.settings, TokenType::Refresh))
        .unwrap();
    assert_eq!(
        unauthenticated(Some(&format!("Bearer {refresh}"))),
        json!({"detail": "Token is not an access token.", "code": "token_not_valid"})
    );
    let mut expired = claims(&f.settings, TokenType::Access);
    expired.exp = now() - 60;
    let expired = f.signer.sign(&expired).unwrap();
    assert_eq!(
        unauthenticated(Some(&format!("Bearer {expired}"))),
        json!({"detail": "Token has expired.", "code": "token_not_valid"})
    );

    let c = claims(&f.settings, TokenType::Access);
    let token = f.signer.sign(&c).unwrap();
    let principal = authenticate(&f.verifier, Some(&format!("Bearer {token}"))).unwrap();
    assert_eq!(principal.claims(), &c);
}
