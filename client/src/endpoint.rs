//! Where a node is, found from its data directory: `dfc-bank serve` and the console's sandbox
//! write the URL they serve on to `DIR/node-url`, so `dfc-bank --data DIR`, `dfc-wallet
//! --sandbox DIR` and `dfc-tui wallet --sandbox DIR` reach the node without being told its port.

use std::path::{Path, PathBuf};

/// The file in a data directory that holds the node's URL (one line).
pub const NODE_URL_FILE: &str = "node-url";
/// The sandbox directory `dfc-tui console --sandbox` uses when given no `--data`.
pub const DEFAULT_SANDBOX_DIR: &str = "sandbox";

/// Why a node's URL could not be found from its directory.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// No URL file: the node has never been served from this directory.
    #[error("no node URL in {path}: start the node first (`dfc-tui console --sandbox --data DIR` or `dfc-bank serve --data DIR`), or give --bank URL")]
    Missing {
        /// The file looked for.
        path: PathBuf,
    },
    /// The file could not be read or does not hold a URL.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The path of the URL file in `dir`.
pub fn node_url_path(dir: &Path) -> PathBuf {
    dir.join(NODE_URL_FILE)
}

/// The URL of the node last served from `dir`.
pub fn read_node_url(dir: &Path) -> Result<String, EndpointError> {
    let path = node_url_path(dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(EndpointError::Missing { path })
        }
        Err(e) => {
            return Err(EndpointError::Invalid {
                path,
                reason: e.to_string(),
            })
        }
    };
    let url = text.trim();
    if url.is_empty() || url.contains(char::is_whitespace) || !url.contains("://") {
        return Err(EndpointError::Invalid {
            path,
            reason: format!("not a URL: {:?}", url.chars().take(80).collect::<String>()),
        });
    }
    Ok(url.to_string())
}

/// Records `url` as the node's in `dir` (written to a temporary file, then renamed, so a reader
/// never sees half a URL).
pub fn write_node_url(dir: &Path, url: &str) -> std::io::Result<()> {
    let path = node_url_path(dir);
    let tmp = dir.join(format!("{NODE_URL_FILE}.tmp"));
    std::fs::write(&tmp, format!("{url}\n"))?;
    std::fs::rename(&tmp, &path)
}

/// The host and port of `url` (`http://127.0.0.1:40123` → `127.0.0.1:40123`), to listen on it
/// again.
pub fn listen_address_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let addr = rest.split('/').next()?;
    (!addr.is_empty()).then_some(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_file_round_trip_and_refusals() {
        let dir = std::env::temp_dir().join(format!("dfc-endpoint-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        assert!(matches!(
            read_node_url(&dir),
            Err(EndpointError::Missing { .. })
        ));
        write_node_url(&dir, "http://127.0.0.1:40123").expect("write");
        assert_eq!(read_node_url(&dir).expect("read"), "http://127.0.0.1:40123");
        std::fs::write(node_url_path(&dir), "garbage\n").expect("write");
        assert!(matches!(
            read_node_url(&dir),
            Err(EndpointError::Invalid { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            listen_address_of("http://127.0.0.1:40123/"),
            Some("127.0.0.1:40123")
        );
        assert_eq!(listen_address_of("https://[::1]:7400"), Some("[::1]:7400"));
    }
}
