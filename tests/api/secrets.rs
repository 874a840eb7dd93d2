//! Loading the signing key from Secrets Manager, against a moto server the
//! test starts itself (no DynamoDB needed).

use aws_sdk_secretsmanager::config::{Credentials, Region};
use shared::auth::{
    signing_key_from_secrets_manager, Claims, Jwks, SigningKeyError, SigningKeyPair, TokenSettings,
    TokenSigner, TokenType, TokenVerifier,
};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A moto server on a free local port, killed when dropped.
pub(crate) struct MotoServer {
    child: Child,
    pub(crate) endpoint: String,
}

impl MotoServer {
    fn binary() -> PathBuf {
        tests::repo_root().join(".local/venv/bin/moto_server")
    }

    pub(crate) fn start() -> Self {
        let binary = Self::binary();
        assert!(
            binary.is_file(),
            "{} is missing: install it with `.local/venv/bin/pip install 'moto[server]'` (infra/bootstrap.sh)",
            binary.display()
        );
        // Port 0 picks a free port; released just before moto binds it.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free local port")
            .port();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} did not start: {e}", binary.display()));
        let mut server = MotoServer {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        server.wait_until_listening(port);
        server
    }

    fn wait_until_listening(&mut self, port: u16) {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("moto_server exited before listening on {port}: {status}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server did not listen on {port} within 30 s");
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client bound to the emulator with static dummy credentials, so the
/// test never reads (or needs) the environment's AWS settings.
async fn client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "static"))
        .endpoint_url(endpoint)
        .http_client(shared::runtime::http_client())
        .load()
        .await;
    aws_sdk_secretsmanager::Client::new(&config)
}

fn claims(settings: &TokenSettings) -> Claims {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    Claims {
        sub: Uuid::new_v4(),
        email: "jane@example.com".into(),
        tenant_id: Uuid::new_v4(),
        tenant_slug: "acme".into(),
        table: None,
        is_super_admin: false,
        plan: None,
        email_verified: false,
        permissions: Default::default(),
        enabled_modules: vec!["crm".into()],
        team_ids: vec![],
        roles: vec![],
        token_type: TokenType::Access,
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

#[tokio::test]
async fn signing_key_loads_from_secrets_manager() {
    let moto = MotoServer::start();
    let client = client(&moto.endpoint).await;

    let original = SigningKeyPair::generate("sm-key");
    // The template's default name: the auth function's call is recorded
    // and checked against its policy (moto is this test's own).
    let secret_id = "saas-platform/jwt-signing-key".to_owned();
    client
        .create_secret()
        .name(&secret_id)
        .secret_string(original.to_json().unwrap())
        .send()
        .await
        .expect("secret created in moto");

    let auth_client = aws_sdk_secretsmanager::Client::from_conf(
        client
            .config()
            .to_builder()
            .interceptor(tests::iam::Recorder::new("auth"))
            .build(),
    );
    let loaded = signing_key_from_secrets_manager(&auth_client, &secret_id)
        .await
        .expect("key loads");
    assert_eq!(loaded.kid(), "sm-key");

    // The loaded private key signs what the original public key verifies.
    let settings = TokenSettings::default();
    let verifier = TokenVerifier::new(
        &Jwks {
            keys: vec![original.public_jwk()],
        },
        &settings,
    )
    .unwrap();
    let c = claims(&settings);
    let token = TokenSigner::new(loaded, settings.clone()).sign(&c).unwrap();
    assert_eq!(verifier.verify(&token, TokenType::Access).unwrap(), c);

    let missing = signing_key_from_secrets_manager(&client, "test/no-such-secret").await;
    assert!(
        matches!(missing, Err(SigningKeyError::SecretNotFound(ref id)) if id == "test/no-such-secret"),
        "{missing:?}"
    );

    // A secret that isn't a signing key is an error, too.
    let junk_id = format!("test/junk/{}", Uuid::new_v4());
    client
        .create_secret()
        .name(&junk_id)
        .secret_string("{\"hello\": 1}")
        .send()
        .await
        .unwrap();
    let junk = signing_key_from_secrets_manager(&client, &junk_id).await;
    assert!(matches!(junk, Err(SigningKeyError::Key(_))), "{junk:?}");
}
