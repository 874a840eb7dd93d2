//! The two route tables: the HttpApi events of template.yaml and the
//! `cargo lambda watch` router in Cargo.toml, both as (path, function) pairs
//! in one notation.

use serde_yaml_ng::Value;
use std::collections::BTreeSet;

pub type RouteTable = BTreeSet<(String, String, String)>;

/// (method, path, function binary) of every HttpApi event in the template.
/// `{proxy+}` is written `{*proxy}`, as the local router writes it.
pub fn template_routes(template: &str) -> RouteTable {
    let doc: Value = serde_yaml_ng::from_str(template).expect("template parses");
    let resources = doc["Resources"].as_mapping().expect("Resources map");
    let mut out = RouteTable::new();
    for (_, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("every function names its Binary")
            .to_owned();
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, event) in events {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let path = event["Properties"]["Path"]
                .as_str()
                .expect("event path")
                .replace("{proxy+}", "{*proxy}");
            let method = event["Properties"]["Method"]
                .as_str()
                .expect("event method")
                .to_ascii_uppercase();
            out.insert((method, path, binary.clone()));
        }
    }
    out
}

/// (method, path, function) of `[workspace.metadata.lambda.watch.router]`.
pub fn local_routes(cargo_toml: &str) -> RouteTable {
    let doc: toml::Value = toml::from_str(cargo_toml).expect("Cargo.toml parses");
    let router = doc["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .expect("router table");
    let mut out = RouteTable::new();
    for (path, target) in router {
        match target {
            toml::Value::String(function) => {
                out.insert(("ANY".into(), path.clone(), function.clone()));
            }
            toml::Value::Array(entries) => {
                for e in entries {
                    out.insert((
                        e["method"].as_str().expect("method").to_ascii_uppercase(),
                        path.clone(),
                        e["function"].as_str().expect("function").to_owned(),
                    ));
                }
            }
            other => panic!("unexpected router entry for {path}: {other}"),
        }
    }
    out
}
