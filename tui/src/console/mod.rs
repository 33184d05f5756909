//! The operator console: state, the actions keys turn into, and `update`. Rendering is in
//! [`view`], network work in [`net`], the in-process sandbox node in [`sandbox`].

mod approve;
mod audit_run;
mod audit_view;
mod detail;
mod forms;
mod governance;
mod governance_view;
mod keys;
mod mouse;
pub mod net;
mod rate;
mod registry_view;
pub mod sandbox;
mod scorecard_view;
pub mod view;

pub use audit_run::AuditProgress;
pub use governance::GovData;
pub use mouse::ListArea;
pub use rate::payment_rate;

use std::collections::VecDeque;
use std::sync::Arc;

use dfc_central_bank::assess::Scorecard;
use dfc_central_bank::audit::AuditReport;
use dfc_central_bank::regulator::DisclosedPayment;
use dfc_core::api::{Proposal, SupplySummary, WalletInfo};
use dfc_core::{Address, Amount, NetworkParams, PublicKey, TxId, TxKind};
use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use ratatui::Frame;
use tokio::sync::mpsc;

use crate::app::Screen;
use crate::textfield::EditKey;
use crate::ui::{Conn, Input, Notice, NoticeTimer};

/// Blocks kept in memory for the explorer and the rate sparkline.
pub const MAX_BLOCKS: usize = 500;
/// Width of one sparkline bucket.
pub const RATE_BUCKET_MS: u64 = 1000;
/// Buckets of payments-per-second history kept (the widest sparkline shown).
pub const RATE_BUCKETS: usize = 240;

/// The console's tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// Supply, rate, queue, audit, alerts.
    Dashboard,
    /// Propose and approve issuance.
    Issuance,
    /// Approve redemptions.
    Redemption,
    /// Blocks and transactions.
    Ledger,
    /// The wallet registry.
    Wallets,
    /// The supply audit.
    Audit,
    /// Payments disclosed to the regulator.
    Regulator,
    /// Parameter changes: pending with their diff, approval, history.
    Governance,
}

impl Tab {
    /// All tabs in order.
    pub const ALL: [Tab; 8] = [
        Tab::Dashboard,
        Tab::Issuance,
        Tab::Redemption,
        Tab::Ledger,
        Tab::Wallets,
        Tab::Audit,
        Tab::Regulator,
        Tab::Governance,
    ];
    /// Title in the tab bar.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Dashboard => "Dashboard",
            Tab::Issuance => "Issuance",
            Tab::Redemption => "Redemption",
            Tab::Ledger => "Ledger",
            Tab::Wallets => "Wallets",
            Tab::Audit => "Audit",
            Tab::Regulator => "Regulator",
            Tab::Governance => "Governance",
        }
    }
    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// A transaction as the explorer shows it: public facts only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxRow {
    /// Transaction id.
    pub txid: TxId,
    /// Kind.
    pub kind: TxKind,
    /// Encoded size, bytes.
    pub size: usize,
    /// The public amount (issue and redeem); transfers hide theirs.
    pub amount: Option<Amount>,
    /// Inputs spent.
    pub inputs: usize,
    /// Outputs created.
    pub outputs: usize,
}

/// A block as the explorer shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRow {
    /// Height.
    pub height: u64,
    /// Block time, ms since the epoch.
    pub time_ms: u64,
    /// Block hash.
    pub hash: String,
    /// Supply after the block.
    pub supply: Amount,
    /// Its transactions.
    pub txs: Vec<TxRow>,
}

impl BlockRow {
    /// Transfers in the block (payments).
    pub fn transfers(&self) -> u64 {
        self.txs
            .iter()
            .filter(|t| t.kind == TxKind::Transfer)
            .count() as u64
    }
}

