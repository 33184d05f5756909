//! The wallet app: state, actions and `update`. Rendering is in [`view`]; the wallet itself lives
//! on the [`worker`] thread.

pub mod view;
pub mod worker;

use dfc_core::{Address, Amount, NetworkParams};
use dfc_wallet::wallet::offline::AcceptReport;
use dfc_wallet::wallet::{Balance, HistoryLine, PaymentReport};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use tokio::sync::mpsc;

use crate::app::Screen;
use crate::textfield::EditKey;
use crate::ui::{Conn, Input, Notice, NoticeTimer};
use worker::{Handle, OfflineView, PacketOut, WalletCmd, WalletMsg};

/// Time between automatic syncs while idle.
pub const SYNC_EVERY_MS: u64 = 5000;
/// Longest memo, bytes (the wallet's limit).
pub const MAX_MEMO_BYTES: usize = 64;
/// Longest text the accept field takes: a packet's text form (base32 of at most
/// `MAX_PACKET_BYTES`, plus its prefix) or a path.
pub const MAX_ACCEPT_CHARS: usize = dfc_core::offline::MAX_PACKET_BYTES.div_ceil(5) * 8 + 16;

/// The wallet app's tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WTab {
    /// Balance, sync state, recent activity.
    Overview,
    /// The payment form and the last payment.
    Pay,
    /// The address as a QR code.
    Receive,
    /// Every transaction.
    History,
    /// The offline purse, offline pay and accept.
    Offline,
}

impl WTab {
    /// All tabs in order.
    pub const ALL: [WTab; 5] = [
        WTab::Overview,
        WTab::Pay,
        WTab::Receive,
        WTab::History,
        WTab::Offline,
    ];
    /// Title in the tab bar.
    pub fn title(self) -> &'static str {
        match self {
            WTab::Overview => "Overview",
            WTab::Pay => "Pay",
            WTab::Receive => "Receive",
            WTab::History => "History",
            WTab::Offline => "Offline",
        }
    }
    fn index(self) -> usize {
        WTab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// What a key asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WAction {
    /// Leave.
    Quit,
    /// Show or hide the help.
    ToggleHelp,
    /// Go to a tab.
    GoTab(WTab),
    /// Next tab.
    NextTab,
    /// Previous tab.
    PrevTab,
    /// Scroll up.
    Up,
    /// Scroll down.
    Down,
    /// Sync now.
    Sync,
    /// Open the payment form.
    StartPay,
    /// Edit the focused field (typing, readline keys).
    Edit(EditKey),
    /// Next field.
    NextField,
    /// Previous field.
    PrevField,
    /// Next field, or pay on the last one.
    Submit,
    /// Close the form.
    Cancel,
    /// Open an offline form (Offline tab).
    StartOffline(OfflineForm),
    /// Close the packet shown after an offline payment.
    ClosePacket,
}

/// The forms of the Offline tab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfflineForm {
    /// Pay from the purse: address, amount, memo.
    Pay,
    /// Accept a packet: a path or the pasted text.
    Accept,
    /// Fund the purse: amount.
    Fund,
}

impl OfflineForm {
    /// Fields in the form.
    pub fn fields(self) -> usize {
        match self {
            OfflineForm::Pay => 3,
            OfflineForm::Accept | OfflineForm::Fund => 1,
        }
    }
}

/// The Offline tab's state.
#[derive(Clone, Debug, Default)]
pub struct OfflineTab {
    /// Purse and packets from the wallet thread.
    pub view: OfflineView,
    /// The open form and its focused field.
    pub form: Option<(OfflineForm, usize)>,
    /// Offline pay fields: address, amount, memo.
    pub pay: [Input; 3],
    /// Accept field: a path or the text form.
    pub accept: Input,
    /// Fund field: amount.
    pub fund: Input,
    /// The last packet made here, shown until closed.
    pub packet: Option<PacketOut>,
    /// Whether [`Self::packet`] is on screen.
    pub showing_packet: bool,
    /// The last accept: the report or the refusal.
    pub accepted: Option<Result<AcceptReport, String>>,
    /// What is running (an offline payment, an accept, a funding).
    pub busy: Option<String>,
    /// Packet list scroll position.
    pub scroll: usize,
    /// First row of the packet's text form shown when it does not fit the screen whole.
    pub packet_scroll: usize,
}

