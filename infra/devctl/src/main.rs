//! `devctl`: local development and operator chores.
//!
//! ```text
//! devctl create-table [--table NAME]       create $TABLE_NAME (or NAME, e.g. a tenant's dedicated
//!                                          table $TABLE_NAME-tenant-<suffix>) from template.yaml
//!                                          (idempotent)
//! devctl keys [--secret]                   generate the development token keys (idempotent);
//!                                          --secret prints a new key as Secrets Manager JSON
//! devctl seed                              create-table + keys + default plans + dev super admin
//! devctl superadmin --email E --password P add a super admin (the first one creates the
//!                                          platform tenant); an existing platform user
//!                                          with that email is promoted and reactivated
//! devctl superadmin --list                 print the active super admins
//! devctl superadmin --remove EMAIL         deactivate a super admin (never the last one)
//! devctl import-django --file DUMP [--dry-run] [--drop-unknown-permissions]
//!                                          import the Django original's dumpdata export
//!                                          (idempotent; see docs/migrating-from-django.md)
//! ```
//! The super-admin logic lives in `shared::superadmins`, tested against
//! DynamoDB Local by the tests crate.
//! Reads TABLE_NAME and DYNAMODB_ENDPOINT like the functions do; keys go
//! to $KEYS_DIR (default .local/keys).

use devctl::django;
use shared::auth::{Jwks, SigningKeyPair};
use shared::keys;
use shared::store::table::TableDefinition;
use shared::store::{Condition, CursorSigner, Store, StoreError};
use shared::superadmins::{self, Added};
use shared::tenancy;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use time::OffsetDateTime;

/// The deployed template is the single source of the table's shape.
const TEMPLATE: &str = include_str!("../../../template.yaml");

/// The development super admin `devctl seed` creates (local only).
const DEV_SUPERADMIN_EMAIL: &str = "superadmin@platform.local";
const DEV_SUPERADMIN_PASSWORD: &str = "local-superadmin-pass";

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn env(name: &str) -> Result<String> {
    std::env::var(name).map_err(|_| format!("{name} must be set").into())
}

/// A DynamoDB client for `endpoint`, with the functions' HTTPS client and
/// time bounds but aws-config's full credential chain: an operator's
/// AWS_PROFILE (SSO, a credentials process) works here, where a function
/// only reads Lambda's environment.
async fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    use shared::runtime;
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(runtime::http_client())
        .timeout_config(runtime::timeout_config())
        .retry_config(runtime::retry_config())
        .load()
        .await;
    aws_sdk_dynamodb::Client::from_conf(runtime::dynamodb_config(&aws, Some(endpoint)).build())
}

async fn store() -> Result<Store> {
    let client = dynamodb_client(&env("DYNAMODB_ENDPOINT")?).await;
    // Cursors are not used here; any secret will do.
    Ok(Store::new(
        client,
        env("TABLE_NAME")?,
        CursorSigner::new(b"devctl".to_vec()),
    ))
}

/// Creates `table` (default `$TABLE_NAME`) with the template's definition.
/// A dedicated tenant table must be named `$TABLE_NAME-tenant-<suffix>`.
async fn create_table(table: Option<String>) -> Result<()> {
    let main = env("TABLE_NAME")?;
    let table = match table {
        Some(name) if name != main => {
            shared::store::check_dedicated_table_name(&main, &name)?;
            name
        }
        _ => main,
    };
    let endpoint = env("DYNAMODB_ENDPOINT")?;
    let client = dynamodb_client(&endpoint).await;
    let definition = TableDefinition::from_template(TEMPLATE)?;
    if definition.create(&client, &table).await? {
        println!("created table {table} at {endpoint}");
    } else {
        println!("table {table} already exists at {endpoint}");
        // A table made by an older template: bring its indexes up to date.
        for index in definition.add_missing_indexes(&client, &table).await? {
            println!("added index {index} to {table}");
        }
    }
    Ok(())
}