/// Double-spend evidence as the Wallets tab shows it (from `GET /v1/evidence`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceRow {
    /// Evidence id.
    pub id: dfc_core::Hash32,
    /// The paying wallet (spend key).
    pub wallet: PublicKey,
    /// Its purse certificate's serial.
    pub serial: u64,
    /// The note spent twice.
    pub note: dfc_core::NoteId,
    /// The transaction the ledger committed.
    pub committed: TxId,
    /// The one refused at settlement.
    pub conflicting: TxId,
    /// When the node recorded it, ms since the epoch.
    pub recorded_ms: u64,
}

/// The regulator's list of disclosed payments.
#[derive(Clone, Debug)]
pub struct Disclosures {
    /// Payments, oldest first.
    pub payments: Vec<DisclosedPayment>,
    /// Height of the chain when read.
    pub height: u64,
    /// When read, ms since the epoch.
    pub time_ms: u64,
}

/// What the audit found.
#[derive(Clone, Debug)]
pub struct AuditResult {
    /// When it ran, ms since the epoch.
    pub time_ms: u64,
    /// The node's supply summary at the time.
    pub summary: SupplySummary,
    /// Audit-log entries whose hash chain verified, or the first broken link.
    pub log: Result<u64, String>,
    /// The full replay from genesis over the data directory (`dfc-bank audit`), when the console
    /// has it.
    pub replay: Option<AuditReport>,
    /// The `dfc-bank assess` scorecard: in-process over the data directory, else through the
    /// API.
    pub scorecard: Option<Result<Scorecard, String>>,
}

impl AuditResult {
    /// Whether every check passed.
    pub fn pass(&self) -> bool {
        self.summary.invariant_ok && self.log.is_ok() && self.replay.as_ref().is_none_or(|r| r.pass)
    }
}

/// Which prompt the Wallets tab shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalletPromptKind {
    /// Reason for freezing.
    Freeze,
    /// Reason for unfreezing.
    Unfreeze,
    /// The new tier.
    SetTier,
}

/// What keyboard input goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Navigation keys.
    Normal,
    /// The issuance form; `true` when the destination field has focus, else the amount.
    IssueForm {
        /// Focus on the destination field.
        on_to: bool,
    },
    /// A one-field prompt about the selected wallet.
    WalletPrompt(WalletPromptKind),
    /// The prompt's action spelled out, asking y (send it) or n (back to the prompt).
    WalletConfirm(WalletPromptKind),
    /// Typing the filter of the Wallets tab's registry (`/`): Enter keeps it, Esc clears it.
    Filter,
    /// The detail of a proposal: every output's recipient and amount. With `confirm`, it asks
    /// whether to approve it as the current operator (y or n): nothing is signed before that.
    ProposalDetail {
        /// The proposal shown.
        txid: TxId,
        /// Asking for confirmation of an approval.
        confirm: bool,
    },
    /// Asking y or n to approve a parameter change, its diff on screen.
    ChangeConfirm {
        /// The change's digest.
        digest: dfc_core::Hash32,
    },
}

/// What a key asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Leave the console.
    Quit,
    /// Show or hide the key help.
    ToggleHelp,
    /// Go to a tab.
    GoTab(Tab),
    /// Next tab.
    NextTab,
    /// Previous tab.
    PrevTab,
    /// Selection up.
    Up,
    /// Selection down.
    Down,
    /// Act as the next loaded operator.
    CycleOperator,
    /// Open the issuance form (optionally to a wallet's address).
    NewIssue(Option<String>),
    /// Show the selected proposal's outputs.
    ShowProposal,
    /// Ask to approve the shown (or selected) proposal as the current operator: opens the
    /// confirmation with every output on screen.
    Approve,
    /// Confirm the approval asked for: sign and send it.
    ConfirmApprove,
    /// Open a wallet prompt.
    Prompt(WalletPromptKind),
    /// Run the audit.
    RunAudit,
    /// Cancel the running audit.
    CancelAudit,
    /// Read the disclosed payments again.
    Disclosed,
    /// Edit the focused field (typing, readline keys).
    Edit(EditKey),
    /// Move focus between fields.
    SwitchField,
    /// Submit the focused form.
    Submit,
    /// Close the form.
    Cancel,
    /// Type a filter for the registry.
    Filter,
    /// Read the parameter changes again.
    Governance,
    /// Ask to approve the selected parameter change.
    ApproveChange,
    /// Confirm the parameter change approval asked for.
    ConfirmChange,
}