/// The wallet app's state.
pub struct WalletApp {
    /// Current tab.
    pub tab: WTab,
    /// Help overlay shown.
    pub help: bool,
    /// Focused field of the payment form (0 address, 1 amount, 2 memo), if editing.
    pub editing: Option<usize>,
    /// Connection to the node, as the last sync found it.
    pub conn: Conn,
    /// Wallet directory, for the status bar.
    pub dir: String,
    /// Node URL given on the command line.
    pub bank: Option<String>,
    /// The wallet's address.
    pub address: String,
    /// Pinned parameters.
    pub params: NetworkParams,
    /// Balance from the local database.
    pub balance: Option<Balance>,
    /// History, oldest first.
    pub history: Vec<HistoryLine>,
    /// A sync is running.
    pub syncing: bool,
    /// When the last sync succeeded, ms since the epoch.
    pub last_sync_ms: Option<u64>,
    /// Payment form fields: address, amount, memo.
    pub pay: [Input; 3],
    /// The last payment made here.
    pub last_payment: Option<PaymentReport>,
    /// A payment is running.
    pub paying: bool,
    /// History scroll position (rows from the newest).
    pub scroll: usize,
    /// Result of the last action.
    pub notice: Option<Notice>,
    /// Clears [`Self::notice`] after a few seconds.
    pub notice_timer: NoticeTimer,
    /// Clock, ms since the epoch.
    pub now_ms: u64,
    /// When the last sync was asked for.
    pub last_sync_request_ms: u64,
    /// Asked to quit.
    pub quitting: bool,
    /// The Offline tab.
    pub offline: OfflineTab,
    commands: Option<mpsc::UnboundedSender<WalletCmd>>,
}

impl WalletApp {
    /// The app over an opened wallet.
    pub fn new(h: &Handle) -> Self {
        let mut app = Self::offline(
            &h.dir.display().to_string(),
            h.bank.clone(),
            &h.address,
            h.params.clone(),
        );
        app.commands = Some(h.commands.clone());
        app
    }

    /// The app with no worker (tests).
    pub fn offline(dir: &str, bank: Option<String>, address: &str, params: NetworkParams) -> Self {
        WalletApp {
            tab: WTab::Overview,
            help: false,
            editing: None,
            conn: Conn::Connecting,
            dir: dir.to_string(),
            bank,
            address: address.to_string(),
            params,
            balance: None,
            history: Vec::new(),
            syncing: false,
            last_sync_ms: None,
            pay: Default::default(),
            last_payment: None,
            paying: false,
            scroll: 0,
            notice: None,
            notice_timer: NoticeTimer::default(),
            now_ms: 0,
            last_sync_request_ms: 0,
            quitting: false,
            offline: OfflineTab::default(),
            commands: None,
        }
    }

    fn send(&mut self, cmd: WalletCmd) -> bool {
        match &self.commands {
            Some(tx) if tx.send(cmd).is_ok() => true,
            Some(_) => {
                self.notice = Some(Notice::err("the wallet thread stopped"));
                false
            }
            None => true,
        }
    }

