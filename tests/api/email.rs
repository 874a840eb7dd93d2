//! The email seam: the SES sender against a moto server, a closed port,
//! and the template's SES permission.

use crate::secrets::MotoServer;
use aws_sdk_sesv2::config::{Credentials, Region};
use serde_json::Value;
use shared::email::template::PASSWORD_RESET;
use shared::email::{EmailError, EmailSender, SesSender};
use std::net::{Ipv4Addr, TcpListener};
use tests::iam::{policies, ses_identity_arn};
use tests::template_yaml;

/// The template's default sender (the IAM check compares the recorded
/// call with the policy at its parameters' defaults).
const FROM: &str = "no-reply@example.com";

/// AWS settings with static test credentials; `endpoint` for every client.
async fn aws(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let mut config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "static"))
        .http_client(shared::runtime::http_client());
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    config.load().await
}

/// An SES client of `endpoint` with static test credentials.
pub(crate) async fn client(endpoint: &str) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(&aws(Some(endpoint)).await)
}

/// What moto "sent": the messages its model dump lists.
async fn sent_messages(moto: &MotoServer) -> Vec<Value> {
    let dump: Value = reqwest::get(format!("{}/moto-api/data.json", moto.endpoint))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    dump["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn reset_message(to: &str) -> shared::email::Email {
    PASSWORD_RESET
        .render(
            to,
            &[
                ("link", "https://app.test/reset-password?token=Abc-_1"),
                ("email", to),
                ("valid_minutes", "60"),
            ],
        )
        .unwrap()
}

#[tokio::test]
async fn the_ses_sender_sends_through_sendemail() {
    let moto = MotoServer::start();
    let admin = client(&moto.endpoint).await;
    // SES sends only from verified identities; moto checks it too.
    admin
        .create_email_identity()
        .email_identity(FROM)
        .send()
        .await
        .expect("identity created in moto");

    let auth_client = aws_sdk_sesv2::Client::from_conf(
        admin
            .config()
            .to_builder()
            .interceptor(tests::iam::Recorder::new("auth"))
            .build(),
    );
    let sender = SesSender::new(auth_client, FROM);
    sender
        .send(&reset_message("ada@example.org"))
        .await
        .expect("sent");

    let messages = sent_messages(&moto).await;
    let sent = messages
        .iter()
        .find(|m| m["subject"] == "Reset your password")
        .unwrap_or_else(|| panic!("no message in moto's dump: {messages:?}"));
    assert_eq!(sent["source"], FROM);
    assert!(
        sent.to_string().contains("ada@example.org"),
        "recipient: {sent}"
    );
    assert!(
        sent["body"]
            .as_str()
            .unwrap_or_default()
            .contains("https://app.test/reset-password?token=Abc-_1"),
        "{sent}"
    );

    // The users function sends invitations the same way.
    let users_client = aws_sdk_sesv2::Client::from_conf(
        admin
            .config()
            .to_builder()
            .interceptor(tests::iam::Recorder::new("users"))
            .build(),
    );
    let invitation = shared::email::template::INVITATION
        .render(
            "grace@example.org",
            &[
                ("link", "https://app.test/accept-invitation?token=Xyz"),
                ("email", "grace@example.org"),
                ("organisation", "Acme"),
                ("inviter", "ada@example.org"),
                ("valid_days", "7"),
            ],
        )
        .unwrap();
    SesSender::new(users_client, FROM)
        .send(&invitation)
        .await
        .expect("sent");
    let messages = sent_messages(&moto).await;
    assert!(
        messages.iter().any(|m| m["subject"] == "Join Acme"),
        "no invitation in moto's dump: {messages:?}"
    );

    // As deployed: the sender the settings choose, whose client is built
    // on its first message.
    let settings = shared::email::EmailSettings::from_lookup(|name| match name {
        "EMAIL_FROM" => Some(FROM.to_owned()),
        "SES_ENDPOINT" => Some(moto.endpoint.clone()),
        "FRONTEND_URL" => Some("https://app.test".to_owned()),
        _ => None,
    })
    .unwrap();
    let configured = shared::email::sender(&settings, &aws(None).await).unwrap();
    configured
        .send(&reset_message("lin@example.org"))
        .await
        .expect("sent");
    let messages = sent_messages(&moto).await;
    assert!(
        messages
            .iter()
            .any(|m| m.to_string().contains("lin@example.org")),
        "no message to lin@example.org in moto's dump: {messages:?}"
    );

    // An unverified sender is refused, as SES does: an error, not a panic.
    let unverified = SesSender::new(client(&moto.endpoint).await, "other@unverified.example");
    let err = unverified.send(&reset_message("ada@example.org")).await;
    assert!(matches!(err, Err(EmailError::Service(_))), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_ses_is_an_error() {
    // A port nobody listens on: bound, then released.
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let sender = SesSender::new(client(&format!("http://127.0.0.1:{port}")).await, FROM);
    let err = sender.send(&reset_message("ada@example.org")).await;
    assert!(matches!(err, Err(EmailError::Service(_))), "{err:?}");
}

/// Only the functions that send mail (auth: reset and verification
/// links; users: invitations) may, and only `ses:SendEmail` from the
/// configured identity: no other SES action, no wildcard resource.
#[test]
fn only_the_sending_functions_may_send_and_only_from_their_identity() {
    let template = template_yaml();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&template).unwrap();
    let identity = doc["Parameters"]["EmailIdentity"]["Default"]
        .as_str()
        .expect("an EmailIdentity parameter");
    assert!(
        FROM.ends_with(&format!("@{identity}")),
        "the tests send from the default identity"
    );
    for (function, grants) in policies(&template) {
        let ses: Vec<(String, String)> = grants
            .iter()
            .filter(|g| g.action.to_ascii_lowercase().starts_with("ses:") || g.action == "*")
            .map(|g| (g.action.clone(), g.resource.clone()))
            .collect();
        if function == "auth" || function == "users" {
            assert_eq!(
                ses,
                vec![("ses:SendEmail".to_owned(), ses_identity_arn(Some(FROM)))],
                "{function}'s SES grants"
            );
        } else {
            assert!(ses.is_empty(), "{function} may not use SES: {ses:?}");
        }
    }
    // And the functions that send get a sender address and the frontend URL.
    for function in ["AuthFunction", "UsersFunction"] {
        let env = &doc["Resources"][function]["Properties"]["Environment"]["Variables"];
        assert!(
            env.get("EMAIL_FROM").is_some() && env.get("FRONTEND_URL").is_some(),
            "{function}"
        );
    }
}
