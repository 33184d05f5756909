//! Terminal apps of dfc.

fn main() {}