    /// The action a key asks for.
    pub fn key_action(&self, key: KeyEvent) -> Option<WAction> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Some(WAction::Quit);
        }
        if self.help {
            return Some(WAction::ToggleHelp);
        }
        if self.editing.is_some() || self.offline.form.is_some() {
            return match key.code {
                KeyCode::Esc => Some(WAction::Cancel),
                KeyCode::Enter => Some(WAction::Submit),
                KeyCode::Tab | KeyCode::Down => Some(WAction::NextField),
                KeyCode::BackTab | KeyCode::Up => Some(WAction::PrevField),
                _ => EditKey::from_key(key).map(WAction::Edit),
            };
        }
        if self.tab == WTab::Offline {
            let a = match key.code {
                KeyCode::Esc | KeyCode::Enter if self.offline.showing_packet => {
                    Some(WAction::ClosePacket)
                }
                KeyCode::Char('p') => Some(WAction::StartOffline(OfflineForm::Pay)),
                KeyCode::Char('a') => Some(WAction::StartOffline(OfflineForm::Accept)),
                KeyCode::Char('f') => Some(WAction::StartOffline(OfflineForm::Fund)),
                _ => None,
            };
            if a.is_some() {
                return a;
            }
        }
        match key.code {
            KeyCode::Char(c @ '1'..='5') => {
                let i = usize::from(u8::try_from(c).unwrap_or(b'1') - b'1');
                WTab::ALL.get(i).copied().map(WAction::GoTab)
            }
            KeyCode::Char('q') => Some(WAction::Quit),
            KeyCode::Char('?') => Some(WAction::ToggleHelp),
            KeyCode::Tab | KeyCode::Right => Some(WAction::NextTab),
            KeyCode::BackTab | KeyCode::Left => Some(WAction::PrevTab),
            KeyCode::Up | KeyCode::Char('k') => Some(WAction::Up),
            KeyCode::Down | KeyCode::Char('j') => Some(WAction::Down),
            KeyCode::Char('s') => Some(WAction::Sync),
            KeyCode::Char('p') => Some(WAction::StartPay),
            KeyCode::Enter if self.tab == WTab::Pay => Some(WAction::StartPay),
            _ => None,
        }
    }

    /// Applies an action.
    pub fn update(&mut self, a: WAction) {
        match a {
            WAction::Quit => self.quitting = true,
            WAction::ToggleHelp => self.help = !self.help,
            WAction::GoTab(t) => self.tab = t,
            WAction::NextTab => self.tab = WTab::ALL[(self.tab.index() + 1) % WTab::ALL.len()],
            WAction::PrevTab => {
                self.tab = WTab::ALL[(self.tab.index() + WTab::ALL.len() - 1) % WTab::ALL.len()]
            }
            WAction::Up if self.tab == WTab::Offline && self.offline.showing_packet => {
                self.offline.packet_scroll = self.offline.packet_scroll.saturating_sub(1)
            }
            WAction::Down if self.tab == WTab::Offline && self.offline.showing_packet => {
                // Clamped when drawn, where the text's rows at this width are known.
                self.offline.packet_scroll = self.offline.packet_scroll.saturating_add(1)
            }
            WAction::Up if self.tab == WTab::Offline => {
                self.offline.scroll = self.offline.scroll.saturating_sub(1)
            }
            WAction::Down if self.tab == WTab::Offline => {
                self.offline.scroll =
                    (self.offline.scroll + 1).min(self.offline.view.packets.len().saturating_sub(1))
            }
            WAction::Up => self.scroll = self.scroll.saturating_sub(1),
            WAction::Down => {
                self.scroll = (self.scroll + 1).min(self.history.len().saturating_sub(1))
            }
            WAction::StartOffline(f) => {
                self.tab = WTab::Offline;
                self.offline.showing_packet = false;
                self.offline.form = Some((f, 0));
            }
            WAction::ClosePacket => self.offline.showing_packet = false,
            WAction::Sync => self.sync_now(),
            WAction::StartPay => {
                self.tab = WTab::Pay;
                self.editing = Some(0);
            }
            WAction::Edit(op) => {
                let max = match self.offline.form {
                    Some((OfflineForm::Accept, _)) => MAX_ACCEPT_CHARS,
                    _ => crate::ui::MAX_INPUT_CHARS,
                };
                if let Some(f) = self.offline_field() {
                    f.edit(op, max);
                } else if let Some(i) = self.editing {
                    if let Some(f) = self.pay.get_mut(i) {
                        f.edit(op, max);
                    }
                }
            }
            WAction::NextField | WAction::PrevField if self.offline.form.is_some() => {
                if let Some((f, i)) = self.offline.form {
                    let n = f.fields();
                    let next = if a == WAction::NextField {
                        (i + 1) % n
                    } else {
                        (i + n - 1) % n
                    };
                    self.offline.form = Some((f, next));
                }
            }
            WAction::NextField => self.editing = self.editing.map(|i| (i + 1) % 3),
            WAction::PrevField => self.editing = self.editing.map(|i| (i + 2) % 3),
            // A closed form starts empty when reopened, instead of appending to the old text.
            WAction::Cancel if self.offline.form.is_some() => {
                self.offline.form = None;
                self.offline.pay.iter_mut().for_each(Input::clear);
                self.offline.accept.clear();
                self.offline.fund.clear();
            }
            WAction::Cancel => {
                self.editing = None;
                self.pay.iter_mut().for_each(Input::clear);
            }
            WAction::Submit if self.offline.form.is_some() => {
                if let Some((f, i)) = self.offline.form {
                    if i + 1 < f.fields() {
                        self.offline.form = Some((f, i + 1));
                    } else {
                        self.submit_offline(f);
                    }
                }
            }
            WAction::Submit => match self.editing {
                Some(i) if i < 2 => self.editing = Some(i + 1),
                Some(_) => self.submit_pay(),
                None => {}
            },
        }
    }

    fn offline_field(&mut self) -> Option<&mut Input> {
        let (f, i) = self.offline.form?;
        match f {
            OfflineForm::Pay => self.offline.pay.get_mut(i),
            OfflineForm::Accept => Some(&mut self.offline.accept),
            OfflineForm::Fund => Some(&mut self.offline.fund),
        }
    }

    /// Checks an amount as typed; on failure sets the notice and returns `None`.
    fn check_amount(&mut self, text: &str) -> Option<String> {
        let t = text.trim().to_string();
        match Amount::parse(&t, self.params.decimals) {
            Ok(a) if a > Amount::ZERO => Some(t),
            Ok(_) => {
                self.notice = Some(Notice::err("the amount must be more than zero"));
                None
            }
            Err(e) => {
                self.notice = Some(Notice::err(format!("amount: {e}")));
                None
            }
        }
    }

    fn submit_offline(&mut self, form: OfflineForm) {
        if let Some(b) = &self.offline.busy {
            self.notice = Some(Notice::err(format!("wait: {b}")));
            return;
        }
        let (cmd, busy) = match form {
            OfflineForm::Pay => {
                let to = crate::ui::normalize_address(&self.offline.pay[0].text);
                match to.parse::<Address>() {
                    Ok(a) if a.network == self.params.network_id => {}
                    Ok(a) => {
                        self.notice = Some(Notice::err(format!(
                            "that address is for network {}, this wallet is on {}",
                            a.network, self.params.network_id
                        )));
                        self.offline.form = Some((form, 0));
                        return;
                    }
                    Err(e) => {
                        self.notice = Some(Notice::err(e.to_string()));
                        self.offline.form = Some((form, 0));
                        return;
                    }
                }
                let amount_text = self.offline.pay[1].text.clone();
                let Some(amount) = self.check_amount(&amount_text) else {
                    self.offline.form = Some((form, 1));
                    return;
                };
                let memo = self.offline.pay[2].text.clone();
                if memo.len() > MAX_MEMO_BYTES {
                    self.notice = Some(Notice::err(format!(
                        "the memo is {} bytes; at most {MAX_MEMO_BYTES}",
                        memo.len()
                    )));
                    return;
                }
                let busy = format!(
                    "paying {amount} {} offline: building the packet (no network)",
                    self.params.currency
                );
                (WalletCmd::OfflinePay { to, amount, memo }, busy)
            }
            OfflineForm::Accept => (
                WalletCmd::OfflineAccept {
                    source: self.offline.accept.text.trim().to_string(),
                },
                "checking the packet (no network)".to_string(),
            ),
            OfflineForm::Fund => {
                let amount_text = self.offline.fund.text.clone();
                let Some(amount) = self.check_amount(&amount_text) else {
                    return;
                };
                let busy = format!(
                    "moving {amount} {} into the offline purse: certificate, payment, proofs",
                    self.params.currency
                );
                (WalletCmd::OfflineFund { amount }, busy)
            }
        };
        if self.send(cmd) {
            self.offline.busy = Some(busy);
            self.offline.form = None;
            self.notice = None;
        }
    }

    fn sync_now(&mut self) {
        if self.syncing || self.paying {
            return;
        }
        if self.send(WalletCmd::Sync) {
            self.syncing = true;
            self.last_sync_request_ms = self.now_ms;
        }
    }

    fn submit_pay(&mut self) {
        if self.paying {
            self.notice = Some(Notice::err("a payment is already running"));
            return;
        }
        let to_text = crate::ui::normalize_address(&self.pay[0].text);
        let to: Address = match to_text.parse() {
            Ok(a) => a,
            Err(e) => {
                self.notice = Some(Notice::err(e.to_string()));
                self.editing = Some(0);
                return;
            }
        };
        if to.network != self.params.network_id {
            self.notice = Some(Notice::err(format!(
                "that address is for network {}, this wallet is on {}",
                to.network, self.params.network_id
            )));
            self.editing = Some(0);
            return;
        }
        let amount_text = self.pay[1].text.trim().to_string();
        match Amount::parse(&amount_text, self.params.decimals) {
            Ok(a) if a > Amount::ZERO => {}
            Ok(_) => {
                self.notice = Some(Notice::err("the amount must be more than zero"));
                self.editing = Some(1);
                return;
            }
            Err(e) => {
                self.notice = Some(Notice::err(format!("amount: {e}")));
                self.editing = Some(1);
                return;
            }
        }
        let memo = self.pay[2].text.clone();
        if memo.len() > MAX_MEMO_BYTES {
            self.notice = Some(Notice::err(format!(
                "the memo is {} bytes; at most {MAX_MEMO_BYTES}",
                memo.len()
            )));
            return;
        }
        if self.send(WalletCmd::Pay {
            to: to_text,
            amount: amount_text,
            memo,
        }) {
            self.paying = true;
            self.editing = None;
            self.notice = None;
        }
    }

    /// What is running, for the notice line.
    pub fn busy(&self) -> Option<String> {
        if let Some(b) = &self.offline.busy {
            return Some(b.clone());
        }
        if self.paying {
            Some(format!(
                "paying {} {}: building the proofs, then waiting for the bank's receipt",
                self.pay[1].text.trim(),
                self.params.currency
            ))
        } else {
            None
        }
    }

    /// Applies a report of the wallet thread.
    pub fn apply(&mut self, msg: WalletMsg) {
        match msg {
            WalletMsg::Local { balance, history } => {
                self.balance = Some(*balance);
                self.history = history;
                self.scroll = self.scroll.min(self.history.len().saturating_sub(1));
            }
            WalletMsg::Synced(r) => {
                self.syncing = false;
                match r {
                    Ok(report) => {
                        self.conn = Conn::Connected;
                        self.last_sync_ms = Some(self.now_ms);
                        if report.notes_received > 0 {
                            self.notice = Some(Notice::ok(format!(
                                "received {} note{}",
                                report.notes_received,
                                if report.notes_received == 1 { "" } else { "s" }
                            )));
                        }
                    }
                    Err(e) => {
                        let attempts = match &self.conn {
                            Conn::Reconnecting { attempts, .. } => attempts + 1,
                            _ => 1,
                        };
                        self.conn = Conn::Reconnecting { error: e, attempts };
                    }
                }
            }
            WalletMsg::Paid(r) => {
                self.paying = false;
                match *r {
                    Ok(p) => {
                        self.conn = Conn::Connected;
                        self.notice = Some(Notice::ok(format!(
                            "paid {} ({}), transaction {}",
                            p.amount,
                            p.state,
                            crate::ui::short(&p.txid, 12)
                        )));
                        for f in &mut self.pay {
                            f.clear();
                        }
                        self.last_payment = Some(p);
                    }
                    Err(e) => {
                        self.notice = Some(Notice::err(format!("payment refused: {e}")));
                        self.reopen(None);
                    }
                }
            }
            WalletMsg::Offline(v) => {
                self.offline.view = *v;
                self.offline.scroll = self
                    .offline
                    .scroll
                    .min(self.offline.view.packets.len().saturating_sub(1));
            }
            WalletMsg::OfflinePaid(r) => {
                self.offline.busy = None;
                match *r {
                    Ok(p) => {
                        self.notice = Some(match &p.file {
                            Ok(path) => Notice::ok(format!(
                                "paid {} offline (purse counter {}); packet written to {}",
                                p.payment.amount,
                                p.payment.counter,
                                path.display()
                            )),
                            Err(e) => Notice::err(format!(
                                "paid {} offline, but the packet file failed ({e}): give the payee the text form",
                                p.payment.amount
                            )),
                        });
                        for f in &mut self.offline.pay {
                            f.clear();
                        }
                        self.offline.packet = Some(p);
                        self.offline.showing_packet = true;
                        self.offline.packet_scroll = 0;
                    }
                    Err(e) => {
                        self.notice = Some(Notice::err(format!("offline payment refused: {e}")));
                        self.reopen(Some(OfflineForm::Pay));
                    }
                }
            }
            WalletMsg::OfflineAccepted(r) => {
                self.offline.busy = None;
                self.notice = Some(match &*r {
                    Ok(a) => {
                        self.offline.accept.clear();
                        Notice::ok(format!("accepted {} (unsettled until a sync)", a.amount))
                    }
                    Err(e) => Notice::err(format!("packet refused: {e}")),
                });
                if r.is_err() {
                    self.reopen(Some(OfflineForm::Accept));
                }
                self.offline.accepted = Some(*r);
            }
            WalletMsg::Funded(r) => {
                self.offline.busy = None;
                match *r {
                    Ok(f) => {
                        self.conn = Conn::Connected;
                        self.offline.fund.clear();
                        self.notice = Some(Notice::ok(format!(
                            "moved {} into the purse: {} notes usable offline, certificate {} (cap {})",
                            f.amount, f.notes, f.serial, f.cap
                        )));
                    }
                    Err(e) => {
                        self.notice = Some(Notice::err(format!("funding failed: {e}")));
                        self.reopen(Some(OfflineForm::Fund));
                    }
                }
            }
            WalletMsg::Failed(e) => self.notice = Some(Notice::err(e)),
        }
    }
}

