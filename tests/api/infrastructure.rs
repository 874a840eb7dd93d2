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