fn keys_dir() -> PathBuf {
    std::env::var("KEYS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(".local/keys"))
}

fn new_kid() -> String {
    format!("key-{}", OffsetDateTime::now_utc().unix_timestamp())
}

/// Writes a development signing key and its public JWKS unless present.
fn dev_keys(dir: &Path) -> Result<()> {
    let private = dir.join("signing-key.json");
    let public = dir.join("jwks.json");
    if private.exists() && public.exists() {
        println!("development keys already in {}", dir.display());
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    let key = SigningKeyPair::generate(new_kid());
    let jwks = Jwks {
        keys: vec![key.public_jwk()],
    };
    std::fs::write(&private, key.to_json()?)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::write(&public, serde_json::to_string_pretty(&jwks)?)?;
    println!("generated development keys in {}", dir.display());
    Ok(())
}

/// A new production key: the secret JSON on stdout, the JWKS on stderr.
fn secret_key() -> Result<()> {
    let key = SigningKeyPair::generate(new_kid());
    println!("{}", key.to_json()?);
    eprintln!(
        "{}",
        serde_json::to_string(&Jwks {
            keys: vec![key.public_jwk()]
        })?
    );
    Ok(())
}

async fn seed_plans(store: &Store) -> Result<()> {
    for plan in tenancy::default_plans(OffsetDateTime::now_utc()) {
        // Create-only: edits made through the API survive re-seeding.
        match store
            .platform()
            .put(&keys::plan(plan.id), &plan, Condition::NotExists)
            .await
        {
            Ok(()) => {
                // Its slug claim, as the plans API writes with every plan.
                let claim = shared::records::PlanSlugClaim { plan_id: plan.id };
                match store
                    .platform()
                    .put(
                        &keys::plan_slug_claim(&plan.slug),
                        &claim,
                        Condition::NotExists,
                    )
                    .await
                {
                    Ok(()) | Err(StoreError::ConditionFailed) => {}
                    Err(e) => return Err(e.into()),
                }
                println!("seeded plan {}", plan.slug)
            }
            Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// `devctl superadmin ...`: add (`--email`/`--password`), `--list` or
/// `--remove EMAIL`.
async fn superadmin_command(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "--list") {
        let admins = superadmins::list(&store().await?).await?;
        for admin in &admins {
            println!("{}\t{}", admin.email, admin.id);
        }
        if admins.is_empty() {
            eprintln!("no super admin yet: devctl superadmin --email E --password P");
        }
        return Ok(());
    }
    if let Some(email) = flag(args, "--remove") {
        let removed = superadmins::remove(&store().await?, &email).await?;
        println!("removed super admin {} (user deactivated)", removed.email);
        return Ok(());
    }
    let (Some(email), Some(password)) = (flag(args, "--email"), flag(args, "--password")) else {
        return Err(SUPERADMIN_USAGE.into());
    };
    let outcome = superadmins::add(&store().await?, &email, &password).await?;
    let email = email.trim().to_lowercase();
    match outcome {
        Added::CreatedPlatform => println!("created the platform tenant and super admin {email}"),
        Added::Created => println!("created super admin {email}"),
        Added::Promoted => println!("{email} is a super admin again"),
        Added::Unchanged => println!("{email} is already a super admin"),
    }
    Ok(())
}

/// `devctl import-django --file DUMP [--dry-run] [--drop-unknown-permissions]`:
/// prints the report; fails when something would be lost or clashes.
async fn import_django(args: &[String]) -> Result<()> {
    let Some(file) = flag(args, "--file") else {
        return Err(IMPORT_USAGE.into());
    };
    let dry_run = args.iter().any(|a| a == "--dry-run");
    let options = django::Options {
        drop_unknown_permissions: args.iter().any(|a| a == "--drop-unknown-permissions"),
    };
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
    let store = store().await?;
    let outcome =
        django::import(&store, &text, options, dry_run, OffsetDateTime::now_utc()).await?;
    print!("{}", outcome.report);
    match outcome.tally {
        _ if outcome.report.blocks() => {
            Err("nothing imported: resolve the problems above (a dry run lists them)".into())
        }
        None => {
            println!("dry run: nothing written; the import would proceed");
            Ok(())
        }
        Some(tally) if tally.written == 0 => {
            println!(
                "nothing to do: all {} items were already imported",
                tally.present
            );
            Ok(())
        }
        Some(tally) => {
            println!(
                "imported: {} items written, {} already present",
                tally.written, tally.present
            );
            Ok(())
        }
    }
}

const IMPORT_USAGE: &str =
    "usage: devctl import-django --file DUMP.json [--dry-run] [--drop-unknown-permissions]";

const SUPERADMIN_USAGE: &str =
    "usage: devctl superadmin --email EMAIL --password PASSWORD | --list | --remove EMAIL";

async fn seed() -> Result<()> {
    create_table(None).await?;
    dev_keys(&keys_dir())?;
    let store = store().await?;
    seed_plans(&store).await?;
    if superadmins::add(&store, DEV_SUPERADMIN_EMAIL, DEV_SUPERADMIN_PASSWORD).await?
        != Added::Unchanged
    {
        println!("created super admin {DEV_SUPERADMIN_EMAIL}");
    }
    println!("development super admin: {DEV_SUPERADMIN_EMAIL} / {DEV_SUPERADMIN_PASSWORD}");
    Ok(())
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().cloned().unwrap_or_default();
    let result = match command.as_str() {
        "create-table" => create_table(flag(&args, "--table")).await,
        "keys" if args.iter().any(|a| a == "--secret") => secret_key(),
        "keys" => dev_keys(&keys_dir()),
        "seed" => seed().await,
        "superadmin" => superadmin_command(&args).await,
        "import-django" => import_django(&args).await,
        _ => Err("usage: devctl create-table [--table NAME] | keys [--secret] | seed | superadmin (--email E --password P | --list | --remove E) | import-django --file DUMP [--dry-run] [--drop-unknown-permissions]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Every cause: a store error keeps the SDK's as its source.
            eprintln!("devctl: {}", shared::report::ErrorChain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}
