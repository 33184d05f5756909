//! # dfc-tui: the terminal apps of dfc
//!
//! - `dfc-tui console`: the central-bank operator console (dashboard, issuance, redemption, ledger
//!   explorer, wallet registry, supply audit), talking to a `dfc-bank` node with the operator's
//!   key, or running a sandbox node in-process (`--sandbox`).
//! - `dfc-tui wallet`: a wallet (balance, history, pay, receive as a QR code, sync state) over
//!   [`dfc_wallet::Wallet`].
//!
//! Both follow one shape: a state struct, keys turned into actions applied by `update`, a pure
//! `draw` of the state (snapshot-tested with `TestBackend`), and one event loop ([`app::run`])
//! over terminal events, a tick and messages from background tasks, so the network never blocks
//! the screen. The terminal is restored on exit and on panic (`ratatui::init`/`restore`); logs go
//! to a file, never the screen.
//!
//! | module | role |
//! |---|---|
//! | [`app`] | the event loop and file logging |
//! | [`ui`] | tab bar, status bar, help overlay, inputs, QR codes, time formatting |
//! | [`console`] | the operator console |
//! | [`wallet`] | the wallet app |

pub mod app;
pub mod console;
#[cfg(test)]
pub mod fixtures;
pub mod help;
pub mod textfield;
pub mod ui;
pub mod wallet;
