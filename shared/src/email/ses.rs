//! Amazon SES (API v2) `SendEmail` with simple content: subject, text and
//! HTML bodies, from the configured address.

use super::{Email, EmailError, EmailSender, SendFuture};
use aws_sdk_sesv2::error::DisplayErrorContext;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use std::sync::LazyLock;

#[derive(Debug)]
pub struct SesSender {
    client: LazyLock<aws_sdk_sesv2::Client, Box<dyn FnOnce() -> aws_sdk_sesv2::Client + Send>>,
    from: String,
}

impl SesSender {
    /// `from`: `EMAIL_FROM`, an address SES may send from.
    pub fn new(client: aws_sdk_sesv2::Client, from: impl Into<String>) -> Self {
        Self {
            client: LazyLock::new(Box::new(move || client)),
            from: from.into(),
        }
    }

    /// A sender whose client ([`client`]) is built on its first message:
    /// most invocations send none, and building it took about 0.1 ms of
    /// each cold start (docs/performance.md).
    pub fn on_first_use(
        aws: aws_types::SdkConfig,
        endpoint: Option<String>,
        from: impl Into<String>,
    ) -> Self {
        Self {
            client: LazyLock::new(Box::new(move || client(&aws, endpoint.as_deref()))),
            from: from.into(),
        }
    }
}

/// An SES client from the process's AWS settings (the bounded timeouts of
/// [`crate::runtime::sdk_config`]); `endpoint` overrides the service's
/// (local emulators).
pub fn client(aws: &aws_types::SdkConfig, endpoint: Option<&str>) -> aws_sdk_sesv2::Client {
    let mut builder = aws_sdk_sesv2::config::Builder::from(aws);
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    aws_sdk_sesv2::Client::from_conf(builder.build())
}

fn content(data: &str) -> Result<Content, EmailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| EmailError::Build(e.to_string()))
}

impl EmailSender for SesSender {
    fn send<'a>(&'a self, email: &'a Email) -> SendFuture<'a> {
        Box::pin(async move {
            let message = Message::builder()
                .subject(content(&email.subject)?)
                .body(
                    Body::builder()
                        .text(content(&email.text)?)
                        .html(content(&email.html)?)
                        .build(),
                )
                .build();
            self.client
                .send_email()
                .from_email_address(&self.from)
                .destination(Destination::builder().to_addresses(&email.to).build())
                .content(EmailContent::builder().simple(message).build())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| EmailError::Service(DisplayErrorContext(&e).to_string()))
        })
    }
}
