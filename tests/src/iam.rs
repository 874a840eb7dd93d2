//! Each function's AWS calls, checked against its policy in template.yaml
//! (docs/testing.md, "IAM against the calls the tests make").
//!
//! The test helpers give every in-process function its own DynamoDB client
//! with a [`Recorder`] ([`function_store`]). Each distinct (function, action,
//! resource) a test process sees is appended to a file under
//! [`calls_dir`]; the `iam` test binary, run after the other tests, reads
//! them all and checks them against [`policies`].

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::Input;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value;
use shared::store::Store;
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// Stands for the main table's name in records and in resolved policies.
pub const MAIN_TABLE: &str = "MAIN";
const PARTITION: &str = "aws";
const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";

/// One permission a function needed: an API call needs one per table (and
/// per item kind, in a transaction).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Call {
    /// The function's binary name, as in the template's BuildProperties.
    pub function: String,
    /// The API operation, e.g. `TransactWriteItems`.
    pub operation: String,
    /// The IAM action it is authorized as, e.g. `dynamodb:PutItem`.
    pub action: String,
    /// The resource's ARN, the main table written [`MAIN_TABLE`].
    pub resource: String,
}

fn table_arn(table: &str) -> String {
    format!("arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{table}")
}

/// Where the test processes write their calls: `$IAM_CALLS_DIR`, else
/// `target/iam-calls` (infra/test.sh empties it before the tests).
pub fn calls_dir() -> PathBuf {
    std::env::var_os("IAM_CALLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::repo_root().join("target").join("iam-calls"))
}

/// This function's view of `store`: the same table, cursors and revocation
/// cache (and call counter), over a client that records its calls.
pub fn function_store(store: &Store, function: &'static str) -> Store {
    let recorder = Recorder {
        function,
        main: store.table_name().into(),
    };
    let config = store
        .client()
        .config()
        .to_builder()
        .interceptor(recorder)
        .build();
    store.with_client(aws_sdk_dynamodb::Client::from_conf(config))
}

/// Records each call's actions and resources for one function (DynamoDB
/// and Secrets Manager clients).
#[derive(Debug, Clone)]
pub struct Recorder {
    function: &'static str,
    main: Arc<str>,
}

/// Stands for the random suffix Secrets Manager puts after a secret's name
/// in its ARN.
const SECRET_SUFFIX: &str = "-Rnd123";

/// The SES identity a `SendEmail` from `from` is authorised against: the
/// sender's domain (the template grants the verified domain identity).
pub fn ses_identity_arn(from: Option<&str>) -> String {
    let domain = from
        .and_then(|f| f.rsplit_once('@'))
        .map_or("?", |(_, domain)| domain.trim_end_matches('>'));
    format!("arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:identity/{domain}")
}

impl Recorder {
    /// A recorder for `function`'s clients of services other than DynamoDB.
    pub fn new(function: &'static str) -> Self {
        Self {
            function,
            main: "".into(),
        }
    }

    /// `dynamodb:Action` on the ARN of `table` (and `index`).
    fn need(&self, action: &str, table: &str, index: Option<&str>) -> (String, String) {
        let table = match table.strip_prefix(&*self.main) {
            Some(rest) if rest.is_empty() || rest.starts_with('-') => format!("{MAIN_TABLE}{rest}"),
            _ => table.to_owned(),
        };
        let mut arn = table_arn(&table);
        if let Some(index) = index {
            arn = format!("{arn}/index/{index}");
        }
        (format!("dynamodb:{action}"), arn)
    }

    fn needs(&self, operation: &str, input: &Input) -> Vec<(String, String)> {
        use aws_sdk_dynamodb::operation as op;
        let one = |action: &str, table: Option<&str>, index: Option<&str>| {
            vec![self.need(action, table.unwrap_or("?"), index)]
        };
        if let Some(i) = input.downcast_ref::<op::get_item::GetItemInput>() {
            return one("GetItem", i.table_name(), None);
        }
        if let Some(i) = input.downcast_ref::<op::put_item::PutItemInput>() {
            return one("PutItem", i.table_name(), None);
        }
        if let Some(i) = input.downcast_ref::<op::update_item::UpdateItemInput>() {
            return one("UpdateItem", i.table_name(), None);
        }
        if let Some(i) = input.downcast_ref::<op::delete_item::DeleteItemInput>() {
            return one("DeleteItem", i.table_name(), None);
        }
        if let Some(i) = input.downcast_ref::<op::query::QueryInput>() {
            return one("Query", i.table_name(), i.index_name());
        }
        if let Some(i) = input.downcast_ref::<op::scan::ScanInput>() {
            return one("Scan", i.table_name(), i.index_name());
        }
        if let Some(i) = input.downcast_ref::<op::describe_table::DescribeTableInput>() {
            return one("DescribeTable", i.table_name(), None);
        }
        if let Some(i) = input.downcast_ref::<op::batch_get_item::BatchGetItemInput>() {
            return i
                .request_items()
                .into_iter()
                .flat_map(|m| m.keys())
                .map(|t| self.need("BatchGetItem", t, None))
                .collect();
        }
        if let Some(i) = input.downcast_ref::<op::batch_write_item::BatchWriteItemInput>() {
            return i
                .request_items()
                .into_iter()
                .flat_map(|m| m.keys())
                .map(|t| self.need("BatchWriteItem", t, None))
                .collect();
        }
        // IAM authorizes each item of a transaction as its single-item action.
        if let Some(i) = input.downcast_ref::<op::transact_write_items::TransactWriteItemsInput>() {
            return i
                .transact_items()
                .iter()
                .flat_map(|item| {
                    [
                        item.condition_check()
                            .map(|c| self.need("ConditionCheckItem", c.table_name(), None)),
                        item.put()
                            .map(|p| self.need("PutItem", p.table_name(), None)),
                        item.update()
                            .map(|u| self.need("UpdateItem", u.table_name(), None)),
                        item.delete()
                            .map(|d| self.need("DeleteItem", d.table_name(), None)),
                    ]
                })
                .flatten()
                .collect();
        }
        if let Some(i) = input.downcast_ref::<op::transact_get_items::TransactGetItemsInput>() {
            return i
                .transact_items()
                .iter()
                .filter_map(|item| item.get())
                .map(|g| self.need("GetItem", g.table_name(), None))
                .collect();
        }
        if let Some(i) = input.downcast_ref::<
            aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueInput,
        >() {
            let id = i.secret_id().unwrap_or("?");
            let arn = if id.starts_with("arn:") {
                id.to_owned()
            } else {
                format!("arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{id}{SECRET_SUFFIX}")
            };
            return vec![("secretsmanager:GetSecretValue".into(), arn)];
        }
        if let Some(i) =
            input.downcast_ref::<aws_sdk_sesv2::operation::send_email::SendEmailInput>()
        {
            return vec![(
                "ses:SendEmail".into(),
                ses_identity_arn(i.from_email_address()),
            )];
        }
        // Unknown to the recorder: recorded so that the check fails on it.
        vec![(format!("dynamodb:{operation}"), "?".into())]
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "IamRecorder"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_else(|| "?".into());
        for (action, resource) in self.needs(&operation, context.input()) {
            record(Call {
                function: self.function.to_owned(),
                operation: operation.clone(),
                action,
                resource,
            });
        }
        Ok(())
    }
}

/// Appends `call` to this process's file the first time it is seen.
fn record(call: Call) {
    struct Sink {
        seen: HashSet<Call>,
        file: Option<std::fs::File>,
    }
    static SINK: OnceLock<Mutex<Sink>> = OnceLock::new();
    let sink = SINK.get_or_init(|| {
        Mutex::new(Sink {
            seen: HashSet::new(),
            file: None,
        })
    });
    let mut sink = sink.lock().unwrap_or_else(|e| e.into_inner());
    if sink.seen.contains(&call) {
        return;
    }
    if sink.file.is_none() {
        let dir = calls_dir();
        std::fs::create_dir_all(&dir).expect("the IAM calls directory can be created");
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "tests".into());
        let path = dir.join(format!("{exe}-{}.jsonl", std::process::id()));
        sink.file = Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        );
    }
    let line = serde_json::to_string(&call).expect("a call serializes") + "\n";
    if let Some(file) = sink.file.as_mut() {
        file.write_all(line.as_bytes())
            .expect("the IAM calls file is writable");
    }
    sink.seen.insert(call);
}

