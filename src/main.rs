//! The `varscale` command: initialise tensors and whole models, benchmark, diagnose.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) if e.use_stderr() => {
            // Usage errors get the same one-line form and exit status as every other bad input.
            // clap ends some first lines with ':' and names the culprit on the next line.
            let text = e.to_string();
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let mut line = lines
                .next()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_string();
            if line.ends_with(':') {
                line = format!("{line} {}", lines.next().unwrap_or_default());
            }
            eprintln!("varscale: {line}");
            return ExitCode::from(2);
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("varscale: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
