//! The `?` help of each screen: the keys that act on the screen shown, then the keys that work
//! everywhere, so an operator is not left to find the few that matter in one long list.

use crate::console::Tab;
use crate::wallet::WTab;

/// A key and what it does.
pub type KeyHelp = (&'static str, &'static str);

/// Editing keys of every text field (see [`crate::textfield`]).
pub const FIELD_KEYS: &[KeyHelp] = &[
    ("← → Home End", "move in the field"),
    ("Ctrl-A / Ctrl-E", "start / end of the field"),
    ("Ctrl-U / Ctrl-K", "delete to the start / to the end"),
    ("Ctrl-W", "delete the word before the cursor"),
    ("Esc", "close the form (it empties)"),
];

const CONSOLE_COMMON: &[KeyHelp] = &[
    ("1-7, Tab, ← →", "switch tab"),
    ("o", "act as the next loaded operator"),
    ("?", "this help"),
    ("q, Ctrl-C", "quit"),
];

/// The console's keys on `tab`, the tab's own first.
pub fn console(tab: Tab) -> Vec<KeyHelp> {
    let own: &[KeyHelp] = match tab {
        Tab::Dashboard => &[
            ("r", "run the audit again"),
            ("x", "cancel the running audit"),
        ],
        Tab::Issuance => &[
            ("↑ ↓, j k", "select a proposal"),
            ("n", "new issuance: amount (e.g. 1,000.00), then address"),
            ("Enter", "show the selected proposal's outputs"),
            ("a", "approve the selected proposal (asks y/n)"),
            ("Enter (form)", "next field, then propose"),
        ],
        Tab::Redemption => &[
            ("↑ ↓, j k", "select a redemption"),
            ("Enter", "show its outputs"),
            ("a", "approve the selected redemption (asks y/n)"),
        ],
        Tab::Ledger => &[("↑ ↓, j k", "select a block")],
        Tab::Wallets => &[
            ("↑ ↓, j k", "select a wallet"),
            ("f", "freeze it (reason, then y/n)"),
            ("u", "unfreeze it (reason, then y/n)"),
            ("t", "change its tier (tier number, then y/n)"),
            ("i", "issue to it"),
            ("/", "filter by label or address (Enter keeps, Esc clears)"),
            ("mouse", "click a wallet to select it; wheel scrolls"),
        ],
        Tab::Audit => &[
            ("r", "run the audit and the assessment again"),
            ("x", "cancel the running audit"),
        ],
        Tab::Regulator => &[("r", "read the disclosed payments again")],
        Tab::Governance => &[
            ("↑ ↓, j k", "select a proposed change (its diff is shown)"),
            ("a", "approve it as the current operator (asks y/n)"),
            ("o", "act as the next loaded operator"),
            ("r", "read the changes and the history again"),
        ],
    };
    let mut keys = own.to_vec();
    if matches!(tab, Tab::Issuance | Tab::Wallets) {
        keys.extend_from_slice(FIELD_KEYS);
    }
    keys.extend_from_slice(CONSOLE_COMMON);
    keys
}

const WALLET_COMMON: &[KeyHelp] = &[
    ("1-5, Tab, ← →", "switch tab"),
    ("s", "sync now (also every 5 s)"),
    ("?", "this help"),
    ("q, Ctrl-C", "quit"),
];

/// The wallet app's keys on `tab`, the tab's own first.
pub fn wallet(tab: WTab) -> Vec<KeyHelp> {
    let own: &[KeyHelp] = match tab {
        WTab::Overview => &[("p", "pay")],
        WTab::Pay => &[
            ("p, Enter", "open the payment form"),
            ("Enter (form)", "next field, then pay"),
            ("Tab, ↑ ↓", "move between fields"),
        ],
        WTab::Receive => &[],
        WTab::History => &[("↑ ↓, j k", "scroll the history")],
        WTab::Offline => &[
            ("p", "pay offline (makes a packet)"),
            ("a", "accept a packet (file path or text)"),
            ("f", "fund the offline purse"),
            ("↑ ↓, j k", "scroll the packets, or a shown packet's text"),
        ],
    };
    let mut keys = own.to_vec();
    if matches!(tab, WTab::Pay | WTab::Offline) {
        keys.extend_from_slice(FIELD_KEYS);
    }
    keys.extend_from_slice(WALLET_COMMON);
    keys
}
