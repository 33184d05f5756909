//! Snapshot tests of the wallet screens.
