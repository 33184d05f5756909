//! A throw-away PostgreSQL cluster for the tests: `initdb` and `pg_ctl` in a temporary directory,
//! listening on a free loopback port and on a unix socket in that directory, stopped
//! (`pg_ctl stop -m immediate`) and removed on drop; [`PgCluster::standby`] adds a streaming
//! standby of it (`pg_basebackup`), which [`PgCluster::promote`] turns into a primary.
//!
//! PostgreSQL refuses to run as root: when the tests run as root, the cluster runs as `nobody`
//! (`setpriv`), its directory handed to that user. The binaries are found in `$DFC_PG_BIN`, else
//! in the newest `/usr/lib/postgresql/*/bin` (Debian's layout), else on `PATH`. When PostgreSQL is
//! not installed the test fails, saying how to install it (`.ci/run` installs it when missing).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running throw-away cluster; a superuser `dfc` connects without a password (trust, loopback
/// and the private socket only).
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// `Some(user)` when the cluster runs as another user than the tests.
    run_as: Option<String>,
}

const NOT_INSTALLED: &str = "PostgreSQL is not installed: these tests need its server binaries \
     (initdb, pg_ctl, pg_basebackup, psql). Install it (Debian: `apt-get install postgresql`; \
     .ci/run does this when it is missing) or point DFC_PG_BIN at the directory holding them.";

fn postgres_bin_dir() -> PathBuf {
    find_bin_dir(std::env::var_os("DFC_PG_BIN").map(PathBuf::from))
}

/// The directory of the server binaries: `chosen` if given (and then it must hold them), else the
/// newest `/usr/lib/postgresql/*/bin`, else `PATH`. Panics with [`NOT_INSTALLED`] when none does.
fn find_bin_dir(chosen: Option<PathBuf>) -> PathBuf {
    let has_tools = |dir: &Path| dir.join("initdb").exists() && dir.join("pg_ctl").exists();
    if let Some(dir) = chosen {
        assert!(
            has_tools(&dir),
            "{NOT_INSTALLED} ({} has no initdb)",
            dir.display()
        );
        return dir;
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return bin;
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_tools(&dir) {
                return dir;
            }
        }
    }
    panic!("{NOT_INSTALLED}");
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn id_of(flag: &str, user: &str) -> u32 {
    let out = Command::new("id")
        .args([flag, user])
        .output()
        .expect("id runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no user {user} to run PostgreSQL as"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn check(what: &str, out: Output) {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PgCluster {
    /// Creates and starts a cluster; panics (failing the test) if PostgreSQL is not installed or
    /// does not start.
    pub fn start() -> PgCluster {
        let cluster = PgCluster::empty();
        let data = cluster.data_dir();
        check(
            "initdb",
            cluster
                .command("initdb")
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    "dfc",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                ])
                .output()
                .expect("initdb runs"),
        );
        cluster.launch()
    }

    /// A streaming standby of this cluster (`pg_basebackup -R`), connecting as
    /// `application_name = name`, so that the primary can name it in `synchronous_standby_names`.
    pub fn standby(&self, name: &str) -> PgCluster {
        let standby = PgCluster::empty();
        let data = standby.data_dir();
        check(
            "pg_basebackup",
            standby
                .command("pg_basebackup")
                .args([
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "dfc",
                    "-X",
                    "stream",
                    "-R",
                    "-c",
                    "fast",
                    "-D",
                ])
                .arg(&data)
                .arg("-p")
                .arg(self.port.to_string())
                .output()
                .expect("pg_basebackup runs"),
        );
        // A later line wins: name the standby in its connection to the primary.
        let auto = data.join("postgresql.auto.conf");
        let mut conf = std::fs::read_to_string(&auto).expect("postgresql.auto.conf");
        conf.push_str(&format!(
            "primary_conninfo = 'host=127.0.0.1 port={} user=dfc application_name={name}'\n",
            self.port
        ));
        std::fs::write(&auto, conf).expect("write postgresql.auto.conf");
        standby.launch()
    }

    /// Promotes a standby to a primary (waits until it accepts writes).
    pub fn promote(&self) {
        check(
            "pg_ctl promote",
            self.command("pg_ctl")
                .arg("-D")
                .arg(self.data_dir())
                .args(["-w", "-t", "60", "promote"])
                .output()
                .expect("pg_ctl runs"),
        );
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate`).
    pub fn stop_now(&self) {
        check(
            "pg_ctl stop",
            self.command("pg_ctl")
                .arg("-D")
                .arg(self.data_dir())
                .args(["-m", "immediate", "-w", "stop"])
                .output()
                .expect("pg_ctl runs"),
        );
    }

    /// A fresh directory for a cluster, owned by the user the cluster will run as.
    fn empty() -> PgCluster {
        let bin = postgres_bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("dfc-pg-")
            .tempdir_in(std::env::temp_dir())
            .expect("tempdir");
        let run_as = is_root().then(|| "nobody".to_string());
        if let Some(user) = &run_as {
            let (uid, gid) = (id_of("-u", user), id_of("-g", user));
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .expect("chown the cluster dir");
        }
        PgCluster {
            dir,
            bin,
            port: 0,
            run_as,
        }
    }

    /// Starts the server of the data directory on a free loopback port.
    fn launch(mut self) -> PgCluster {
        let data = self.data_dir();
        // A port found free may be taken before the server binds it: try a few.
        let mut last = None;
        for _ in 0..5 {
            let port = free_port();
            let out = self
                .command("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(self.dir.path().join("server.log"))
                .args(["-w", "-t", "60", "-o"])
                .arg(format!(
                    "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=60 \
                     -c shared_buffers=16MB",
                    self.dir.path().display()
                ))
                .arg("start")
                .output()
                .expect("pg_ctl runs");
            if out.status.success() {
                self.port = port;
                return self;
            }
            last = Some(out);
        }
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        panic!("PostgreSQL did not start: {last:?}\n{log}");
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={user}"))
                    .arg(format!("--regid={}", id_of("-g", user)))
                    .arg("--clear-groups")
                    .arg(exe)
                    .current_dir(self.dir.path());
                c
            }
            None => Command::new(exe),
        }
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory of the cluster's unix socket.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A connection string to database `db` over loopback TCP.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://dfc@127.0.0.1:{}/{db}", self.port)
    }

    /// A `psql` session on database `db` over loopback TCP (a separate client process, for tests
    /// that kill a session's holder).
    pub fn psql(&self, db: &str) -> Command {
        let mut c = Command::new(self.bin.join("psql"));
        c.args(["-X", "-q", "-h", "127.0.0.1", "-U", "dfc", "-d", db])
            .arg("-p")
            .arg(self.port.to_string());
        c
    }

    /// Creates database `name` and returns its connection string.
    pub fn create_db(&self, name: &str) -> String {
        let mut admin =
            postgres::Client::connect(&self.url("postgres"), postgres::NoTls).expect("connect");
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create database");
        self.url(name)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data_dir();
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "PostgreSQL is not installed")]
    fn missing_binaries_fail_saying_how_to_install_postgresql() {
        let empty = tempfile::tempdir().expect("tempdir");
        find_bin_dir(Some(empty.path().to_path_buf()));
    }
}
