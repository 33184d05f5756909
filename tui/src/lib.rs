//! Terminal apps of dfc: the operator console and the wallet app.
