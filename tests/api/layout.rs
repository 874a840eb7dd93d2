//! Each function's `src/lib.rs` states its operations, one comment per
//! method and path above its `routes!` (`// GET /api/users/ -> read::list_users`).
//! These tests hold those lines to what the router registers, and to the
//! method and path the named handler declares.

use std::collections::BTreeSet;
use std::fs;
use tests::repo_root;
use utoipa::openapi::OpenApi;

/// (method, path, operationId).
type Operation = (String, String, String);

/// Every function with HTTP routes, and its own document.
fn documents() -> Vec<(&'static str, OpenApi)> {
    vec![
        ("audit", audit::routes().split_for_parts().1),
        ("auth", auth::routes().split_for_parts().1),
        ("crm", crm::routes().split_for_parts().1),
        ("docs", docs::routes().split_for_parts().1),
        ("invoices", invoices::routes().split_for_parts().1),
        ("plans", plans::routes().split_for_parts().1),
        ("roles", roles::routes().split_for_parts().1),
        ("subscriptions", subscriptions::routes().split_for_parts().1),
        ("teams", teams::routes().split_for_parts().1),
        ("tenants", tenants::routes().split_for_parts().1),
        ("users", users::routes().split_for_parts().1),
    ]
}

fn registered(doc: &OpenApi) -> BTreeSet<Operation> {
    let mut ops = BTreeSet::new();
    for (path, item) in &doc.paths.paths {
        for (method, op) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ] {
            if let Some(op) = op {
                let id = op.operation_id.clone().unwrap_or_default();
                ops.insert((method.to_owned(), path.clone(), id));
            }
        }
    }
    ops
}

/// The `#[utoipa::path(...)]` attribute right above `fn <name>(` in `source`.
fn path_attribute<'a>(source: &'a str, name: &str) -> Option<&'a str> {
    let end = source.find(&format!("fn {name}("))?;
    let start = source[..end].rfind("#[utoipa::path(")?;
    Some(&source[start..end])
}

/// The value of `key = "..."` in an attribute.
fn quoted<'a>(attribute: &'a str, key: &str) -> Option<&'a str> {
    let rest = &attribute[attribute.find(&format!("{key} = \""))? + key.len() + 4..];
    Some(&rest[..rest.find('"')?])
}

/// What `functions/<crate>/src/lib.rs` states, each line checked against the
/// handler it names.
fn stated(krate: &str) -> BTreeSet<Operation> {
    let src = repo_root().join("functions").join(krate).join("src");
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    let mut ops = BTreeSet::new();
    for line in lib.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix("// ") else {
            continue;
        };
        let Some((route, handler)) = rest.split_once(" -> ") else {
            continue;
        };
        let (method, path) = route.split_once(' ').unwrap();
        // `leads::read::list_leads` is in src/leads/read.rs.
        let (module, name) = handler.rsplit_once("::").unwrap();
        let module = module.replace("::", "/");
        let source = fs::read_to_string(src.join(format!("{module}.rs")))
            .unwrap_or_else(|e| panic!("{krate}: `{line}` names src/{module}.rs: {e}"));
        let attribute = path_attribute(&source, name)
            .unwrap_or_else(|| panic!("{krate}: `{line}`: no #[utoipa::path] on {handler}"));
        let declared = attribute
            .trim_start_matches("#[utoipa::path(")
            .trim_start()
            .split(',')
            .next()
            .unwrap()
            .trim()
            .to_ascii_uppercase();
        assert_eq!(
            declared, method,
            "{krate}: `{line}`: {handler} is {declared}"
        );
        assert_eq!(
            quoted(attribute, "path"),
            Some(path),
            "{krate}: `{line}`: {handler} declares another path"
        );
        assert!(
            lib.contains(handler),
            "{krate}: `{line}`: {handler} is not routed"
        );
        let id = quoted(attribute, "operation_id").unwrap_or(name);
        ops.insert((method.to_owned(), path.to_owned(), id.to_owned()));
    }
    ops
}

#[test]
fn each_lib_rs_states_the_operations_its_router_registers() {
    for (krate, doc) in documents() {
        assert_eq!(
            stated(krate),
            registered(&doc),
            "functions/{krate}/src/lib.rs: the route comments differ from the router"
        );
    }
}

#[test]
fn every_routed_function_is_checked() {
    let checked: BTreeSet<_> = documents().into_iter().map(|(k, _)| k).collect();
    for entry in fs::read_dir(repo_root().join("functions")).unwrap() {
        let dir = entry.unwrap().path();
        let lib = fs::read_to_string(dir.join("src/lib.rs")).unwrap_or_default();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !lib.contains("routes!(") || checked.contains(name.as_str()),
            "functions/{name} routes operations: add it to documents()"
        );
    }
}
