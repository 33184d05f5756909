//! Where the passphrase of an encrypted key file comes from: `--passphrase-file`, the
//! `DFC_KEY_PASSPHRASE` environment variable, or a prompt on a terminal, in that order. Asked
//! once per process and reused for every file (the node key and the operator keys of one data
//! directory share it).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use zeroize::Zeroizing;

use crate::keyfile::KeyFileError;

/// The environment variable holding a key file passphrase.
pub const PASSPHRASE_ENV: &str = "DFC_KEY_PASSPHRASE";

/// A passphrase source, read at most once.
#[derive(Default)]
pub struct Passphrase {
    file: Option<PathBuf>,
    value: OnceLock<Zeroizing<String>>,
}

impl Passphrase {
    /// Reads from `file` if given, else the environment, else a terminal prompt.
    pub fn new(file: Option<PathBuf>) -> Self {
        Passphrase {
            file,
            value: OnceLock::new(),
        }
    }

    /// A fixed passphrase (tests, and a new passphrase already confirmed by the caller).
    pub fn given(text: &str) -> Self {
        let p = Passphrase::default();
        let _ = p.value.set(Zeroizing::new(text.to_string()));
        p
    }

    /// The passphrase, to unlock `for_path` (named in the prompt and in errors).
    pub fn get(&self, for_path: &Path) -> Result<Zeroizing<String>, KeyFileError> {
        if let Some(v) = self.value.get() {
            return Ok(v.clone());
        }
        let value = self.read(for_path)?;
        if value.is_empty() {
            return Err(KeyFileError::NoPassphrase {
                path: for_path.to_path_buf(),
            });
        }
        let _ = self.value.set(value.clone());
        Ok(value)
    }

    fn read(&self, for_path: &Path) -> Result<Zeroizing<String>, KeyFileError> {
        if let Some(file) = &self.file {
            let text = std::fs::read_to_string(file).map_err(|source| KeyFileError::Io {
                path: file.clone(),
                source,
            })?;
            return Ok(Zeroizing::new(
                text.trim_end_matches(['\n', '\r']).to_string(),
            ));
        }
        if let Ok(v) = std::env::var(PASSPHRASE_ENV) {
            return Ok(Zeroizing::new(v));
        }
        if std::io::stdin().is_terminal() {
            let prompt = format!("passphrase for {}: ", for_path.display());
            return rpassword::prompt_password(prompt)
                .map(Zeroizing::new)
                .map_err(|source| KeyFileError::Io {
                    path: for_path.to_path_buf(),
                    source,
                });
        }
        Err(KeyFileError::NoPassphrase {
            path: for_path.to_path_buf(),
        })
    }
}

/// A new passphrase for key files about to be written (`dfc-bank init --encrypt-keys`):
/// `DFC_KEY_PASSPHRASE`, else asked twice at a terminal. An empty one is refused.
pub fn new_passphrase(for_path: &Path) -> Result<Zeroizing<String>, KeyFileError> {
    let refuse = |reason: &str| KeyFileError::Invalid {
        path: for_path.to_path_buf(),
        reason: reason.into(),
    };
    let value = if let Ok(v) = std::env::var(PASSPHRASE_ENV) {
        Zeroizing::new(v)
    } else if std::io::stdin().is_terminal() {
        let io = |source| KeyFileError::Io {
            path: for_path.to_path_buf(),
            source,
        };
        let first = Zeroizing::new(
            rpassword::prompt_password(format!(
                "new passphrase for the keys of {}: ",
                for_path.display()
            ))
            .map_err(io)?,
        );
        let again = Zeroizing::new(rpassword::prompt_password("again: ").map_err(io)?);
        if first != again {
            return Err(refuse("the two passphrases differ"));
        }
        first
    } else {
        return Err(KeyFileError::NoPassphrase {
            path: for_path.to_path_buf(),
        });
    };
    if value.is_empty() {
        return Err(refuse("an empty passphrase protects nothing"));
    }
    Ok(value)
}
