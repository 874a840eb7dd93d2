//! One source of truth: the table and routes in template.yaml are what
//! local creation, local routing and the code use.

use shared::keys;
use shared::store::table::TableDefinition;
use tests::routes::{local_routes, template_routes};
use tests::{fresh_table, repo_root, template_yaml};

#[tokio::test]
async fn local_table_is_created_exactly_as_the_template_defines_it() {
    let expected = TableDefinition::from_template(&template_yaml()).unwrap();
    let (client, table) = fresh_table().await;
    let actual = TableDefinition::describe(&client, &table).await.unwrap();
    assert_eq!(actual, expected);
}

#[test]
fn the_template_table_has_the_keys_the_code_uses() {
    let def = TableDefinition::from_template(&template_yaml()).unwrap();
    assert_eq!(def.hash_key, keys::PK);
    assert_eq!(def.range_key.as_deref(), Some(keys::SK));
    let gsi = def
        .indexes
        .iter()
        .find(|i| i.name == keys::GSI1)
        .expect("GSI1 is defined");
    assert_eq!(gsi.hash_key, keys::GSI1PK);
    assert_eq!(gsi.range_key.as_deref(), Some(keys::GSI1SK));
    let gsi2 = def
        .indexes
        .iter()
        .find(|i| i.name == keys::GSI2)
        .expect("GSI2 is defined");
    assert_eq!(
        gsi2.hash_key,
        keys::PK,
        "GSI2 orders items inside their own partition"
    );
    assert_eq!(gsi2.range_key.as_deref(), Some(keys::GSI2SK));
    let gsi3 = def
        .indexes
        .iter()
        .find(|i| i.name == keys::GSI3)
        .expect("GSI3 is defined");
    assert_eq!(gsi3.hash_key, keys::GSI3PK);
    assert_eq!(gsi3.range_key.as_deref(), Some(keys::GSI3SK));
    assert_eq!(def.ttl_attribute.as_deref(), Some(keys::TTL));
    for attr in [
        keys::PK,
        keys::SK,
        keys::GSI1PK,
        keys::GSI1SK,
        keys::GSI2SK,
        keys::GSI3PK,
        keys::GSI3SK,
    ] {
        assert_eq!(
            def.attributes.get(attr).map(String::as_str),
            Some("S"),
            "{attr} is a string key"
        );
    }
}

#[test]
fn local_router_and_template_routes_are_identical() {
    let template = template_routes(&template_yaml());
    let cargo = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let local = local_routes(&cargo);
    assert!(!template.is_empty());
    let only_template: Vec<_> = template.difference(&local).collect();
    let only_local: Vec<_> = local.difference(&template).collect();
    assert!(
        only_template.is_empty() && only_local.is_empty(),
        "routes differ\n only in template.yaml: {only_template:?}\n only in Cargo.toml: {only_local:?}"
    );
}

#[test]
fn every_template_function_is_a_workspace_binary() {
    let template = template_routes(&template_yaml());
    for (_, _, function) in template {
        let manifest = repo_root()
            .join("functions")
            .join(&function)
            .join("Cargo.toml");
        assert!(
            manifest.exists(),
            "template routes to {function}, but {} is missing",
            manifest.display()
        );
    }
}

