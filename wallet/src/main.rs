//! `dfc-wallet`: the command-line wallet of dfc. A thin layer over [`dfc_wallet::Wallet`].
//!
//! Secrets for scripts come from the environment: `DFC_WALLET_PASSPHRASE` (the passphrase) and
//! `DFC_WALLET_PHRASE` (the recovery phrase for `restore`); otherwise they are prompted for without
//! echo. `DFC_WALLET_TEST_CRASH_AFTER=store|submit` is a test-only fault hook: `pay`/`redeem` exit
//! with status 86 right after storing the transaction (before sending) or right after the node
//! accepted it (before recording the receipt), as if the process had been killed there.
//! `DFC_WALLET_TEST_OFFLINE_IGNORE_CAP=1` is a test-only hook that lets `offline pay` make a packet
//! over the purse cap, so a test can show the payee refusing it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use dfc_wallet::wallet::offline::{parse_duration_ms, PolicyOverrides};
use dfc_wallet::{address_of, FaultPoint, KdfCost, Wallet, WalletError};
use serde::Serialize;
use serde_json::json;
use zeroize::Zeroizing;

/// Exit status of a test fault injection.
const FAULT_EXIT: u8 = 86;

#[derive(Parser)]
#[command(
    name = "dfc-wallet",
    version,
    about = "Wallet of the dfc digital fiat currency",
    after_help = "Environment:\n  DFC_WALLET             wallet directory (as --wallet)\n  DFC_WALLET_PASSPHRASE  the wallet's passphrase, for scripts (otherwise asked for without echo)\n  DFC_WALLET_PHRASE      the recovery phrase for `restore` (otherwise asked for)"
)]
struct Cli {
    /// Wallet directory (holds keys.json and wallet.db).
    #[arg(long, global = true, env = "DFC_WALLET", default_value_os_t = default_wallet_dir())]
    wallet: PathBuf,
    /// Node URL; overrides the one stored at registration.
    #[arg(long, global = true)]
    bank: Option<String>,
    /// The node of a sandbox or data directory, found from its URL file DIR/node-url (written by
    /// `dfc-tui console --sandbox` and `dfc-bank serve`); without DIR, ./sandbox. Instead of --bank.
    #[arg(long, global = true, num_args = 0..=1, value_name = "DIR",
          default_missing_value = dfc_client::endpoint::DEFAULT_SANDBOX_DIR, conflicts_with = "bank")]
    sandbox: Option<PathBuf>,
    /// The node's TLS certificate or CA (PEM) to trust for first contact, before the network
    /// parameters' pin is known; with --sandbox DIR, DIR/tls-cert.pem is used if present.
    #[arg(long, global = true, env = dfc_client::tls::CA_ENV, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a wallet with a new 24-word recovery phrase (shown once: write it down).
    Create,
    /// Restore a wallet from its recovery phrase (notes come back at the next sync).
    Restore,
    /// Register with a bank: pins its network parameters and node key, shows the tier granted.
    Register {
        /// Optional label for the bank's registry.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Show the wallet's address.
    Address {
        /// Also print it as a QR code.
        #[arg(long)]
        qr: bool,
    },
    /// Download and verify what concerns this wallet (its payments with inclusion proofs and the
    /// signed header chain), find incoming notes, resume stored payments.
    Sync {
        /// Download and verify every full block instead (needs an auditor or operator key on
        /// a node that serves blocks only to those; for replicas and audits).
        #[arg(long)]
        full: bool,
    },
    /// Show the balance (from the last sync).
    Balance,
    /// Show the transaction history.
    History,
    /// Pay someone.
    Pay {
        /// Recipient address.
        #[arg(long)]
        to: String,
        /// Amount in the currency's units, e.g. 12.50.
        #[arg(long)]
        amount: String,
        /// Short note for the recipient (at most 64 bytes).
        #[arg(long, default_value = "")]
        memo: String,
    },
    /// Show the verified receipt of a transaction.
    Receipt {
        /// Transaction id (hex).
        txid: String,
        /// Also write the payment proof (the transaction and its receipt) to this file, for the
        /// payee's `check-payment`.
        #[arg(long)]
        export: Option<PathBuf>,
    },
    /// Check a payment a payer says they made to you (a file from their `receipt --export`):
    /// the node must list it in its signed answer to this wallet, or its answer is saved as
    /// signed evidence that it left the payment out.
    CheckPayment {
        /// The payment proof file.
        file: PathBuf,
    },
    /// Verify an omission evidence file (from `check-payment`) against this wallet's network.
    Evidence {
        /// The evidence file.
        file: PathBuf,
    },
    /// Ask the bank to redeem money out of the wallet (commits once operators approve).
    Redeem {
        /// Amount, e.g. 100.00.
        #[arg(long)]
        amount: String,
    },
    /// Offline payments: fund a purse (online), pay and accept packets (no network).
    Offline {
        #[command(subcommand)]
        cmd: OfflineCmd,
    },
}

