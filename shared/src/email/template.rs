//! Message templates, kept in the repository (`shared/templates/email/`)
//! and compiled in: `{{name}}` placeholders, replaced by values, which are
//! HTML-escaped in the HTML body. A placeholder without a value is an
//! error, never an empty string in a sent message.

use super::Email;

/// A subject line and the two bodies of one kind of message.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    pub name: &'static str,
    pub subject: &'static str,
    pub text: &'static str,
    pub html: &'static str,
}

/// The password-reset message: `{{link}}`, `{{email}}`, `{{valid_minutes}}`.
pub const PASSWORD_RESET: Template = Template {
    name: "password_reset",
    subject: "Reset your password",
    text: include_str!("../../templates/email/password_reset.txt"),
    html: include_str!("../../templates/email/password_reset.html"),
};

/// The email-verification message: `{{link}}`, `{{email}}`, `{{valid_days}}`.
pub const VERIFY_EMAIL: Template = Template {
    name: "verify_email",
    subject: "Verify your email address",
    text: include_str!("../../templates/email/verify_email.txt"),
    html: include_str!("../../templates/email/verify_email.html"),
};

/// The invitation message: `{{link}}`, `{{email}}`, `{{organisation}}`,
/// `{{inviter}}`, `{{valid_days}}`.
pub const INVITATION: Template = Template {
    name: "invitation",
    subject: "Join {{organisation}}",
    text: include_str!("../../templates/email/invitation.txt"),
    html: include_str!("../../templates/email/invitation.html"),
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template {template}: no value for {{{{{placeholder}}}}}")]
    MissingValue {
        template: &'static str,
        placeholder: String,
    },
    #[error("template {template}: unclosed placeholder")]
    Unclosed { template: &'static str },
}

impl Template {
    /// The message to `to`, with every placeholder replaced.
    pub fn render(&self, to: &str, values: &[(&str, &str)]) -> Result<Email, TemplateError> {
        Ok(Email {
            to: to.to_owned(),
            subject: substitute(self.name, self.subject, values, false)?,
            text: substitute(self.name, self.text, values, false)?,
            html: substitute(self.name, self.html, values, true)?,
        })
    }
}

fn substitute(
    template: &'static str,
    source: &str,
    values: &[(&str, &str)],
    html: bool,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or(TemplateError::Unclosed { template })?;
        let name = after[..end].trim();
        let value = values
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| TemplateError::MissingValue {
                template,
                placeholder: name.to_owned(),
            })?;
        if html {
            escape_html_into(&mut out, value);
        } else {
            out.push_str(value);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Escapes the five characters that matter in HTML text and attributes.
pub fn escape_html_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Template = Template {
        name: "t",
        subject: "Hi {{ name }}",
        text: "Hello {{name}}, see {{link}}",
        html: "<p>Hello {{name}}</p><a href=\"{{link}}\">go</a>",
    };

    #[test]
    fn replaces_placeholders_and_escapes_only_the_html_body() {
        let email = T
            .render(
                "a@b.io",
                &[
                    ("name", "<Ada & \"Bob\">"),
                    ("link", "https://x.io/?a=1&b=2"),
                ],
            )
            .unwrap();
        assert_eq!(email.subject, "Hi <Ada & \"Bob\">");
        assert_eq!(
            email.text,
            "Hello <Ada & \"Bob\">, see https://x.io/?a=1&b=2"
        );
        assert_eq!(
            email.html,
            "<p>Hello &lt;Ada &amp; &quot;Bob&quot;&gt;</p><a href=\"https://x.io/?a=1&amp;b=2\">go</a>"
        );
    }

    #[test]
    fn a_missing_value_or_an_unclosed_placeholder_is_an_error() {
        let err = T.render("a@b.io", &[("name", "x")]).unwrap_err();
        assert_eq!(
            err,
            TemplateError::MissingValue {
                template: "t",
                placeholder: "link".into()
            }
        );
        let broken = Template {
            text: "oops {{name",
            ..T
        };
        assert!(matches!(
            broken.render("a@b.io", &[("name", "x"), ("link", "y")]),
            Err(TemplateError::Unclosed { .. })
        ));
    }

    #[test]
    fn the_password_reset_template_renders_with_its_values() {
        let email = PASSWORD_RESET
            .render(
                "a@b.io",
                &[
                    ("link", "https://app.example/reset-password?token=T0k"),
                    ("email", "a@b.io"),
                    ("valid_minutes", "60"),
                ],
            )
            .unwrap();
        for body in [&email.text, &email.html] {
            assert!(body.contains("https://app.example/reset-password?token=T0k"));
            assert!(body.contains("60"));
            assert!(!body.contains("{{"));
        }
        assert_eq!(
            super::super::links_in(&email.text),
            vec!["https://app.example/reset-password?token=T0k"]
        );
    }

    #[test]
    fn the_verify_email_template_renders_with_its_values() {
        let email = VERIFY_EMAIL
            .render(
                "a@b.io",
                &[
                    ("link", "https://app.example/verify-email?token=T0k"),
                    ("email", "a@b.io"),
                    ("valid_days", "7"),
                ],
            )
            .unwrap();
        for body in [&email.text, &email.html] {
            assert!(body.contains("https://app.example/verify-email?token=T0k"));
            assert!(body.contains("a@b.io") && body.contains('7'));
            assert!(!body.contains("{{"));
        }
        assert_eq!(
            super::super::links_in(&email.text),
            vec!["https://app.example/verify-email?token=T0k"]
        );
    }
}