/// Work for the background tasks.
#[derive(Clone, Debug)]
pub enum Command {
    /// Propose an issuance.
    Propose {
        /// Operator index.
        operator: u8,
        /// Destination.
        to: Address,
        /// Amount.
        amount: Amount,
    },
    /// Approve a proposal.
    Approve {
        /// Operator index.
        operator: u8,
        /// Proposal.
        txid: TxId,
        /// Expected kind.
        kind: TxKind,
    },
    /// Freeze a wallet.
    Freeze {
        /// Operator index.
        operator: u8,
        /// Wallet spend key.
        wallet: PublicKey,
        /// Why.
        reason: String,
        /// The registry version of the record the operator saw.
        registry_version: u64,
    },
    /// Unfreeze a wallet.
    Unfreeze {
        /// Operator index.
        operator: u8,
        /// Wallet spend key.
        wallet: PublicKey,
        /// Why.
        reason: String,
        /// The registry version of the record the operator saw.
        registry_version: u64,
    },
    /// Set a wallet's tier.
    SetTier {
        /// Operator index.
        operator: u8,
        /// Wallet spend key.
        wallet: PublicKey,
        /// New tier.
        tier: u8,
        /// The registry version of the record the operator saw.
        registry_version: u64,
    },
    /// Run the audit (and the assessment), reporting progress and watching for cancellation.
    Audit(Arc<AuditProgress>),
    /// Read the payments disclosed to the regulator (needs the regulator's key).
    Disclosed,
    /// Read the parameter changes and the history.
    Governance,
    /// Approve a parameter change.
    ApproveChange {
        /// Operator index.
        operator: u8,
        /// The change's digest.
        digest: dfc_core::Hash32,
    },
}

/// What the background tasks report.
#[derive(Debug)]
pub enum Msg {
    /// Parameters fetched and operator keys matched.
    Connected {
        /// The network parameters.
        params: Box<NetworkParams>,
        /// Operator indices whose keys are loaded.
        operators: Vec<u8>,
        /// Key files that are not operator keys of this network.
        problems: Vec<String>,
    },
    /// A poll succeeded.
    Polled(Box<Poll>),
    /// A poll failed.
    PollFailed(String),
    /// An action finished: a message for the notice line.
    Done(Result<String, String>),
    /// An audit finished.
    Audited(Box<Result<AuditResult, String>>),
    /// The in-process node stopped.
    NodeStopped(String),
    /// The regulator's list was read.
    Disclosed(Box<Result<Disclosures, String>>),
    /// The parameter changes and history were read.
    Governance(Box<Result<GovData, String>>),
}

/// One poll of the node.
#[derive(Debug)]
pub struct Poll {
    /// Supply summary.
    pub supply: SupplySummary,
    /// Proposals.
    pub proposals: Vec<Proposal>,
    /// The registry.
    pub wallets: Vec<WalletInfo>,
    /// Double-spend evidence, every wallet.
    pub evidence: Vec<EvidenceRow>,
    /// Blocks not seen before, oldest first.
    pub new_blocks: Vec<BlockRow>,
    /// When the poll finished, ms since the epoch.
    pub time_ms: u64,
}

