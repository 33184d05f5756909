//! Where a ledger lives: a SQLite file (the embedded default) or a PostgreSQL database shared by
//! many nodes, told apart by the `--store` argument's form.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A ledger's location, as `--store` names it.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (`postgres://…` or `postgresql://…`).
    Postgres(String),
}

impl FromStr for StoreLocation {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(StoreLocation::Postgres(s.to_string()))
        } else {
            Ok(StoreLocation::Sqlite(PathBuf::from(s)))
        }
    }
}

/// Shows a PostgreSQL location without its password, so logs and errors never carry it.
impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            StoreLocation::Postgres(url) => write!(f, "{}", redact(url)),
        }
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// `postgres://user:secret@host/db` shown as `postgres://user:***@host/db`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((auth, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms_and_hides_the_password() {
        let pg: StoreLocation = "postgres://dfc:s3cret@127.0.0.1:5432/ledger"
            .parse()
            .expect("infallible");
        assert!(matches!(pg, StoreLocation::Postgres(_)));
        let shown = pg.to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert_eq!(shown, "postgres://dfc:***@127.0.0.1:5432/ledger");
        let file: StoreLocation = "data/ledger.sqlite".parse().expect("infallible");
        assert_eq!(
            file,
            StoreLocation::Sqlite(PathBuf::from("data/ledger.sqlite"))
        );
        let alt: StoreLocation = "postgresql://h/db".parse().expect("infallible");
        assert!(matches!(alt, StoreLocation::Postgres(_)));
    }
}