/// Every call recorded under [`calls_dir`], and the files read.
pub fn recorded_calls() -> (Vec<Call>, Vec<PathBuf>) {
    let dir = calls_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut calls = std::collections::BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a calls file is readable");
        for line in text.lines().filter(|l| !l.is_empty()) {
            calls.insert(
                serde_json::from_str::<Call>(line)
                    .unwrap_or_else(|e| panic!("{}: bad line {line:?}: {e}", file.display())),
            );
        }
    }
    (calls.into_iter().collect(), files)
}

/// One allowed (action, resource) pair of a function's policy, both IAM
/// patterns (`*` and `?`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Grant {
    pub action: String,
    pub resource: String,
}

impl Grant {
    pub fn allows(&self, action: &str, resource: &str) -> bool {
        iam_match(
            &self.action.to_ascii_lowercase(),
            &action.to_ascii_lowercase(),
        ) && iam_match(&self.resource, resource)
    }
}

/// IAM's wildcard match: `*` any run of characters (`/` too), `?` one.
pub fn iam_match(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut pi, mut vi, mut star, mut mark) = (0, 0, None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Each function's grants (by binary name), from the template's policies,
/// with parameters at their defaults and the main table named
/// [`MAIN_TABLE`]. Panics on anything it cannot expand (a Deny, a managed
/// policy, an unknown policy template), so nothing is skipped unseen.
pub fn policies(template: &str) -> BTreeMap<String, Vec<Grant>> {
    let doc: Value = serde_yaml_ng::from_str(template).expect("template parses");
    let resources = doc["Resources"].as_mapping().expect("Resources map");
    let mut out = BTreeMap::new();
    for (name, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let name = name.as_str().unwrap_or("?");
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} names its Binary"))
            .to_owned();
        let mut grants = Vec::new();
        for policy in resource["Properties"]["Policies"]
            .as_sequence()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            grants.extend(expand_policy(&doc, name, policy));
        }
        grants.sort();
        grants.dedup();
        out.insert(binary, grants);
    }
    out
}