/// The console's state.
pub struct Console {
    /// Current tab.
    pub tab: Tab,
    /// Help overlay shown.
    pub help: bool,
    /// Input mode.
    pub mode: Mode,
    /// Connection.
    pub conn: Conn,
    /// The node's URL.
    pub bank_url: String,
    /// Parameters, once connected.
    pub params: Option<NetworkParams>,
    /// Operator indices whose keys are loaded.
    pub operators: Vec<u8>,
    /// Position in `operators` of the current operator.
    pub op_pos: usize,
    /// Operator to act as first, when its key is loaded.
    pub preferred_operator: Option<u8>,
    /// Latest supply summary.
    pub supply: Option<SupplySummary>,
    /// Proposals, pending first.
    pub proposals: Vec<Proposal>,
    /// The registry.
    pub wallets: Vec<WalletInfo>,
    /// Recent blocks, oldest first, at most [`MAX_BLOCKS`].
    pub blocks: VecDeque<BlockRow>,
    /// Payments per second, oldest first, one per [`RATE_BUCKET_MS`], ending now.
    pub rate: Vec<u64>,
    /// Whether an audit is running.
    pub auditing: bool,
    /// The last audit.
    pub audit: Option<AuditResult>,
    /// Progress of the running (or last) audit.
    pub audit_progress: Option<Arc<AuditProgress>>,
    /// Whether the console can replay the ledger itself (it has the data directory).
    pub has_data_dir: bool,
    /// Issuance form: amount.
    pub issue_amount: Input,
    /// Issuance form: destination address.
    pub issue_to: Input,
    /// Wallets prompt text.
    pub prompt: Input,
    /// Where each list (issuance, redemption, ledger, wallets) was last drawn and its first
    /// visible row, for mouse clicks. Set while drawing, hence a `Cell`.
    pub list_areas: std::cell::Cell<[Option<ListArea>; 4]>,
    /// The registry filter (`/` on the Wallets tab): wallets whose label or address contains it,
    /// case-insensitively.
    pub filter: Input,
    /// Selected row per list: issuance, redemption, ledger, wallets.
    pub sel: [usize; 4],
    /// Result of the last action.
    pub notice: Option<Notice>,
    /// Clears [`Self::notice`] after a few seconds.
    pub notice_timer: NoticeTimer,
    /// An action in flight.
    pub busy: Option<String>,
    /// Clock of the last tick or poll, ms since the epoch.
    pub now_ms: u64,
    /// Asked to quit.
    pub quitting: bool,
    /// Double-spend evidence, every wallet.
    pub evidence: Vec<EvidenceRow>,
    /// Whether the console holds the regulator's key.
    pub has_regulator_key: bool,
    /// The last read of the disclosed payments.
    pub disclosed: Option<Result<Disclosures, String>>,
    /// A read of the disclosed payments is running.
    pub disclosing: bool,
    /// The last read of the parameter changes and history.
    pub governance: Option<Result<GovData, String>>,
    /// Selected proposed change.
    pub gov_sel: usize,
    commands: Option<mpsc::UnboundedSender<Command>>,
}

impl Console {
    /// An empty console for the node at `bank_url`; `commands` reaches the background tasks (none
    /// in tests).
    pub fn new(
        bank_url: &str,
        has_data_dir: bool,
        commands: Option<mpsc::UnboundedSender<Command>>,
    ) -> Self {
        Console {
            tab: Tab::Dashboard,
            help: false,
            mode: Mode::Normal,
            conn: Conn::Connecting,
            bank_url: bank_url.to_string(),
            params: None,
            operators: Vec::new(),
            op_pos: 0,
            preferred_operator: None,
            supply: None,
            proposals: Vec::new(),
            wallets: Vec::new(),
            blocks: VecDeque::new(),
            rate: vec![0; RATE_BUCKETS],
            auditing: false,
            audit: None,
            audit_progress: None,
            has_data_dir,
            issue_amount: Input::default(),
            issue_to: Input::default(),
            prompt: Input::default(),
            filter: Input::default(),
            list_areas: std::cell::Cell::new([None; 4]),
            sel: [0; 4],
            notice: None,
            notice_timer: NoticeTimer::default(),
            busy: None,
            now_ms: 0,
            quitting: false,
            evidence: Vec::new(),
            has_regulator_key: false,
            disclosed: None,
            disclosing: false,
            governance: None,
            gov_sel: 0,
            commands,
        }
    }

    /// The operator acting now.
    pub fn operator(&self) -> Option<u8> {
        self.operators.get(self.op_pos).copied()
    }

    /// Formats an amount in the network's currency.
    pub fn fmt(&self, amount: Amount) -> String {
        match &self.params {
            Some(p) => p.format(amount),
            None => amount.units().to_string(),
        }
    }

