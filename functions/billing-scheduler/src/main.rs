use billing_scheduler::{Mode, Options};
use lambda_http::lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use shared::config::Config;
use shared::runtime;

// About a quarter less time per request than the system allocator
// (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Error> {
    runtime::block_on(run())
}

async fn run() -> Result<(), Error> {
    let mode = billing_scheduler::parse_args(std::env::args().skip(1))?;
    if mode == Mode::Help {
        println!("{}", billing_scheduler::USAGE);
        return Ok(());
    }
    match mode {
        Mode::Once { .. } => runtime::init_cli_tracing(),
        Mode::Lambda | Mode::Help => runtime::init_tracing(),
    }
    let config = Config::from_env()?;
    let aws = runtime::sdk_config();
    let store = runtime::store(&config, &aws);
    let policy = config.billing;
    match mode {
        Mode::Once { at } => {
            let now = at.unwrap_or_else(time::OffsetDateTime::now_utc);
            let report = billing_scheduler::tick(&store, &policy, now).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Mode::Lambda | Mode::Help => {
            // Owned and shared: the handler must be `Clone + 'static` to run
            // several ticks at once where AWS_LAMBDA_MAX_CONCURRENCY allows.
            let shared = std::sync::Arc::new((store, policy));
            runtime::serve_events(move |event: LambdaEvent<Value>| {
                let shared = shared.clone();
                async move {
                    let (store, policy) = &*shared;
                    let options = Options::until(event.context.deadline());
                    billing_scheduler::on_schedule(store, policy, &event.payload, &options)
                        .await
                        .map_err(Error::from)
                }
            })
            .await
        }
    }
}
