//! The region and credentials Lambda gives a function in its environment
//! (`AWS_REGION`, and the execution role's keys in `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). Read directly rather than
//! through aws-config's provider chains: those also link profile files,
//! STS, SSO, ECS and instance metadata, none of which a function reaches,
//! and cost every binary about 0.5 MB and every cold start their set-up.
//! `make dev`, the tests and the benchmarks set the same variables.

use aws_credential_types::provider::{self, error::CredentialsError, ProvideCredentials};
use aws_credential_types::Credentials;
use aws_types::region::Region;

/// `AWS_REGION`, else `AWS_DEFAULT_REGION`. None when neither is set: the
/// first AWS call then fails, naming the missing region.
pub(super) fn region(var: impl Fn(&str) -> Option<String>) -> Option<Region> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|name| non_empty(&var, name))
        .map(Region::new)
}

/// Credentials read from the process environment each time the SDK's
/// identity cache asks (it keeps them between calls).
#[derive(Debug)]
pub(super) struct EnvironmentCredentials;

impl ProvideCredentials for EnvironmentCredentials {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::ready(credentials(crate::config::env_var))
    }
}

fn credentials(var: impl Fn(&str) -> Option<String>) -> provider::Result {
    match (
        non_empty(&var, "AWS_ACCESS_KEY_ID"),
        non_empty(&var, "AWS_SECRET_ACCESS_KEY"),
    ) {
        (Some(key_id), Some(secret)) => Ok(Credentials::new(
            key_id,
            secret,
            non_empty(&var, "AWS_SESSION_TOKEN"),
            None,
            "Environment",
        )),
        _ => Err(CredentialsError::not_loaded(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set \
             (Lambda sets them from the function's execution role)",
        )),
    }
}

fn non_empty(var: impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    var(name).filter(|value| !value.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::lookup as env;

    #[test]
    fn region_is_aws_region_then_the_default_region() {
        let both = env(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ]);
        assert_eq!(region(both), Some(Region::new("eu-west-1")));
        let default_only = env(&[("AWS_REGION", " "), ("AWS_DEFAULT_REGION", "us-east-2")]);
        assert_eq!(region(default_only), Some(Region::new("us-east-2")));
        assert_eq!(region(env(&[])), None);
    }

    #[test]
    fn credentials_are_the_execution_roles_keys() {
        let lambda = env(&[
            ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
        ]);
        let keys = credentials(lambda).unwrap();
        assert_eq!(keys.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(keys.secret_access_key(), "secret");
        assert_eq!(keys.session_token(), Some("token"));

        let long_lived = env(&[
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
        ]);
        assert_eq!(credentials(long_lived).unwrap().session_token(), None);
    }

    #[test]
    fn missing_keys_are_an_error_that_names_them() {
        for pairs in [
            &[][..],
            &[("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE")][..],
            &[
                ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", ""),
            ][..],
        ] {
            let error = credentials(env(pairs)).unwrap_err();
            assert!(
                format!("{error:?}").contains("AWS_SECRET_ACCESS_KEY"),
                "{error:?}"
            );
        }
    }
}
