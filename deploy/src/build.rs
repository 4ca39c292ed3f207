//! Building the Lambda artifact with cargo lambda, from the workspace this command was built in.

use std::path::{Path, PathBuf};

use crate::{
    cli::Architecture,
    plan::{Artifact, LAMBDA_BINARY},
};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "no --artifact, and no source tree at {0} to build one: pass --artifact bootstrap.zip \
         (a release's, or what `deploy-integrations-solution package` wrote where the source is)"
    )]
    NoWorkspace(PathBuf),
    #[error(
        "cannot run `cargo lambda` ({0}): install it (`pip install cargo-lambda`, which brings \
         zig) or pass --artifact"
    )]
    NoCargoLambda(std::io::Error),
    #[error("`{command}` failed ({status})")]
    Failed { command: String, status: String },
    #[error("the build finished but {0} is missing")]
    NoArtifact(PathBuf),
}

/// The workspace root: this crate's parent directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Where cargo lambda writes the zip.
pub fn artifact_path(root: &Path) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { root.join(t) })
        .unwrap_or_else(|| root.join("target"));
    target
        .join("lambda")
        .join(LAMBDA_BINARY)
        .join("bootstrap.zip")
}

/// Builds the zip (the build's output goes to the terminal) and returns its path.
pub async fn build(architecture: Architecture) -> Result<PathBuf, BuildError> {
    let root = workspace_root();
    if !root.join("Cargo.toml").is_file() {
        return Err(BuildError::NoWorkspace(root));
    }
    let command = Artifact::build_command(architecture);
    println!("building: {}", command.join(" "));
    let status = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .current_dir(&root)
        .status()
        .await
        .map_err(BuildError::NoCargoLambda)?;
    if !status.success() {
        return Err(BuildError::Failed {
            command: command.join(" "),
            status: status.to_string(),
        });
    }
    let zip = artifact_path(&root);
    if !zip.is_file() {
        return Err(BuildError::NoArtifact(zip));
    }
    Ok(zip)
}
