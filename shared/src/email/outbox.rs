//! The local delivery path: every message becomes one JSON file in a
//! directory (`make mail` lists the newest). Nothing to start, and a test
//! reads what was "sent" from its own directory.

use super::{Email, EmailError, EmailSender, SendFuture};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// Writes messages into `dir` (created when missing), one file each,
/// named so that names sort by time: `<unix nanos>-<uuid>.json`.
#[derive(Debug, Clone)]
pub struct OutboxSender {
    dir: PathBuf,
}

/// One file of the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
    /// The links of the text body, in order.
    pub links: Vec<String>,
}

impl OutboxSender {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The messages in `dir`, oldest first (files that are not messages
    /// are skipped).
    pub fn read(dir: &Path) -> std::io::Result<Vec<OutboxMessage>> {
        let mut names: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        names.sort();
        Ok(names
            .iter()
            .filter_map(|p| std::fs::read(p).ok())
            .filter_map(|bytes| serde_json::from_slice(&bytes).ok())
            .collect())
    }
}

fn write(dir: &Path, email: &Email) -> Result<(), EmailError> {
    let io = |e: std::io::Error| EmailError::Outbox(format!("{}: {e}", dir.display()));
    let sent_at = OffsetDateTime::now_utc();
    let message = OutboxMessage {
        to: email.to.clone(),
        subject: email.subject.clone(),
        text: email.text.clone(),
        html: email.html.clone(),
        sent_at,
        links: links_in(&email.text),
    };
    let json =
        serde_json::to_vec_pretty(&message).map_err(|e| EmailError::Outbox(e.to_string()))?;
    std::fs::create_dir_all(dir).map_err(io)?;
    let name = format!(
        "{:020}-{}",
        sent_at.unix_timestamp_nanos(),
        uuid::Uuid::new_v4().simple()
    );
    // Written aside, then renamed: a reader never sees half a message.
    let partial = dir.join(format!(".{name}.partial"));
    std::fs::write(&partial, json).map_err(io)?;
    std::fs::rename(&partial, dir.join(format!("{name}.json"))).map_err(io)
}

impl EmailSender for OutboxSender {
    fn send<'a>(&'a self, email: &'a Email) -> SendFuture<'a> {
        Box::pin(async move {
            let dir = self.dir.clone();
            let email = email.clone();
            tokio::task::spawn_blocking(move || write(&dir, &email))
                .await
                .map_err(|e| EmailError::Outbox(e.to_string()))?
        })
    }
}

/// The `http://` and `https://` links in a text, in order, without the
/// punctuation that may follow one in prose.
pub fn links_in(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\''))
        .filter_map(|w| {
            let start = [w.find("https://"), w.find("http://")]
                .into_iter()
                .flatten()
                .min()?;
            Some(w[start..].trim_end_matches(['.', ',', ';', ':', ')', '!', '?']))
        })
        .filter(|link| !link.ends_with("://"))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_links_in_prose() {
        assert_eq!(
            links_in("Open https://a.example/x?token=A-b_c. Or (http://b.example/y), not ftp://c."),
            vec!["https://a.example/x?token=A-b_c", "http://b.example/y"]
        );
        assert!(links_in("no links here").is_empty());
    }

    #[tokio::test]
    async fn writes_one_json_file_per_message_in_order() {
        let dir = std::env::temp_dir().join(format!("outbox-{}", uuid::Uuid::new_v4()));
        let outbox = OutboxSender::new(&dir);
        for n in 0..2 {
            let email = Email {
                to: format!("u{n}@example.com"),
                subject: format!("S{n}"),
                text: format!("Go to https://app.example/p?token=t{n}"),
                html: "<p>hi</p>".into(),
            };
            outbox.send(&email).await.unwrap();
        }
        let read = OutboxSender::read(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].to, "u0@example.com");
        assert_eq!(read[1].links, vec!["https://app.example/p?token=t1"]);
        assert!(read[0].sent_at <= read[1].sent_at);
    }

    #[tokio::test]
    async fn an_unwritable_directory_is_an_error() {
        let file = std::env::temp_dir().join(format!("outbox-file-{}", uuid::Uuid::new_v4()));
        std::fs::write(&file, b"x").unwrap();
        let email = Email {
            to: "a@b.io".into(),
            subject: "s".into(),
            text: String::new(),
            html: String::new(),
        };
        let err = OutboxSender::new(file.join("sub")).send(&email).await;
        std::fs::remove_file(&file).unwrap();
        assert!(matches!(err, Err(EmailError::Outbox(_))), "{err:?}");
    }
}
