//! `dfc-bank keys`: converting plain key files to passphrase-encrypted ones, and generating an
//! Ed25519 operator key in a PKCS#11 token (its `ed25519:` public key goes into the network's
//! parameters).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use dfc_keys::keyfile::encrypt_in_place;
use dfc_keys::pkcs11::generate_ed25519;
use dfc_keys::sealed::KdfCost;
use dfc_keys::Passphrase;
use dfc_keys::Pkcs11Uri;

/// `dfc-bank keys ...`
#[derive(Subcommand)]
pub enum KeysCmd {
    /// Encrypt plain-hex key files (`node.key`, `operator-N.key`, `regulator.key`) in place under
    /// one passphrase (from --passphrase-file, DFC_KEY_PASSPHRASE or a prompt).
    Encrypt {
        /// The key files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// A file holding the passphrase (its first line).
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// Generate an Ed25519 operator key in a PKCS#11 token and print its public key
    /// (`ed25519:HEX`), for `dfc-bank init --operator-key` or a governance change. The PIN comes
    /// from the URI's pin-source, else DFC_PKCS11_PIN, else a prompt.
    Pkcs11Generate {
        /// The new key's PKCS#11 URI (RFC 7512), e.g.
        /// `pkcs11:token=dfc;object=operator-1?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:DFC_PKCS11_PIN`.
        uri: String,
        /// Also write the public key (`ed25519:HEX` and a newline) to this file.
        #[arg(long, value_name = "FILE")]
        public_out: Option<PathBuf>,
    },
}

/// Runs a `keys` command.
pub fn run(cmd: KeysCmd) -> Result<()> {
    match cmd {
        KeysCmd::Encrypt {
            files,
            passphrase_file,
        } => {
            let source = Passphrase::new(passphrase_file);
            let first = files.first().context("no key file named")?;
            let pass = source.get(first)?;
            for f in &files {
                encrypt_in_place(f, &pass, KdfCost::default())
                    .with_context(|| format!("encrypting {}", f.display()))?;
                println!("encrypted {}", f.display());
            }
            Ok(())
        }
        KeysCmd::Pkcs11Generate { uri, public_out } => {
            let uri: Pkcs11Uri = uri.parse()?;
            // Checked before the token is touched, so a refusal leaves no key behind.
            if let Some(path) = public_out.as_ref().filter(|p| p.exists()) {
                bail!("{} exists: not overwriting it", path.display());
            }
            let key = generate_ed25519(&uri)?;
            if let Some(path) = public_out {
                std::fs::write(&path, format!("{key}\n"))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            println!("{key}");
            Ok(())
        }
    }
}