fn expand_policy(doc: &Value, function: &str, policy: &Value) -> Vec<Grant> {
    let map = policy
        .as_mapping()
        .unwrap_or_else(|| panic!("{function}: managed policy {policy:?} is not expanded"));
    let mut grants = Vec::new();
    for (kind, body) in map {
        let kind = kind.as_str().unwrap_or("?");
        match kind {
            "Statement" => {
                for statement in body.as_sequence().expect("Statement is a list") {
                    assert_eq!(
                        statement["Effect"].as_str(),
                        Some("Allow"),
                        "{function}: only Allow statements are expanded"
                    );
                    let actions = strings(doc, &statement["Action"]);
                    let resources = strings(doc, &statement["Resource"]);
                    for action in &actions {
                        for resource in &resources {
                            grants.push(Grant {
                                action: action.clone(),
                                resource: resource.clone(),
                            });
                        }
                    }
                }
            }
            // SAM policy templates (their definitions in the SAM translator's
            // policy_templates.json).
            "DynamoDBCrudPolicy" | "DynamoDBReadPolicy" | "DynamoDBWritePolicy" => {
                let table = resolve(doc, &body["TableName"]);
                let actions: &[&str] = match kind {
                    "DynamoDBCrudPolicy" => &[
                        "GetItem",
                        "DeleteItem",
                        "PutItem",
                        "Scan",
                        "Query",
                        "UpdateItem",
                        "BatchWriteItem",
                        "BatchGetItem",
                        "DescribeTable",
                        "ConditionCheckItem",
                    ],
                    "DynamoDBReadPolicy" => {
                        &["GetItem", "Scan", "Query", "BatchGetItem", "DescribeTable"]
                    }
                    _ => &[
                        "PutItem",
                        "UpdateItem",
                        "BatchWriteItem",
                        "DeleteItem",
                        "ConditionCheckItem",
                    ],
                };
                for action in actions {
                    for resource in [table_arn(&table), format!("{}/index/*", table_arn(&table))] {
                        grants.push(Grant {
                            action: format!("dynamodb:{action}"),
                            resource,
                        });
                    }
                }
            }
            other => panic!("{function}: policy {other} is not expanded"),
        }
    }
    grants
}

