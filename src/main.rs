//! The `conclave` binary: parses the command line and hands off to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = conclave::cli::Cli::parse();
    ExitCode::from(conclave::cli::dispatch(cli))
}
