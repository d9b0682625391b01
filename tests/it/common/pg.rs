//! PostgreSQL for tests: one server per test binary, a fresh database per test.
//!
//! The server is `SYNCDECK_TEST_PG` (a `postgres://` URL of a role that may
//! create databases) when set; otherwise a throwaway cluster (`initdb` +
//! `pg_ctl` from `/usr/lib/postgresql/*/bin` or `PATH`) listening on a unix
//! socket in a private temporary directory only. As root it runs as the
//! `postgres` user (initdb refuses root). A watcher shell stops the cluster and
//! deletes its directory when the test process exits: a static is never
//! dropped, and this also covers a test binary that is killed.
//!
//! When no server can be had, [`database`] prints "PostgreSQL tests DID NOT
//! RUN" to stderr and returns `None` (the test returns early), unless
//! `SYNCDECK_REQUIRE_PG=1`, which makes it a failure (CI).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;

/// A reachable server: the URL of its `postgres` database.
struct Server {
    admin: url::Url,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

/// A fresh, empty database for one test: its URL, or `None` (after saying so
/// loudly) when PostgreSQL is not available and not required.
pub async fn database() -> Option<String> {
    let server = match SERVER.get_or_init(start_server) {
        Ok(server) => server,
        Err(why) => return skip(why),
    };
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "t_{}_{}_{}",
        std::process::id(),
        nanos,
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let created = async {
        let mut conn = sqlx::PgConnection::connect(server.admin.as_str()).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await?;
        conn.close().await
    }
    .await;
    if let Err(e) = created {
        return skip(&format!(
            "cannot create a test database on {}: {e}",
            server.admin
        ));
    }
    let mut url = server.admin.clone();
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

fn skip<T>(why: &str) -> Option<T> {
    if std::env::var("SYNCDECK_REQUIRE_PG").is_ok_and(|v| v == "1") {
        panic!("PostgreSQL tests cannot run and SYNCDECK_REQUIRE_PG=1: {why}");
    }
    // Straight to the process's stderr: libtest captures `eprintln!` of
    // passing tests, and this must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!! PostgreSQL tests DID NOT RUN: {why}\n!!!!!!!! Install PostgreSQL \
         (initdb, pg_ctl) or set SYNCDECK_TEST_PG=postgres://…; SYNCDECK_REQUIRE_PG=1 \
         turns this into a failure.\n"
    );
    None
}

fn start_server() -> Result<Server, String> {
    if let Ok(url) = std::env::var("SYNCDECK_TEST_PG") {
        let admin = url::Url::parse(&url).map_err(|e| format!("SYNCDECK_TEST_PG: {e}"))?;
        return Ok(Server { admin });
    }
    let bin = find_bin_dir().ok_or("no initdb/pg_ctl in /usr/lib/postgresql/*/bin or PATH")?;
    let as_root = command_output(Command::new("id").arg("-u"))?.trim() == "0";
    let dir = std::env::temp_dir().join(format!(
        "syncdeck-pg-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let result = start_cluster(&bin, &dir, as_root);
    match &result {
        Ok(_) => {
            let _ = writeln!(
                std::io::stderr(),
                "PostgreSQL tests: throwaway cluster from {} on a socket in {}",
                bin.display(),
                dir.display()
            );
        }
        Err(_) => {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    result
}

fn start_cluster(bin: &Path, dir: &Path, as_root: bool) -> Result<Server, String> {
    // Run as `postgres` when root; the data directory must then be theirs.
    let pg = |tool: &str| {
        let exe = bin.join(tool);
        if as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    };
    if as_root {
        command_output(Command::new("chown").arg("postgres").arg(dir))?;
    }
    let data = dir.join("data");
    command_output(pg("initdb").arg("-D").arg(&data).args([
        "-A",
        "trust",
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--no-sync",
    ]))?;
    // The socket lives in our private directory, so any port number is free:
    // it only names the socket file.
    let port = 5432;
    // Durability is pointless for a throwaway cluster; speed is not.
    let options = format!(
        "-k {} -p {port} -c listen_addresses='' -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=300",
        dir.display()
    );
    command_output(
        pg("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("log"))
            .args(["-w", "-t", "60", "-o", &options, "start"]),
    )?;
    spawn_reaper(bin, dir, &data, as_root)?;
    let admin = url::Url::parse(&format!(
        "postgres://postgres@localhost/postgres?host={}&port={port}",
        dir.display()
    ))
    .map_err(|e| format!("socket URL: {e}"))?;
    Ok(Server { admin })
}

/// Stops the cluster and removes its directory once this process is gone.
fn spawn_reaper(bin: &Path, dir: &Path, data: &Path, as_root: bool) -> Result<(), String> {
    let runas = if as_root {
        "runuser -u postgres -- "
    } else {
        ""
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         {runas}'{pg_ctl}' -D '{data}' -m immediate stop; rm -rf '{dir}'",
        pid = std::process::id(),
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| format!("cannot start the cluster reaper: {e}"))
}

fn command_output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The newest `/usr/lib/postgresql/N/bin`, else the directory of `initdb` on PATH.
fn find_bin_dir() -> Option<PathBuf> {
    let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| has_tools(bin))
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).find(|d| has_tools(d))
}
