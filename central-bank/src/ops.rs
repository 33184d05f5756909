//! Signed operator requests: the signing lives in [`dfc_client::operator`] (one implementation
//! for the CLI, the console, the simulator and the tests); the node checks them in
//! [`crate::server`] and orders them in [`crate::opseq`].

pub use dfc_client::operator::{next_sequence, Operator};