#[derive(Subcommand)]
enum OfflineCmd {
    /// Online: get a purse certificate and move money into purse notes usable offline.
    Fund {
        /// Amount to move into the purse, e.g. 20.00 (the purse holds at most the tier's cap).
        #[arg(long)]
        amount: String,
        /// Number of purse notes (each offline payment spends one).
        #[arg(long, default_value_t = dfc_wallet::wallet::offline::DEFAULT_PURSE_NOTES)]
        notes: usize,
        /// Ask for a certificate valid for less than the node's default (e.g. 2d, 1h, 30s).
        #[arg(long)]
        ttl: Option<String>,
    },
    /// No network: pay from the purse; writes the packet to FILE and shows it as a QR code.
    Pay {
        /// Recipient address.
        #[arg(long)]
        to: String,
        /// Amount, e.g. 2.50.
        #[arg(long)]
        amount: String,
        /// File to write the packet to (binary).
        #[arg(long)]
        out: PathBuf,
        /// Short note for the recipient.
        #[arg(long, default_value = "")]
        memo: String,
        /// Do not print the QR code.
        #[arg(long)]
        no_qr: bool,
    },
    /// No network: verify a packet (binary or text file) and keep it as unsettled income.
    Accept {
        /// The packet file.
        file: PathBuf,
        /// Most to hold unsettled from one payer (overrides the stored policy).
        #[arg(long)]
        max_per_payer: Option<String>,
        /// Most to hold unsettled in all.
        #[arg(long)]
        max_unsettled: Option<String>,
        /// Oldest payer checkpoint accepted (e.g. 7d, 12h).
        #[arg(long)]
        max_checkpoint_age: Option<String>,
    },
    /// Show packets paid and accepted: pending, settled, failed.
    List,
    /// Show or change the stored acceptance policy.
    Policy {
        /// Most to hold unsettled from one payer.
        #[arg(long)]
        max_per_payer: Option<String>,
        /// Most to hold unsettled in all.
        #[arg(long)]
        max_unsettled: Option<String>,
        /// Oldest payer checkpoint accepted (e.g. 7d).
        #[arg(long)]
        max_checkpoint_age: Option<String>,
    },
}

fn default_wallet_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".dfc")
        .join("wallet")
}

fn passphrase(confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var("DFC_WALLET_PASSPHRASE") {
        return Ok(Zeroizing::new(p));
    }
    let p = Zeroizing::new(
        rpassword::prompt_password("Wallet passphrase: ").context("reading the passphrase")?,
    );
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("Repeat passphrase: ").context("reading the passphrase")?,
        );
        if *again != *p {
            bail!("the passphrases do not match");
        }
    }
    Ok(p)
}

fn recovery_phrase() -> anyhow::Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var("DFC_WALLET_PHRASE") {
        return Ok(Zeroizing::new(p));
    }
    Ok(Zeroizing::new(
        rpassword::prompt_password("Recovery phrase (24 words): ")
            .context("reading the recovery phrase")?,
    ))
}

fn fault_from_env() -> anyhow::Result<Option<FaultPoint>> {
    match std::env::var("DFC_WALLET_TEST_CRASH_AFTER").ok().as_deref() {
        None | Some("") => Ok(None),
        Some("store") => Ok(Some(FaultPoint::AfterStore)),
        Some("submit") => Ok(Some(FaultPoint::AfterSubmit)),
        Some(other) => {
            bail!("DFC_WALLET_TEST_CRASH_AFTER must be 'store' or 'submit', not '{other}'")
        }
    }
}

