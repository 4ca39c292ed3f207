//! Secrets of a fresh install (the Jira webhook secret, the admin token): generated once, kept in
//! the data directory with owner-only permissions, never logged. Operators read them with
//! `print-webhook-secret` / `print-admin-token`, or replace them by configuring their own.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use rand::RngCore;

use super::ConfigError;
use crate::secret::Secret;

pub const WEBHOOK_SECRET_FILE: &str = "jira-webhook-secret";
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// Reads `data_dir/file`, creating it with 32 random bytes (hex) when absent.
pub fn load_or_create_secret(
    data_dir: &Path,
    file: &str,
) -> Result<(Secret, PathBuf), ConfigError> {
    let path = data_dir.join(file);
    let err = |source| ConfigError::WebhookSecret {
        path: path.clone(),
        source,
    };
    crate::data_dir::create_private_dir(data_dir).map_err(err)?;
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 16 => return Ok((Secret::new(text.trim()), path)),
        Ok(_) => {
            return Err(err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "file holds fewer than 16 characters; delete it to generate a new secret",
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }

    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes()).map_err(err)?;
            file.sync_all().map_err(err)?;
            Ok((Secret::new(secret), path))
        }
        // Another process created it between our read and create: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(&path).map_err(err)?;
            Ok((Secret::new(text.trim()), path))
        }
        Err(e) => Err(err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_reused_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let (a, path) = load_or_create_secret(dir.path(), WEBHOOK_SECRET_FILE).unwrap();
        let (b, _) = load_or_create_secret(dir.path(), WEBHOOK_SECRET_FILE).unwrap();
        let (c, _) = load_or_create_secret(dir.path(), ADMIN_TOKEN_FILE).unwrap();
        assert_ne!(a.expose(), c.expose());
        assert_eq!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
