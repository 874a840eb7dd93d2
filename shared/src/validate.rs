//! Field rules shared by the APIs that take names, emails, slugs and
//! domains.

use crate::http::ValidationErrors;

pub const MAX_EMAIL: usize = 254;
const RESERVED_SLUGS: &[&str] = &[
    "admin", "api", "app", "auth", "docs", "platform", "static", "www",
];

/// Lowercases and checks an email; adds an error on `field` if invalid.
pub fn email(errors: &mut ValidationErrors, field: &str, raw: &str) -> String {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= MAX_EMAIL
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            }
            None => false,
        };
    if !valid {
        errors.add(field, "Enter a valid email address.");
    }
    email
}

/// A tenant slug: 3–50 of a–z, 0–9 and inner hyphens, not reserved.
pub fn slug(errors: &mut ValidationErrors, field: &str, raw: &str) -> String {
    let slug = raw.trim().to_owned();
    let chars_ok = slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !(3..=50).contains(&slug.len()) || !chars_ok || slug.starts_with('-') || slug.ends_with('-')
    {
        errors.add(
            field,
            "Enter 3 to 50 lowercase letters, digits or hyphens, not starting or ending with a hyphen.",
        );
    } else if RESERVED_SLUGS.contains(&slug.as_str()) {
        errors.add(field, "This slug is reserved.");
    }
    slug
}

/// A required, trimmed name of at most `max` characters.
pub fn name(errors: &mut ValidationErrors, field: &str, raw: &str, max: usize) -> String {
    let name = raw.trim().to_owned();
    if name.is_empty() {
        errors.add(field, "This field may not be blank.");
    } else if name.chars().count() > max {
        errors.add(
            field,
            format!("Ensure this field has no more than {max} characters."),
        );
    }
    name
}

/// A custom domain (hostname): lowercased, labels of a–z, 0–9 and inner
/// hyphens, at least two labels.
pub fn domain(errors: &mut ValidationErrors, field: &str, raw: &str) -> String {
    let domain = raw.trim().trim_end_matches('.').to_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    let valid = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if !valid {
        errors.add(field, "Enter a valid domain name, such as crm.example.com.");
    }
    domain
}

/// An optional name (may be empty).
pub fn optional_name(
    errors: &mut ValidationErrors,
    field: &str,
    raw: Option<&str>,
    max: usize,
) -> String {
    let name = raw.unwrap_or("").trim().to_owned();
    if name.chars().count() > max {
        errors.add(
            field,
            format!("Ensure this field has no more than {max} characters."),
        );
    }
    name
}

/// A list's `search` term: trimmed, lower-cased, 1–100 characters.
pub fn search_term(raw: &str) -> Result<String, ValidationErrors> {
    let term = raw.trim().to_lowercase();
    if term.is_empty() || term.chars().count() > 100 {
        return Err(ValidationErrors::field(
            "search",
            "Enter 1 to 100 characters.",
        ));
    }
    Ok(term)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T>(f: impl Fn(&mut ValidationErrors) -> T) -> (T, bool) {
        let mut e = ValidationErrors::new();
        let v = f(&mut e);
        (v, e.is_empty())
    }

    #[test]
    fn emails() {
        assert_eq!(
            check(|e| email(e, "email", " Ada@Example.COM ")),
            ("ada@example.com".into(), true)
        );
        for bad in [
            "", "ada", "ada@", "@x.io", "a@b", "a b@c.io", "a@b@c.io", "a@.io", "a@x..io",
        ] {
            assert!(!check(|e| email(e, "email", bad)).1, "{bad} accepted");
        }
    }

    #[test]
    fn slugs() {
        assert!(check(|e| slug(e, "s", "acme-corp")).1);
        assert!(check(|e| slug(e, "s", "a1b")).1);
        for bad in [
            "ab",
            "Acme",
            "-acme",
            "acme-",
            "ac me",
            "acme_corp",
            "admin",
            &"a".repeat(51),
        ] {
            assert!(!check(|e| slug(e, "s", bad)).1, "{bad} accepted");
        }
    }

    #[test]
    fn domains() {
        assert_eq!(
            check(|e| domain(e, "d", "CRM.Acme.io.")),
            ("crm.acme.io".into(), true)
        );
        for bad in [
            "acme",
            "-a.io",
            "a-.io",
            "a..io",
            "a b.io",
            "a_b.io",
            &format!("{}.io", "a".repeat(64)),
        ] {
            assert!(!check(|e| domain(e, "d", bad)).1, "{bad} accepted");
        }
    }

    #[test]
    fn names() {
        assert!(!check(|e| name(e, "n", "   ", 10)).1);
        assert!(!check(|e| name(e, "n", "abcdefghijk", 10)).1);
        assert_eq!(check(|e| name(e, "n", " Ada ", 10)), ("Ada".into(), true));
    }
}