fn open(cli: &Cli) -> anyhow::Result<Wallet> {
    // A missing wallet is said before asking for a passphrase that could not open anything.
    if !cli.wallet.join(dfc_wallet::KEY_FILE).exists() {
        return Err(WalletError::NotFound {
            path: cli.wallet.clone(),
        }
        .into());
    }
    let pass = passphrase(false)?;
    let mut w = Wallet::open(&cli.wallet, &pass)?;
    w.set_bank_override(bank_of(cli)?);
    w.set_tls_pin(dfc_client::TlsPin::bootstrap(
        cli.ca.as_deref(),
        cli.sandbox.as_deref(),
    )?);
    w.set_fault(fault_from_env()?);
    Ok(w)
}

/// The node's URL: `--bank`, or the one kept in `--sandbox DIR`, or none (the stored one).
fn bank_of(cli: &Cli) -> anyhow::Result<Option<String>> {
    Ok(match (&cli.bank, &cli.sandbox) {
        (Some(b), _) => Some(b.clone()),
        (None, Some(dir)) => Some(dfc_client::endpoint::read_node_url(dir)?),
        (None, None) => None,
    })
}

fn print<T: Serialize>(json_out: bool, value: &T, human: impl FnOnce() -> String) {
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(value)
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        );
    } else {
        println!("{}", human());
    }
}

/// Reads and decodes a JSON file given on the command line.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
}

/// A QR code at the lowest error correction (L), so a whole packet fits one code.
fn qr_text_low(data: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::L)
        .context("encoding the QR code")?;
    Ok(code
        .render::<qrcode::render::unicode::Dense1x2>()
        .quiet_zone(true)
        .build())
}

fn opt_amount(w: &Wallet, v: &Option<String>) -> anyhow::Result<Option<dfc_core::Amount>> {
    Ok(v.as_deref().map(|t| w.parse_amount(t)).transpose()?)
}

fn opt_duration(v: &Option<String>) -> anyhow::Result<Option<u64>> {
    Ok(v.as_deref().map(parse_duration_ms).transpose()?)
}

/// The test-only hook `DFC_WALLET_TEST_OFFLINE_IGNORE_CAP=1`.
fn ignore_cap_hook() -> bool {
    std::env::var("DFC_WALLET_TEST_OFFLINE_IGNORE_CAP").is_ok_and(|v| v == "1")
}