    /// Proposals of `kind`, pending first (the node's order).
    pub fn proposals_of(&self, kind: TxKind) -> Vec<&Proposal> {
        self.proposals.iter().filter(|p| p.kind == kind).collect()
    }

    /// Pending proposals.
    pub fn pending(&self) -> usize {
        self.proposals
            .iter()
            .filter(|p| p.state == "pending")
            .count()
    }

    /// The registry in display order: by tier, then oldest first.
    /// The registry as the Wallets tab lists it: by tier, then registration, only the wallets
    /// the filter matches (every one without a filter).
    pub fn wallets_by_tier(&self) -> Vec<&WalletInfo> {
        let needle = self.filter.text.trim().to_lowercase();
        let mut w: Vec<&WalletInfo> = self
            .wallets
            .iter()
            .filter(|w| {
                needle.is_empty()
                    || w.label.to_lowercase().contains(&needle)
                    || w.address.to_string().to_lowercase().contains(&needle)
            })
            .collect();
        w.sort_by_key(|w| (w.tier, w.registered_ms));
        w
    }

    /// Evidence against the wallet with spend key `wallet`, newest first.
    pub fn evidence_of(&self, wallet: &PublicKey) -> Vec<&EvidenceRow> {
        let mut e: Vec<&EvidenceRow> = self
            .evidence
            .iter()
            .filter(|e| e.wallet == *wallet)
            .collect();
        e.sort_by_key(|e| std::cmp::Reverse(e.recorded_ms));
        e
    }

    /// Whether the regulator's list can be read: a key, and a network with compliance rules.
    pub fn can_disclose(&self) -> bool {
        self.has_regulator_key && self.params.as_ref().is_some_and(|p| p.compliance.is_some())
    }

    fn refresh_disclosed(&mut self) {
        if self.disclosing || !self.can_disclose() {
            return;
        }
        match &self.commands {
            Some(tx) if tx.send(Command::Disclosed).is_err() => {
                self.notice = Some(Notice::err("the background tasks stopped"));
            }
            _ => self.disclosing = true,
        }
    }

    /// A registered wallet's label by spend key.
    pub fn wallet_label(&self, key: &PublicKey) -> Option<&str> {
        self.wallets
            .iter()
            .find(|w| w.address.spend == *key)
            .map(|w| w.label.as_str())
    }

    fn list_len(&self, i: usize) -> usize {
        match i {
            0 => self.proposals_of(TxKind::Issue).len(),
            1 => self.proposals_of(TxKind::Redeem).len(),
            2 => self.blocks.len(),
            _ => self.wallets_by_tier().len(),
        }
    }

    fn list_index(&self) -> Option<usize> {
        match self.tab {
            Tab::Issuance => Some(0),
            Tab::Redemption => Some(1),
            Tab::Ledger => Some(2),
            Tab::Wallets => Some(3),
            Tab::Dashboard | Tab::Audit | Tab::Regulator | Tab::Governance => None,
        }
    }

    fn clamp_selection(&mut self) {
        for i in 0..4 {
            let len = self.list_len(i);
            self.sel[i] = self.sel[i].min(len.saturating_sub(1));
        }
    }

    fn send(&mut self, cmd: Command, busy: String) {
        match &self.commands {
            Some(tx) if tx.send(cmd).is_ok() => self.busy = Some(busy),
            Some(_) => self.notice = Some(Notice::err("the background tasks stopped")),
            None => self.busy = Some(busy),
        }
    }

