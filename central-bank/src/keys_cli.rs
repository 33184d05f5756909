//! `dfc-bank keys`: converting plain key files to passphrase-encrypted ones, and generating an
//! Ed25519 operator key in a PKCS#11 token (its `ed25519:` public key goes into the network's
//! parameters).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use dfc_keys::keyfile::encrypt_in_place;
use dfc_keys::pkcs11::{generate_ed25519, Pkcs11Spec, PIN_ENV};
use dfc_keys::sealed::KdfCost;
use dfc_keys::Passphrase;

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
    /// (`ed25519:HEX`). The PIN comes from DFC_PKCS11_PIN.
    Pkcs11Generate {
        /// `pkcs11:module=PATH;token=LABEL;key=LABEL`
        signer: String,
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
        KeysCmd::Pkcs11Generate { signer } => {
            let spec: Pkcs11Spec = signer.parse()?;
            let Ok(pin) = std::env::var(PIN_ENV) else {
                bail!("set the token's user PIN in {PIN_ENV}");
            };
            let key = generate_ed25519(&spec, &pin)?;
            println!("{key}");
            Ok(())
        }
    }
}
