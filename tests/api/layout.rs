//! Each function's `src/lib.rs` routes its operations one per line,
//! `.route("/api/users/", get(read::list_users))`, and lists the same
//! handlers in its `document()`. These tests hold each line to the method
//! and path its handler declares, and the lines to the document.

use std::collections::BTreeSet;
use std::fs;
use tests::repo_root;
use utoipa::openapi::OpenApi;

/// (method, path, operationId).
type Operation = (String, String, String);

/// Every function with HTTP routes, and its own document.
fn documents() -> Vec<(&'static str, OpenApi)> {
    vec![
        ("audit", audit::document()),
        ("auth", auth::document()),
        ("crm", crm::document()),
        ("docs", docs::document()),
        ("invoices", invoices::document()),
        ("plans", plans::document()),
        ("roles", roles::document()),
        ("subscriptions", subscriptions::document()),
        ("teams", teams::document()),
        ("tenants", tenants::document()),
        ("users", users::document()),
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

/// `.route("<path>", <method>(<handler>))`, as one line of `routes()`.
fn route_line(line: &str) -> Option<(&str, &str, &str)> {
    let rest = line.strip_prefix(".route(\"")?;
    let (path, rest) = rest.split_once("\", ")?;
    let (method, rest) = rest.split_once('(')?;
    let handler = rest.strip_suffix("))")?;
    Some((path, method, handler))
}

/// What `functions/<crate>/src/lib.rs` routes, each line checked against the
/// handler it names.
fn routed(krate: &str) -> BTreeSet<Operation> {
    let src = repo_root().join("functions").join(krate).join("src");
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    let mut ops = BTreeSet::new();
    for line in lib.lines().map(str::trim) {
        if !line.starts_with(".route(") {
            continue;
        }
        let (path, method, handler) = route_line(line).unwrap_or_else(|| {
            panic!("{krate}: `{line}` is not `.route(\"<path>\", <method>(<handler>))`")
        });
        let method = method.to_ascii_uppercase();
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
        let id = quoted(attribute, "operation_id").unwrap_or(name);
        assert!(
            ops.insert((method, path.to_owned(), id.to_owned())),
            "{krate}: `{line}` is routed twice"
        );
    }
    ops
}

#[test]
fn each_lib_rs_routes_the_operations_its_document_lists() {
    for (krate, doc) in documents() {
        assert_eq!(
            routed(krate),
            registered(&doc),
            "functions/{krate}/src/lib.rs: routes() and document() differ"
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
            !lib.contains(".route(") || checked.contains(name.as_str()),
            "functions/{name} routes operations: add it to documents()"
        );
    }
}
