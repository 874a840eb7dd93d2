//! The module layering of `shared` (see `docs/architecture.md`): reads the
//! crate's sources and fails when an import points up a layer or closes a
//! cycle between the files of one directory module.
//!
//! Every path written `crate::…`, `super::…` or `self::…` outside comments
//! and `#[cfg(test)] mod` blocks counts, in `use` lines and inline alike, so
//! a `pub use` of a higher module counts as importing it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layered top-level modules, lowest first: each may import only the
/// ones listed before it (modules not listed here are not checked).
const LAYERS: &[(&str, &[&str])] = &[
    ("report", &[]),
    ("scope", &[]),
    ("keys", &["scope"]),
    ("entity", &["keys"]),
    ("billing", &[]),
    ("records", &["scope", "keys", "entity", "billing"]),
    (
        "store",
        &["report", "scope", "keys", "entity", "billing", "records"],
    ),
];

struct Source {
    /// Module path of the file: `["store", "dedicated"]`; `mod.rs` names
    /// its directory, `lib.rs` is `[]`.
    module: Vec<String>,
    code: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(&root).unwrap().with_extension("");
            let mut module: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            let code = strip(&fs::read_to_string(&path).unwrap());
            Source { module, code }
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file without comments and without its test modules.
fn strip(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            skip_block(&mut lines);
            continue;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        let line = line.split(" // ").next().unwrap_or("");
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// Skips a `mod name { … }` block (braces counted; test modules hold no
/// unbalanced braces in strings).
fn skip_block<'a>(lines: &mut impl Iterator<Item = &'a str>) {
    let mut depth = 0i32;
    let mut opened = false;
    for line in lines {
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        if opened && depth <= 0 {
            return;
        }
        if !opened && line.trim_end().ends_with(';') {
            return;
        }
    }
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path in `code` that starts at `crate`, `super` or `self`, resolved
/// to an absolute module path (its first two segments are enough here).
fn paths(module: &[String], code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !is_ident(bytes[i - 1]) && bytes[i - 1] != ':';
        if !starts_word || !is_ident(bytes[i]) {
            i += 1;
            continue;
        }
        let (segments, end) = read_path(&bytes, i);
        i = end.max(i + 1);
        if segments.len() < 2 {
            continue;
        }
        let mut base: Vec<String> = match segments[0].as_str() {
            "crate" => Vec::new(),
            "self" => module.to_vec(),
            "super" => module[..module.len().saturating_sub(1)].to_vec(),
            _ => continue,
        };
        let mut rest = &segments[1..];
        while rest.first().is_some_and(|s| s == "super") {
            base.pop();
            rest = &rest[1..];
        }
        match rest.first().map(String::as_str) {
            Some("{") => {
                for first in group_heads(&bytes, end) {
                    let mut p = base.clone();
                    p.push(first);
                    out.push(p);
                }
            }
            Some(_) => {
                let mut p = base;
                p.extend(rest.iter().take_while(|s| *s != "{").cloned());
                out.push(p);
            }
            None => {}
        }
    }
    out
}

/// Reads `a::b::c` (or `a::b::{`, recorded as a last segment `{`) from `i`.
fn read_path(bytes: &[char], mut i: usize) -> (Vec<String>, usize) {
    let mut segments = Vec::new();
    loop {
        let start = i;
        while i < bytes.len() && is_ident(bytes[i]) {
            i += 1;
        }
        if start == i {
            if bytes.get(i) == Some(&'{') {
                segments.push("{".to_owned());
                i += 1;
            }
            return (segments, i);
        }
        segments.push(bytes[start..i].iter().collect());
        if bytes.get(i) == Some(&':') && bytes.get(i + 1) == Some(&':') {
            i += 2;
        } else {
            return (segments, i);
        }
    }
}

/// The first segment of each entry of a `{a, b::c, d::{e}}` group whose
/// opening brace is just before `i`.
fn group_heads(bytes: &[char], mut i: usize) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 1;
    let mut expect_head = true;
    while i < bytes.len() && depth > 0 {
        let c = bytes[i];
        if depth == 1 && expect_head && is_ident(c) {
            let start = i;
            while i < bytes.len() && is_ident(bytes[i]) {
                i += 1;
            }
            heads.push(bytes[start..i].iter().collect());
            expect_head = false;
            continue;
        }
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 1 => expect_head = true,
            _ => {}
        }
        i += 1;
    }
    heads
}

#[test]
fn layered_modules_import_only_lower_ones() {
    let layered: BTreeMap<&str, usize> = LAYERS
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (*name, i))
        .collect();
    for (i, (name, allowed)) in LAYERS.iter().enumerate() {
        for dep in *allowed {
            assert!(
                layered[dep] < i,
                "LAYERS: {name} may import only modules listed before it, not {dep}"
            );
        }
    }
    let mut wrong = BTreeSet::new();
    for source in sources() {
        let Some(top) = source.module.first() else {
            continue;
        };
        let Some(&index) = layered.get(top.as_str()) else {
            continue;
        };
        let allowed = LAYERS[index].1;
        for path in paths(&source.module, &source.code) {
            let Some(target) = path.first() else { continue };
            if target != top
                && layered.contains_key(target.as_str())
                && !allowed.contains(&target.as_str())
            {
                wrong.insert(format!(
                    "{} imports {}",
                    source.module.join("::"),
                    path.join("::")
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layering:\n{}", {
        wrong.into_iter().collect::<Vec<_>>().join("\n")
    });
}

#[test]
fn files_of_a_directory_module_import_each_other_without_cycles() {
    let sources = sources();
    // directory module -> file -> siblings it imports
    let mut graphs: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for source in &sources {
        if source.module.len() == 2 {
            graphs
                .entry(source.module[0].clone())
                .or_default()
                .entry(source.module[1].clone())
                .or_default();
        }
    }
    for source in &sources {
        let [dir, file] = source.module.as_slice() else {
            continue;
        };
        for path in paths(&source.module, &source.code) {
            if let [d, sibling, ..] = path.as_slice() {
                if d == dir && sibling != file && graphs[dir].contains_key(sibling) {
                    graphs
                        .get_mut(dir)
                        .unwrap()
                        .get_mut(file)
                        .unwrap()
                        .insert(sibling.clone());
                }
            }
        }
    }
    let cycles: Vec<String> = graphs
        .iter()
        .filter_map(|(dir, graph)| find_cycle(graph).map(|c| format!("{dir}/: {}", c.join(" -> "))))
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

#[test]
fn the_checker_sees_imports_and_cycles() {
    let module = vec!["permissions".to_owned(), "permission_key".to_owned()];
    let code = strip(
        "use super::actions;\nuse super::{catalog::{a, b}, set};\n\
         // use crate::records::X;\n\
         fn f() { crate::store::Store::new(); }\n\
         #[cfg(test)]\nmod tests {\n    use crate::billing::X;\n}\n",
    );
    let found: Vec<String> = paths(&module, &code).iter().map(|p| p.join("::")).collect();
    assert_eq!(
        found,
        [
            "permissions::actions",
            "permissions::catalog",
            "permissions::set",
            "store::Store::new"
        ]
    );
    let graph = BTreeMap::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
}