    /// Applies an action.
    pub fn update(&mut self, action: Action) {
        match action {
            Action::Quit => self.quitting = true,
            Action::ToggleHelp => self.help = !self.help,
            Action::GoTab(t) => self.go(t),
            Action::NextTab => self.go(Tab::ALL[(self.tab.index() + 1) % Tab::ALL.len()]),
            Action::PrevTab => {
                self.go(Tab::ALL[(self.tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len()])
            }
            Action::Disclosed => {
                if self.can_disclose() {
                    self.refresh_disclosed();
                } else {
                    self.notice = Some(Notice::err(audit_view::regulator_unavailable(self)));
                }
            }
            Action::Up if self.tab == Tab::Governance => self.gov_move(false),
            Action::Down if self.tab == Tab::Governance => self.gov_move(true),
            Action::Up => {
                if let Some(i) = self.list_index() {
                    self.sel[i] = self.sel[i].saturating_sub(1);
                }
            }
            Action::Down => {
                if let Some(i) = self.list_index() {
                    self.sel[i] = (self.sel[i] + 1).min(self.list_len(i).saturating_sub(1));
                }
            }
            Action::CycleOperator => {
                if self.operators.len() > 1 {
                    self.op_pos = (self.op_pos + 1) % self.operators.len();
                    self.notice = self
                        .operator()
                        .map(|o| Notice::ok(format!("now acting as operator {o}")));
                } else {
                    self.notice = Some(Notice::err(
                        "only one operator key is loaded (the sandbox, or --data DIR, loads them all)",
                    ));
                }
            }
            Action::NewIssue(to) => {
                self.tab = Tab::Issuance;
                self.clear_forms();
                if let Some(to) = to {
                    self.issue_to.text = to;
                }
                self.mode = Mode::IssueForm { on_to: false };
            }
            Action::ShowProposal => {
                if let Some((p, _)) = self.selected_proposal() {
                    self.mode = Mode::ProposalDetail {
                        txid: p.txid,
                        confirm: false,
                    };
                } else {
                    self.notice = Some(Notice::err("no proposal selected"));
                }
            }
            Action::Approve => self.approve(),
            Action::ConfirmApprove => self.confirm_approve(),
            Action::Prompt(kind) => {
                if self.wallets.is_empty() {
                    self.notice = Some(Notice::err("no wallet is registered yet"));
                } else {
                    self.prompt.clear();
                    self.mode = Mode::WalletPrompt(kind);
                }
            }
            Action::RunAudit => {
                if !self.auditing {
                    self.start_audit(true);
                }
            }
            Action::CancelAudit => self.cancel_audit(),
            Action::Edit(op) => self.edit_field(op),
            Action::SwitchField => {
                if let Mode::IssueForm { on_to } = self.mode {
                    self.mode = Mode::IssueForm { on_to: !on_to };
                }
            }
            Action::Cancel => {
                self.mode = match self.mode {
                    // n at the confirmation goes back to the detail; Esc there closes it too.
                    Mode::ProposalDetail {
                        txid,
                        confirm: true,
                    } => Mode::ProposalDetail {
                        txid,
                        confirm: false,
                    },
                    Mode::WalletConfirm(kind) => Mode::WalletPrompt(kind),
                    Mode::Filter => {
                        self.filter.clear();
                        self.clamp_selection();
                        Mode::Normal
                    }
                    _ => {
                        self.clear_forms();
                        Mode::Normal
                    }
                }
            }
            Action::Submit => self.submit(),
            Action::Filter => self.mode = Mode::Filter,
            Action::Governance => self.refresh_governance(),
            Action::ApproveChange => self.approve_change(),
            Action::ConfirmChange => {
                if let Mode::ChangeConfirm { digest } = self.mode {
                    self.confirm_change(digest);
                }
            }
        }
    }

    fn go(&mut self, t: Tab) {
        self.tab = t;
        // The list is read when the tab is opened (and again on new blocks while it is shown).
        if t == Tab::Regulator && self.disclosed.is_none() {
            self.refresh_disclosed();
        }
        if t == Tab::Governance {
            self.refresh_governance();
        }
    }

    fn submit(&mut self) {
        match self.mode.clone() {
            Mode::IssueForm { on_to: false } => self.mode = Mode::IssueForm { on_to: true },
            Mode::IssueForm { on_to: true } => self.submit_issue(),
            Mode::WalletPrompt(kind) | Mode::WalletConfirm(kind) => self.submit_prompt(kind),
            Mode::Filter => self.mode = Mode::Normal,
            Mode::Normal | Mode::ProposalDetail { .. } | Mode::ChangeConfirm { .. } => {}
        }
    }

    fn submit_issue(&mut self) {
        let Some(params) = self.params.clone() else {
            self.notice = Some(Notice::err("not connected to the node yet"));
            return;
        };
        let amount = match Amount::parse(self.issue_amount.text.trim(), params.decimals) {
            Ok(a) if a > Amount::ZERO => a,
            Ok(_) => {
                self.notice = Some(Notice::err("the amount must be more than zero"));
                self.mode = Mode::IssueForm { on_to: false };
                return;
            }
            Err(e) => {
                self.notice = Some(Notice::err(format!("amount: {e}")));
                self.mode = Mode::IssueForm { on_to: false };
                return;
            }
        };
        let to: Address = match crate::ui::normalize_address(&self.issue_to.text).parse() {
            Ok(a) => a,
            Err(e) => {
                self.notice = Some(Notice::err(format!("destination {e}")));
                return;
            }
        };
        if to.network != params.network_id {
            self.notice = Some(Notice::err(format!(
                "destination is an address of network {}, not {}",
                to.network, params.network_id
            )));
            return;
        }
        let Some(op) = self.operator() else {
            self.notice = Some(Notice::err("no operator key is loaded"));
            return;
        };
        self.mode = Mode::Normal;
        self.sel[0] = 0;
        self.send(
            Command::Propose {
                operator: op,
                to,
                amount,
            },
            format!(
                "operator {op} proposing an issuance of {}",
                params.format(amount)
            ),
        );
        self.issue_amount.clear();
        self.issue_to.clear();
    }

    fn submit_prompt(&mut self, kind: WalletPromptKind) {
        let Some(w) = self
            .wallets_by_tier()
            .get(self.sel[3])
            .map(|w| (*w).clone())
        else {
            self.mode = Mode::Normal;
            return;
        };
        let Some(op) = self.operator() else {
            self.notice = Some(Notice::err("no operator key is loaded"));
            return;
        };
        let who = if w.label.is_empty() {
            crate::ui::short_address(&w.address.to_string(), 8)
        } else {
            w.label.clone()
        };
        let text = self.prompt.text.trim().to_string();
        let (cmd, busy) = match kind {
            WalletPromptKind::Freeze => {
                if text.is_empty() {
                    self.notice = Some(Notice::err("give a reason: it goes to the audit log"));
                    return;
                }
                (
                    Command::Freeze {
                        operator: op,
                        wallet: w.address.spend,
                        reason: text,
                        registry_version: w.registry_version,
                    },
                    format!("freezing {who}"),
                )
            }
            WalletPromptKind::Unfreeze => (
                Command::Unfreeze {
                    operator: op,
                    wallet: w.address.spend,
                    reason: text,
                    registry_version: w.registry_version,
                },
                format!("unfreezing {who}"),
            ),
            WalletPromptKind::SetTier => {
                let tiers = self.params.as_ref().map(|p| p.tiers.len()).unwrap_or(0);
                match text.parse::<u8>() {
                    Ok(t) if usize::from(t) < tiers => (
                        Command::SetTier {
                            operator: op,
                            wallet: w.address.spend,
                            tier: t,
                            registry_version: w.registry_version,
                        },
                        format!("setting {who} to tier {t}"),
                    ),
                    _ => {
                        self.notice = Some(Notice::err(format!(
                            "tier must be a number from 0 to {}",
                            tiers.saturating_sub(1)
                        )));
                        return;
                    }
                }
            }
        };
        if let Mode::WalletPrompt(kind) = self.mode {
            self.mode = Mode::WalletConfirm(kind);
            return;
        }
        self.mode = Mode::Normal;
        self.clear_forms();
        self.send(cmd, busy);
    }

    /// Applies a background report.
    pub fn apply(&mut self, msg: Msg) {
        match msg {
            Msg::Connected {
                params,
                operators,
                problems,
            } => {
                self.params = Some(*params);
                self.op_pos = self
                    .preferred_operator
                    .and_then(|p| operators.iter().position(|o| *o == p))
                    .unwrap_or(0);
                self.operators = operators;
                // A first audit on connecting, so the dashboard shows a result from the start.
                self.start_audit(false);
                if !problems.is_empty() {
                    self.notice = Some(Notice::err(problems.join("; ")));
                }
            }
            Msg::Polled(poll) => {
                let poll = *poll;
                // A node that answers but has halted is an alert, never "connected"; one that is
                // still checking its tables after a start is not yet "connected" either.
                self.conn = if poll.supply.halted {
                    Conn::Halted
                } else if poll.supply.checking_tables {
                    Conn::CheckingTables
                } else {
                    Conn::Connected
                };
                self.supply = Some(poll.supply);
                self.proposals = poll.proposals;
                self.wallets = poll.wallets;
                self.evidence = poll.evidence;
                self.blocks.extend(poll.new_blocks);
                while self.blocks.len() > MAX_BLOCKS {
                    self.blocks.pop_front();
                }
                self.now_ms = self.now_ms.max(poll.time_ms);
                self.rate = payment_rate(&self.blocks, self.now_ms, RATE_BUCKETS);
                self.clamp_selection();
                let stale = match &self.disclosed {
                    Some(Ok(d)) => self.supply.as_ref().is_some_and(|s| s.height > d.height),
                    _ => false,
                };
                if self.tab == Tab::Regulator && stale {
                    self.refresh_disclosed();
                }
            }
            Msg::PollFailed(e) => {
                self.conn = match &self.conn {
                    Conn::Reconnecting { attempts, .. } => Conn::Reconnecting {
                        error: e,
                        attempts: attempts + 1,
                    },
                    Conn::Error(x) => Conn::Error(x.clone()),
                    _ => Conn::Reconnecting {
                        error: e,
                        attempts: 1,
                    },
                }
            }
            Msg::Governance(r) => {
                self.busy = None;
                if let Ok(g) = r.as_ref() {
                    self.gov_sel = self.gov_sel.min(g.changes.len().saturating_sub(1));
                }
                self.governance = Some(*r);
            }
            Msg::Done(r) => {
                self.busy = None;
                // An approval changes the list: read it again while it is shown.
                if self.tab == Tab::Governance && r.is_ok() {
                    self.refresh_governance();
                }
                self.notice = Some(match r {
                    Ok(t) => Notice::ok(t),
                    Err(e) => Notice::err(e),
                });
            }
            Msg::Audited(r) => {
                self.auditing = false;
                self.busy = None;
                match *r {
                    Ok(a) => {
                        self.notice = Some(if a.pass() {
                            Notice::ok("audit passed")
                        } else {
                            Notice::err("audit FAILED: see the Audit tab")
                        });
                        self.audit = Some(a);
                    }
                    Err(e) if e.starts_with("cancelled") => {
                        self.notice = Some(Notice::ok(format!(
                            "audit {e}; the last result stays on screen"
                        )))
                    }
                    Err(e) => self.notice = Some(Notice::err(format!("audit: {e}"))),
                }
            }
            Msg::NodeStopped(e) => self.conn = Conn::Error(e),
            Msg::Disclosed(r) => {
                self.disclosing = false;
                self.disclosed = Some(*r);
            }
        }
    }
}

impl Screen for Console {
    type Msg = Msg;
    fn on_key(&mut self, key: KeyEvent) {
        if let Some(a) = self.key_action(key) {
            self.update(a);
        }
    }
    fn on_mouse(&mut self, mouse: MouseEvent) {
        self.mouse(mouse);
    }
    fn on_msg(&mut self, msg: Msg) {
        self.apply(msg);
    }
    fn on_tick(&mut self) {
        self.tick_at(dfc_client::now_ms());
    }
    fn draw(&self, frame: &mut Frame) {
        view::draw(frame, self);
    }
    fn quit(&self) -> bool {
        self.quitting
    }
}

#[cfg(test)]
mod newcomer_tests;
#[cfg(test)]
mod registry_tests;
#[cfg(test)]
mod tests;