/// What a function's binary links is decided by its dependency tree: each
/// SDK only where its service is called, and none of aws-config's provider
/// chains (profile files, STS, SSO, instance metadata), aws-lc, HTTP/2 or
/// RSA and ECDSA, which a Lambda here never needs (docs/performance.md,
/// "Binary sizes").
#[test]
fn each_function_links_only_the_aws_crates_it_calls() {
    // aws-config's chains and aws-lc; HTTP/2 (shared::runtime::https speaks
    // HTTP/1.1); signature algorithms other than Ed25519 (jsonwebtoken's
    // RustCrypto provider).
    let never = [
        "aws-config",
        "aws-sdk-sts",
        "aws-sdk-sso",
        "aws-lc-rs",
        "aws-smithy-http-client",
        "h2",
        "rsa",
        "p256",
        "p384",
    ];
    let only_in: [(&str, &[&str]); 2] = [
        ("aws-sdk-secretsmanager", &["auth"]),
        ("aws-sdk-sesv2", &["auth", "users"]),
    ];
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let functions = std::fs::read_dir(repo_root().join("functions")).unwrap();
    let mut checked = 0;
    for entry in functions {
        let function = entry.unwrap().file_name().into_string().unwrap();
        let output = std::process::Command::new(&cargo)
            .current_dir(repo_root())
            .args([
                "tree",
                "--offline",
                "--locked",
                "-e",
                "normal",
                "--prefix",
                "none",
            ])
            .args(["-p", &function])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let crates: std::collections::BTreeSet<String> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|line| line.split(" v").next().unwrap_or_default().to_owned())
            .collect();
        assert!(
            crates.contains("aws-sdk-dynamodb"),
            "{function}: {crates:?}"
        );
        for name in never {
            assert!(!crates.contains(name), "{function} links {name}");
        }
        // docs depends on every function crate for its operations' documents,
        // so its tree holds their SDKs; it calls none of them, and LTO leaves
        // them out of its binary.
        for &(name, users) in only_in.iter().filter(|_| function != "docs") {
            assert_eq!(
                crates.contains(name),
                users.contains(&function.as_str()),
                "{function} and {name}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 12, "every function crate was checked");
}

fn template_doc() -> serde_yaml_ng::Value {
    serde_yaml_ng::from_str(&template_yaml()).unwrap()
}

/// `!Tag value` as (tag, value); panics on anything else.
fn tagged(v: &serde_yaml_ng::Value) -> (String, &serde_yaml_ng::Value) {
    match v {
        serde_yaml_ng::Value::Tagged(t) => (t.tag.to_string(), &t.value),
        other => panic!("expected an intrinsic function, got {other:?}"),
    }
}

/// Both branches of `!If [condition, a, b]`, with the condition's name.
fn if_branches(v: &serde_yaml_ng::Value) -> (String, serde_yaml_ng::Value, serde_yaml_ng::Value) {
    let (tag, args) = tagged(v);
    assert_eq!(tag, "!If", "{v:?}");
    let args = args.as_sequence().unwrap();
    (
        args[0].as_str().unwrap().to_owned(),
        args[1].clone(),
        args[2].clone(),
    )
}

#[test]
fn any_cors_origin_only_in_dev_and_origins_are_required_elsewhere() {
    let doc = template_doc();
    let param = &doc["Parameters"]["CorsAllowedOrigins"];
    assert_eq!(param["Default"].as_str(), Some(""), "no origin by default");
    // The condition that allows any origin needs Stage=dev.
    let any = format!("{:?}", doc["Conditions"]["AnyOrigin"]);
    assert!(
        any.contains("Stage") && any.contains("dev") && any.contains("!And"),
        "{any}"
    );
    let cors = &doc["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"];
    let (condition, yes, no) = if_branches(&cors["AllowOrigins"]);
    assert_eq!(condition, "AnyOrigin");
    assert_eq!(
        yes,
        serde_yaml_ng::from_str::<serde_yaml_ng::Value>("['*']").unwrap()
    );
    assert_eq!(tagged(&no), ("!Ref".into(), &"CorsAllowedOrigins".into()));
    let env = &doc["Globals"]["Function"]["Environment"]["Variables"]["CORS_ALLOWED_ORIGINS"];
    let (condition, yes, _) = if_branches(env);
    assert_eq!((condition.as_str(), yes.as_str()), ("AnyOrigin", Some("*")));
    // Outside dev a deployment without origins, or with "*", is refused.
    let rule = &doc["Rules"]["OriginsOutsideDev"];
    assert_eq!(
        format!("{:?}", rule["RuleCondition"]),
        format!(
            "{:?}",
            serde_yaml_ng::from_str::<serde_yaml_ng::Value>("!Not [!Equals [!Ref Stage, dev]]")
                .unwrap()
        )
    );
    let asserts: Vec<String> = rule["Assertions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| format!("{:?}", a["Assert"]))
        .collect();
    for forbidden in ["\"\"", "\"*\""] {
        let expected = format!(
            "{:?}",
            serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&format!(
                "!Not [!Contains [!Ref CorsAllowedOrigins, {forbidden}]]"
            ))
            .unwrap()
        );
        assert!(asserts.contains(&expected), "{expected} in {asserts:?}");
    }
}

/// Deployed, under `make dev`, `make loadtest`, `make coldstart` and
/// `infra/rss_growth.py`, the functions' allocator runs with the same
/// setting, so the memory docs/performance.md reports is the memory they
/// use on Lambda.
#[test]
fn every_place_functions_run_sets_the_same_allocator_option() {
    let doc = template_doc();
    let deployed =
        &doc["Globals"]["Function"]["Environment"]["Variables"]["MIMALLOC_ARENA_EAGER_COMMIT"];
    assert_eq!(deployed.as_str(), Some("0"), "template.yaml Globals");
    for (file, line) in [
        ("Makefile", "MIMALLOC_ARENA_EAGER_COMMIT=0"),
        ("infra/loadtest.sh", "MIMALLOC_ARENA_EAGER_COMMIT=0"),
        (
            "infra/coldstart.py",
            "\"MIMALLOC_ARENA_EAGER_COMMIT\": \"0\"",
        ),
        (
            "infra/rss_growth.py",
            "\"MIMALLOC_ARENA_EAGER_COMMIT\": \"0\"",
        ),
    ] {
        let text = std::fs::read_to_string(tests::repo_root().join(file)).unwrap();
        assert!(text.contains(line), "{file} does not set {line}");
    }
}

#[test]
fn only_the_auth_function_reads_the_signing_secret_and_only_that_secret() {
    let policies = tests::iam::policies(&template_yaml());
    let mut readers = Vec::new();
    for (function, grants) in &policies {
        for g in grants
            .iter()
            .filter(|g| g.action.starts_with("secretsmanager:"))
        {
            readers.push((function.clone(), g.action.clone(), g.resource.clone()));
        }
    }
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:saas-platform/jwt-signing-key";
    assert_eq!(
        readers,
        vec![(
            "auth".to_owned(),
            "secretsmanager:GetSecretValue".to_owned(),
            format!("{arn}-??????")
        )]
    );
    let grant = tests::iam::Grant {
        action: "secretsmanager:GetSecretValue".into(),
        resource: format!("{arn}-??????"),
    };
    // The secret's ARN: its name, "-" and 6 random characters.
    assert!(grant.allows("secretsmanager:GetSecretValue", &format!("{arn}-Ab12Cd")));
    // Not another secret whose name starts the same.
    assert!(!grant.allows(
        "secretsmanager:GetSecretValue",
        &format!("{arn}-old-Ab12Cd")
    ));
    assert!(!grant.allows("secretsmanager:GetSecretValue", &format!("{arn}2-Ab12Cd")));
}

/// The two grants the first IAM check found missing (they answered 500 on
/// AWS): users by email (GSI2) and a super admin's tenant routing read.
#[test]
fn users_may_query_by_email_and_audit_may_route_a_super_admin() {
    let policies = tests::iam::policies(&template_yaml());
    let table = "arn:aws:dynamodb:us-east-1:123456789012:table/MAIN";
    let allowed = |function: &str, action: &str, resource: &str| {
        policies[function]
            .iter()
            .any(|g| g.allows(action, resource))
    };
    assert!(allowed(
        "users",
        "dynamodb:Query",
        &format!("{table}/index/GSI2")
    ));
    assert!(!allowed(
        "users",
        "dynamodb:Query",
        &format!("{table}/index/GSI1")
    ));
    assert!(allowed("audit", "dynamodb:GetItem", table));
    assert!(!allowed(
        "audit",
        "dynamodb:GetItem",
        &format!("{table}-tenant-x")
    ));
}

#[test]
fn sign_in_registration_and_refresh_have_their_own_lower_throttles() {
    let doc = template_doc();
    let api = &doc["Resources"]["HttpApi"]["Properties"];
    let routes = template_routes(&template_yaml());
    // (dev, prod) of a limit written `!If [IsProd, prod, dev]`.
    let limits = |v: &serde_yaml_ng::Value| {
        let (condition, prod, dev) = if_branches(v);
        assert_eq!(condition, "IsProd");
        (dev.as_u64().unwrap(), prod.as_u64().unwrap())
    };
    let default_burst = limits(&api["DefaultRouteSettings"]["ThrottlingBurstLimit"]);
    let default_rate = limits(&api["DefaultRouteSettings"]["ThrottlingRateLimit"]);
    for path in [
        "/api/auth/login",
        "/api/auth/register",
        "/api/auth/token/refresh",
    ] {
        for path in [path.to_owned(), format!("{path}/")] {
            let key = format!("ANY {path}");
            let settings = &api["RouteSettings"][key.as_str()];
            let burst = limits(&settings["ThrottlingBurstLimit"]);
            let rate = limits(&settings["ThrottlingRateLimit"]);
            assert!(
                burst.0 < default_burst.0 && burst.1 < default_burst.1,
                "{key}: burst {burst:?}"
            );
            assert!(
                rate.0 < default_rate.0 && rate.1 < default_rate.1,
                "{key}: rate {rate:?}"
            );
            // A route setting needs its route (else the deployment fails).
            assert!(
                routes.contains(&("ANY".to_owned(), path.clone(), "auth".to_owned())),
                "{key} is a route of the auth function"
            );
        }
    }
}

#[test]
fn every_function_policy_expands() {
    let policies = tests::iam::policies(&template_yaml());
    let routed: std::collections::BTreeSet<String> = template_routes(&template_yaml())
        .into_iter()
        .map(|(_, _, f)| f)
        .collect();
    for function in routed.iter().chain(["billing-scheduler".to_owned()].iter()) {
        assert!(
            policies.get(function).is_some_and(|g| !g.is_empty()),
            "{function} has a policy"
        );
    }
}
