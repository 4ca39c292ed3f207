//! The Lambda artifact, checked before anything is written: a zip whose `bootstrap` is an
//! executable file (what the `provided.al2023` runtime starts). Reading the zip's central
//! directory is all the check needs, so it needs no zip library.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArtifactError {
    #[error(
        "--artifact {0}: no such file: pass the path of bootstrap.zip (from a release, or \
         `deploy-integrations-solution package` on a machine with the source)"
    )]
    Missing(PathBuf),
    #[error("--artifact {path}: cannot read it ({message}): check its permissions")]
    Unreadable { path: PathBuf, message: String },
    #[error(
        "--artifact {0}: not a zip file: pass bootstrap.zip as `cargo lambda build --release \
         --output-format zip` (or `deploy-integrations-solution package`) writes it"
    )]
    NotZip(PathBuf),
    #[error(
        "--artifact {0}: the zip has no `bootstrap` at its root: Lambda's provided runtime \
         starts that file; build it with `deploy-integrations-solution package`"
    )]
    NoBootstrap(PathBuf),
    #[error(
        "--artifact {0}: `bootstrap` is not executable: zip it with its mode (cargo lambda \
         and `package` do), e.g. `chmod 755 bootstrap && zip bootstrap.zip bootstrap`"
    )]
    NotExecutable(PathBuf),
}

/// A checked artifact.
#[derive(Debug)]
pub struct Checked {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub sha256: String,
}

const END_OF_CENTRAL_DIRECTORY: u32 = 0x0605_4b50;
const CENTRAL_DIRECTORY_ENTRY: u32 = 0x0201_4b50;
/// "Version made by" host 3: the external attributes' high half is a Unix mode.
const MADE_ON_UNIX: u8 = 3;

pub fn check(path: &Path) -> Result<Checked, ArtifactError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ArtifactError::Missing(path.to_owned()));
        }
        Err(e) => {
            return Err(ArtifactError::Unreadable {
                path: path.to_owned(),
                message: e.to_string(),
            });
        }
    };
    let entry = bootstrap_entry(&bytes).ok_or_else(|| ArtifactError::NotZip(path.to_owned()))?;
    match entry {
        None => Err(ArtifactError::NoBootstrap(path.to_owned())),
        Some(Entry { made_on, mode }) if made_on == MADE_ON_UNIX && mode & 0o111 == 0 => {
            Err(ArtifactError::NotExecutable(path.to_owned()))
        }
        Some(_) => Ok(Checked {
            path: path.to_owned(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            bytes,
        }),
    }
}

struct Entry {
    made_on: u8,
    mode: u32,
}

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as usize)
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// `None`: not a zip; `Some(None)`: a zip without `bootstrap`.
fn bootstrap_entry(b: &[u8]) -> Option<Option<Entry>> {
    // The end record is the last 22 bytes plus a comment of up to 64 KiB.
    let lowest = b.len().saturating_sub(22 + 0xFFFF);
    let end = (lowest..=b.len().checked_sub(22)?)
        .rev()
        .find(|&at| u32_at(b, at) == Some(END_OF_CENTRAL_DIRECTORY))?;
    let entries = u16_at(b, end + 10)?;
    let mut at = u32_at(b, end + 16)? as usize;
    for _ in 0..entries {
        if u32_at(b, at)? != CENTRAL_DIRECTORY_ENTRY {
            return None;
        }
        let made_on = *b.get(at + 5)?;
        let name_len = u16_at(b, at + 28)?;
        let extra_len = u16_at(b, at + 30)?;
        let comment_len = u16_at(b, at + 32)?;
        let external = u32_at(b, at + 38)?;
        let name = b.get(at + 46..at + 46 + name_len)?;
        if name == b"bootstrap" {
            return Some(Some(Entry {
                made_on,
                mode: external >> 16,
            }));
        }
        at += 46 + name_len + extra_len + comment_len;
    }
    Some(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zip made by the system's `zip` (Info-ZIP), as a release would be.
    fn zip_of(files: &[(&str, u32)]) -> (tempfile::TempDir, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for (name, mode) in files {
            let path = dir.path().join(name);
            std::fs::write(&path, b"#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).unwrap();
        }
        let zip = dir.path().join("bootstrap.zip");
        let status = std::process::Command::new("zip")
            .arg("-q")
            .arg(&zip)
            .args(files.iter().map(|(n, _)| n))
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        (dir, zip)
    }

    #[test]
    fn a_zip_with_an_executable_bootstrap_passes() {
        let (_dir, zip) = zip_of(&[("README", 0o644), ("bootstrap", 0o755)]);
        let checked = check(&zip).unwrap();
        assert_eq!(checked.sha256.len(), 64);
    }

    #[test]
    fn each_broken_artifact_is_named_with_its_fix() {
        let (_dir, zip) = zip_of(&[("README", 0o644)]);
        assert_eq!(check(&zip).unwrap_err(), ArtifactError::NoBootstrap(zip));
        let (_dir, zip) = zip_of(&[("bootstrap", 0o644)]);
        assert_eq!(check(&zip).unwrap_err(), ArtifactError::NotExecutable(zip));
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.zip");
        assert_eq!(
            check(&missing).unwrap_err(),
            ArtifactError::Missing(missing.clone())
        );
        std::fs::write(&missing, b"not a zip at all, just text").unwrap();
        let err = check(&missing).unwrap_err();
        assert_eq!(err, ArtifactError::NotZip(missing));
        assert!(!err.to_string().contains('\n'));
    }
}