impl WalletApp {
    /// Reopens a refused form (`None`: the payment form) with what was typed, for correction in
    /// place, unless another form is open now. A form the user closes is emptied instead
    /// ([`WAction::Cancel`]), so what was typed is never silently kept for a later, different use.
    fn reopen(&mut self, form: Option<OfflineForm>) {
        if self.editing.is_some() || self.offline.form.is_some() {
            return;
        }
        match form {
            None => self.editing = Some(0),
            Some(f) => self.offline.form = Some((f, 0)),
        }
    }
}

impl Screen for WalletApp {
    type Msg = WalletMsg;
    fn on_key(&mut self, key: KeyEvent) {
        if let Some(a) = self.key_action(key) {
            self.update(a);
        }
    }
    fn on_msg(&mut self, msg: WalletMsg) {
        self.apply(msg);
    }
    fn on_tick(&mut self) {
        self.now_ms = dfc_client::now_ms();
        self.notice_timer.expire(&mut self.notice, self.now_ms);
        if self.now_ms.saturating_sub(self.last_sync_request_ms) >= SYNC_EVERY_MS {
            self.sync_now();
        }
    }
    fn draw(&self, frame: &mut Frame) {
        view::draw(frame, self);
    }
    fn quit(&self) -> bool {
        self.quitting
    }
}

#[cfg(test)]
mod tests;
