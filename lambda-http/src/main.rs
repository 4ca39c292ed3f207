use clap::Parser;
use sir_jira_bridge_lambda::{LambdaArgs, run};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(LambdaArgs::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Also in the function's log: an init failure is otherwise only "Runtime.ExitError".
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