fn strings(doc: &Value, v: &Value) -> Vec<String> {
    match v.as_sequence() {
        Some(items) => items.iter().map(|i| resolve(doc, i)).collect(),
        None => vec![resolve(doc, v)],
    }
}

/// A template value as a string: plain, `!Ref` (parameter defaults, `Table`
/// is [`MAIN_TABLE`]), `!GetAtt Table.Arn`, `!Sub`.
pub fn resolve(doc: &Value, v: &Value) -> String {
    let (tag, inner) = match v {
        Value::String(s) => return s.clone(),
        Value::Tagged(t) => (t.tag.to_string(), &t.value),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, inner) = m.iter().next().expect("one entry");
            (format!("!{}", k.as_str().unwrap_or("?")), inner)
        }
        other => panic!("cannot resolve {other:?}"),
    };
    let tag = tag
        .trim_start_matches('!')
        .trim_start_matches("Fn::")
        .to_owned();
    let name = inner
        .as_str()
        .unwrap_or_else(|| panic!("!{tag} of {inner:?}"));
    match tag.as_str() {
        "Ref" => reference(doc, name),
        "GetAtt" => attribute(name),
        "Sub" => {
            let mut out = String::new();
            let mut rest = name;
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let end = rest[start..].find('}').expect("closed ${") + start;
                let var = &rest[start + 2..end];
                out.push_str(&if var.contains('.') {
                    attribute(var)
                } else {
                    reference(doc, var)
                });
                rest = &rest[end + 1..];
            }
            out.push_str(rest);
            out
        }
        other => panic!("cannot resolve !{other}"),
    }
}

fn reference(doc: &Value, name: &str) -> String {
    match name {
        "AWS::Partition" => PARTITION.into(),
        "AWS::Region" => REGION.into(),
        "AWS::AccountId" => ACCOUNT.into(),
        "Table" => MAIN_TABLE.into(),
        _ => match &doc["Parameters"][name]["Default"] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => panic!("parameter {name} has no usable default: {other:?}"),
        },
    }
}

fn attribute(name: &str) -> String {
    match name {
        "Table.Arn" => table_arn(MAIN_TABLE),
        other => panic!("cannot resolve !GetAtt {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::iam_match;

    #[test]
    fn iam_wildcards() {
        assert!(iam_match("table/T", "table/T"));
        assert!(!iam_match("table/T", "table/T/index/GSI1"));
        assert!(iam_match("table/T/index/*", "table/T/index/GSI1"));
        // `*` crosses `/`, as in IAM.
        assert!(iam_match("table/T-tenant-*", "table/T-tenant-a/index/GSI1"));
        assert!(iam_match("secret:k-??????", "secret:k-AbC123"));
        assert!(!iam_match("secret:k-??????", "secret:k-AbC123x"));
        assert!(!iam_match("secret:k-??????", "secret:k2-AbC123"));
        assert!(iam_match("dynamodb:*", "dynamodb:query"));
    }
}