async fn offline(cli: &Cli, cmd: &OfflineCmd) -> anyhow::Result<()> {
    let j = cli.json;
    match cmd {
        OfflineCmd::Fund { amount, notes, ttl } => {
            let mut w = open(cli)?;
            let r = w
                .offline_fund(amount, *notes, opt_duration(ttl)?, ignore_cap_hook())
                .await?;
            print(j, &r, || {
                format!(
                    "Moved {} into the offline purse ({} notes usable, checkpoint height {}).\nPurse certificate {}: up to {} per payment, expires {}.",
                    r.amount, r.notes, r.checkpoint_height, r.serial, r.cap, r.expires
                )
            });
        }
        OfflineCmd::Pay {
            to,
            amount,
            out,
            memo,
            no_qr,
        } => {
            let mut w = open(cli)?;
            let ignore_cap = ignore_cap_hook();
            // The counter and the note's offline spend are stored before the file is written.
            let p = w.offline_pay(to, amount, memo, ignore_cap)?;
            std::fs::write(out, &p.bytes)
                .with_context(|| format!("writing the packet to {}", out.display()))?;
            let qr = if j || *no_qr {
                None
            } else {
                Some(qr_text_low(&p.text)?)
            };
            print(j, &p, || {
                let mut s = String::new();
                if let Some(art) = &qr {
                    s.push_str(art);
                    s.push('\n');
                }
                s.push_str(&format!(
                    "Paid {} offline (purse counter {}); packet {} written to {}.\nSize: {} bytes, {} characters as text (one QR code holds {} characters).\nChange {} back to the purse, usable offline after settlement.\n\n{}",
                    p.amount,
                    p.counter,
                    p.txid,
                    out.display(),
                    p.size_bytes,
                    p.text_chars,
                    dfc_core::offline::MAX_PACKET_TEXT_CHARS,
                    p.change,
                    p.text
                ));
                s
            });
        }
        OfflineCmd::Accept {
            file,
            max_per_payer,
            max_unsettled,
            max_checkpoint_age,
        } => {
            let mut w = open(cli)?;
            let bytes =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let overrides = PolicyOverrides {
                max_per_payer: opt_amount(&w, max_per_payer)?,
                max_unsettled: opt_amount(&w, max_unsettled)?,
                max_checkpoint_age_ms: opt_duration(max_checkpoint_age)?,
            };
            let r = w.offline_accept(&bytes, &overrides)?;
            print(j, &r, || {
                format!(
                    "Accepted {} from wallet {} (purse counter {}){}.\nUnsettled: it counts once the packet settles at your next sync.",
                    r.amount,
                    &r.payer[..16],
                    r.counter,
                    if r.memo.is_empty() { String::new() } else { format!(" \"{}\"", r.memo) }
                )
            });
        }
        OfflineCmd::List => {
            let w = open(cli)?;
            let list = w.offline_list()?;
            print(j, &list, || {
                if list.is_empty() {
                    return "No offline packets.".to_string();
                }
                list.iter()
                    .map(|l| {
                        format!(
                            "{:<3} {:<8} {:>16}  #{:<4} {}{}{}",
                            l.direction,
                            l.state,
                            l.amount,
                            l.counter,
                            &l.txid[..16],
                            l.error
                                .as_ref()
                                .map(|e| format!("  {e}"))
                                .unwrap_or_default(),
                            l.evidence
                                .as_ref()
                                .map(|e| format!("  evidence {e}"))
                                .unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        OfflineCmd::Policy {
            max_per_payer,
            max_unsettled,
            max_checkpoint_age,
        } => {
            let mut w = open(cli)?;
            let mut p = w.accept_policy()?;
            if let Some(a) = opt_amount(&w, max_per_payer)? {
                p.max_per_payer = a;
            }
            if let Some(a) = opt_amount(&w, max_unsettled)? {
                p.max_unsettled = a;
            }
            if let Some(a) = opt_duration(max_checkpoint_age)? {
                p.max_checkpoint_age_ms = a;
            }
            w.set_accept_policy(&p)?;
            let params = w.params()?;
            print(j, &p, || {
                format!(
                    "Offline acceptance policy: at most {} unsettled per payer, {} in all, payer checkpoints at most {} s old.",
                    params.format(p.max_per_payer),
                    params.format(p.max_unsettled),
                    p.max_checkpoint_age_ms / 1000
                )
            });
        }
    }
    Ok(())
}

fn qr_text(data: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::new(data.as_bytes()).context("encoding the QR code")?;
    Ok(code
        .render::<qrcode::render::unicode::Dense1x2>()
        .quiet_zone(true)
        .build())
}

async fn run(cli: &Cli) -> anyhow::Result<()> {
    let j = cli.json;
    match &cli.command {
        Command::Create => {
            let pass = passphrase(true)?;
            let (_, phrase) = Wallet::create(&cli.wallet, &pass, KdfCost::default())?;
            print(
                j,
                &json!({"wallet": cli.wallet, "recovery_phrase": phrase.as_str()}),
                || {
                    format!(
                    "Wallet created at {}.\n\nRecovery phrase (write it down now; it is not stored and will not be shown again):\n\n  {}\n\nNext: dfc-wallet register --bank URL",
                    cli.wallet.display(),
                    phrase.as_str()
                )
                },
            );
        }
        Command::Restore => {
            let phrase = recovery_phrase()?;
            let pass = passphrase(true)?;
            Wallet::restore(&cli.wallet, &phrase, &pass, KdfCost::default())?;
            print(j, &json!({"wallet": cli.wallet, "restored": true}), || {
                format!(
                    "Wallet restored at {}. Register with the bank, then sync to recover its notes.",
                    cli.wallet.display()
                )
            });
        }
        Command::Register { label } => {
            let mut w = open(cli)?;
            let Some(bank) = bank_of(cli)? else {
                bail!("register needs --bank URL (or --sandbox DIR)");
            };
            let r = w.register(&bank, label).await?;
            print(j, &r, || {
                format!(
                    "Registered with {} ({} network {}, currency {}).\nTier {} ({}): payments up to {}, balance up to {}.\nAddress: {}",
                    r.bank, r.network, r.network_id, r.currency, r.tier, r.tier_name, r.max_payment, r.max_balance, r.address
                )
            });
        }
        Command::Address { qr } => {
            let (addr, _) = address_of(&cli.wallet)?;
            let text = addr.to_string();
            let qr_art = if *qr { Some(qr_text(&text)?) } else { None };
            print(j, &json!({"address": text}), || match &qr_art {
                Some(art) => format!("{art}\n{text}"),
                None => text.clone(),
            });
        }
        Command::Sync { full } => {
            let mut w = open(cli)?;
            w.set_full_sync(*full);
            let r = w.sync().await?;
            print(j, &r, || {
                let mut s = format!(
                    "Synced {} blocks (now at height {}): {} notes received, {} spent.",
                    r.blocks, r.at_height, r.notes_received, r.notes_spent
                );
                if r.notes_claimed > 0 {
                    s.push_str(&format!(
                        "\nClaimed {} received notes within your holding and turnover limits.",
                        r.notes_claimed
                    ));
                }
                if r.notes_held > 0 {
                    s.push_str(&format!(
                        "\n{} received notes are held: {}. They are not spendable; they are claimed when they fit, or can be redeemed to your bank account (dfc-wallet redeem).",
                        r.notes_held,
                        r.held_reason.as_deref().unwrap_or("over your limits")
                    ));
                }
                if r.notes_refused > 0 {
                    s.push_str(&format!(
                        "\nWarning: {} notes addressed to this wallet did not open their commitment and were not counted.",
                        r.notes_refused
                    ));
                }
                for p in r.offline.iter() {
                    s.push_str(&format!("\nPacket {}: {} ({})", p.txid, p.state, p.detail));
                }
                if let Some(w) = &r.purse_warning {
                    s.push_str(&format!("\nWarning: purse proofs not refreshed: {w}"));
                }
                for p in &r.resumed {
                    s.push_str(&format!(
                        "\nStored transaction {}: {} {}",
                        p.txid, p.state, p.detail
                    ));
                }
                s
            });
        }
        Command::Balance => {
            let w = open(cli)?;
            let b = w.balance()?;
            print(j, &b, || {
                let mut s = format!("Balance: {} (spendable {})", b.total, b.spendable);
                if b.reserved_units > 0 {
                    s.push_str(&format!(
                        ", {} held by {} pending payment(s)",
                        b.reserved,
                        b.pending.len()
                    ));
                }
                if b.purse_units > 0 || b.unsettled_out_units > 0 {
                    s.push_str(&format!("\nOffline purse: {} (in the total)", b.purse));
                }
                if b.held_units > 0 {
                    s.push_str(&format!(
                        "\nHeld over your holding or turnover limit (not in the balance): {}",
                        b.held
                    ));
                }
                if b.unsettled_in_units > 0 {
                    s.push_str(&format!(
                        "\nUnsettled (received offline, not in the balance until settled): {}",
                        b.unsettled_in
                    ));
                }
                s.push_str(&format!(
                    "\n{} notes, synced to height {}",
                    b.notes, b.at_height
                ));
                s
            });
        }
        Command::History => {
            let w = open(cli)?;
            let h = w.history()?;
            print(j, &h, || {
                if h.is_empty() {
                    return "No transactions yet.".to_string();
                }
                h.iter()
                    .map(|l| {
                        format!(
                            "{:>8}  {:<16} {:>20}  {}{}{}{}",
                            l.height
                                .map(|h| h.to_string())
                                .unwrap_or_else(|| "-".into()),
                            l.kind,
                            l.amount,
                            &l.txid[..16],
                            l.counterparty
                                .as_ref()
                                .map(|c| format!("  to {c}"))
                                .unwrap_or_default(),
                            if l.memo.is_empty() {
                                String::new()
                            } else {
                                format!("  \"{}\"", l.memo)
                            },
                            if l.held_units > 0 {
                                format!(
                                    "  (held over your limit: {})",
                                    w.format_units(l.held_units)
                                )
                            } else {
                                String::new()
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        Command::Pay { to, amount, memo } => {
            let mut w = open(cli)?;
            let r = w.pay(to, amount, memo).await?;
            print(j, &r, || {
                let mut s = format!(
                    "Paid {} to {}.\nTransaction {} committed at height {} ({} in, {} out, built in {} ms).",
                    r.amount,
                    r.to.as_deref().unwrap_or("?"),
                    r.txid,
                    r.receipt.as_ref().map(|x| x.height.to_string()).unwrap_or_else(|| "?".into()),
                    r.inputs,
                    r.outputs,
                    r.build_ms
                );
                if let Some(n) = &r.note {
                    s.push_str(&format!("\n{n}"));
                }
                s
            });
        }
        Command::Receipt { txid, export } => {
            let mut w = open(cli)?;
            let r = w.receipt(txid).await?;
            if let Some(path) = export {
                let proof = w.payment_proof(txid).await?;
                std::fs::write(path, serde_json::to_string_pretty(&proof)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            print(j, &json!({"receipt": r, "verified": true}), || {
                format!(
                    "Transaction {} committed at height {} in block {}.\nNode signature verified against the pinned node key.",
                    r.txid, r.height, r.block_hash
                )
            });
        }
        Command::CheckPayment { file } => {
            let mut w = open(cli)?;
            let proof: dfc_core::light::PaymentProof = read_json(file)?;
            let listed = w.check_payment(&proof).await?;
            print(j, &listed, || {
                format!(
                    "Payment {} at height {} is in the node's signed answer to this wallet; `sync` applies it.",
                    listed.txid, listed.height
                )
            });
        }
        Command::Evidence { file } => {
            let w = open(cli)?;
            let evidence: dfc_core::light::OmissionEvidence = read_json(file)?;
            let txid = w.verify_evidence(&evidence)?;
            print(
                j,
                &json!({"valid": true, "txid": txid.to_hex(), "height": evidence.payment.receipt.height}),
                || {
                    format!(
                        "Valid evidence: the node signed a receipt for {} at height {} and a complete answer to wallet {} that leaves it out.",
                        txid,
                        evidence.payment.receipt.height,
                        hex::encode(evidence.answer.key.to_bytes())
                    )
                },
            );
        }
        Command::Offline { cmd } => offline(cli, cmd).await?,
        Command::Redeem { amount } => {
            let mut w = open(cli)?;
            let r = w.redeem(amount).await?;
            print(j, &r, || {
                format!(
                    "Redemption of {} requested: transaction {} {} ({} of {} approvals). Its notes stay reserved until it commits.",
                    r.amount,
                    r.txid,
                    r.state,
                    r.approvals.unwrap_or(0),
                    r.threshold.unwrap_or(0)
                )
            });
        }
    }
    Ok(())
}

/// A stable machine-readable code for each wallet error, for `--json` scripts.
fn error_code(e: &anyhow::Error) -> &'static str {
    if let Some(e) = e.downcast_ref::<dfc_client::endpoint::EndpointError>() {
        return match e {
            dfc_client::endpoint::EndpointError::Missing { .. } => "no_node_url",
            dfc_client::endpoint::EndpointError::Invalid { .. } => "bad_node_url",
        };
    }
    if e.downcast_ref::<dfc_client::tls::TlsPinError>().is_some() {
        return "bad_tls_pin";
    }
    let Some(w) = e.downcast_ref::<WalletError>() else {
        return "error";
    };
    match w {
        WalletError::NotFound { .. } => "not_found",
        WalletError::AlreadyExists { .. } => "already_exists",
        WalletError::WrongPassphrase { .. } => "wrong_passphrase",
        WalletError::CorruptedKeyFile { .. } => "corrupted_key_file",
        WalletError::CorruptedDatabase { .. } => "corrupted_database",
        WalletError::EmptyPassphrase => "empty_passphrase",
        WalletError::BadPhrase(_) => "bad_phrase",
        WalletError::BadAddress(_) => "bad_address",
        WalletError::WrongNetwork { .. } => "wrong_network",
        WalletError::BadAmount(_) => "bad_amount",
        WalletError::ZeroAmount => "zero_amount",
        WalletError::MemoTooLong { .. } => "memo_too_long",
        WalletError::InsufficientFunds { .. } => "insufficient_funds",
        WalletError::TooManyInputs { .. } => "too_many_inputs",
        WalletError::NotRegistered => "not_registered",
        WalletError::ParamsChanged { .. } => "params_changed",
        WalletError::Node(dfc_client::ClientError::WrongNetwork { .. }) => "wrong_network",
        WalletError::Node(dfc_client::ClientError::Unreachable { .. }) => "node_unreachable",
        WalletError::Node(dfc_client::ClientError::UntrustedCertificate { .. }) => {
            "untrusted_certificate"
        }
        WalletError::Node(dfc_client::ClientError::PlainHttpToPinnedNode { .. }) => {
            "plain_http_to_pinned_node"
        }
        WalletError::Node(dfc_client::ClientError::Pin(_)) => "bad_tls_pin",
        WalletError::HistoryRewritten { .. } => "history_rewritten",
        WalletError::Node(_) => "node_error",
        WalletError::Frozen { .. } => "frozen_wallet",
        WalletError::Rejected { .. } => "rejected",
        WalletError::NotConfirmed { .. } => "not_confirmed",
        WalletError::BadChain { .. } => "bad_chain",
        WalletError::BadHistoryRoot { .. } => "bad_history_root",
        WalletError::BadLightSync { .. } => "bad_light_sync",
        WalletError::BadPaymentProof { .. } => "bad_payment_proof",
        WalletError::NodeOmittedPayment { .. } => "node_omitted_payment",
        WalletError::BlockParamsMismatch { .. } => "block_params_mismatch",
        WalletError::BadReceipt { .. } => "bad_receipt",
        WalletError::UnknownTx { .. } => "unknown_tx",
        WalletError::NotCommitted { .. } => "not_committed",
        WalletError::BadTxId(_) => "bad_txid",
        WalletError::ConcurrentChange => "concurrent_change",
        WalletError::Build(_) => "build_failed",
        WalletError::InjectedFault(_) => "injected_fault",
        WalletError::NoPurse => "no_purse",
        WalletError::PurseExpired { .. } => "purse_expired",
        WalletError::OverPurseCap { .. } => "over_purse_cap",
        WalletError::PurseFull { .. } => "purse_full",
        WalletError::NoPurseNote { .. } => "no_purse_note",
        WalletError::OfflineRefused(e) => offline_code(e),
        WalletError::PacketTooLarge { .. } => "packet_too_large",
        WalletError::BadCertificate => "bad_certificate",
        WalletError::BadOption { .. } => "bad_option",
        WalletError::Db(_) => "database",
        WalletError::Io { .. } => "io",
    }
}

/// A stable code for each reason a payee refuses a packet.
fn offline_code(e: &dfc_core::offline::OfflineError) -> &'static str {
    use dfc_core::offline::OfflineError as O;
    match e {
        O::Decode(_) => "malformed_packet",
        O::WrongNetwork { .. } => "wrong_network",
        O::BadCertificate => "bad_certificate",
        O::CertificateExpired { .. } => "certificate_expired",
        O::BadCheckpoint => "bad_checkpoint",
        O::CheckpointAfterExpiry { .. } => "certificate_expired",
        O::CheckpointTooOld { .. } => "checkpoint_too_old",
        O::ReplayedCounter { .. } => "replayed_counter",
        O::AlreadyAccepted => "already_accepted",
        O::BadCounterSignature => "bad_counter_signature",
        O::NotPurseNote { .. } => "not_purse_note",
        O::ProofCount { .. } => "proof_count",
        O::BadInclusionProof { .. } => "bad_inclusion_proof",
        O::NotForUs => "not_for_us",
        O::BadOpening(_) => "bad_opening",
        O::OverCap { .. } => "over_cap",
        O::OverPerPayer { .. } => "over_per_payer",
        O::OverUnsettled { .. } => "over_unsettled",
        O::NotATransfer => "not_a_transfer",
        O::Invalid(_) => "invalid_transaction",
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber_init();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = error_code(&e);
            if code == "injected_fault" {
                eprintln!("{e:#}");
                return ExitCode::from(FAULT_EXIT);
            }
            // Wallet errors already name their cause; other errors show their context chain.
            let message = match e.downcast_ref::<WalletError>() {
                Some(w) => w.to_string(),
                None => dfc_core::error::error_line(e.as_ref()),
            };
            if cli.json {
                // `error` is the code as first published; `code` is its name in every binary.
                println!(
                    "{}",
                    json!({"error": code, "code": code, "message": message})
                );
            }
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, warnings only unless `RUST_LOG` asks for more.
fn tracing_subscriber_init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
