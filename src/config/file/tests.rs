//! Parsing and validation of configuration files.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use super::parse;
use crate::config::model::{ExecMode, SecretRef};
use crate::config::{ConfigFile, ValidationErrors};

const GOOD: &str = r#"
[[instance]]
name = "national"
url = "http://127.0.0.1:8081"
username = "admin"
password_env = "NATIONAL_PASSWORD"

[[instance]]
name = "reporting"
url = "https://reporting.example.org"
token_file = "/etc/syncdeck/reporting.token"

[[sync]]
name = "national-to-reporting"
kind = "dhis2"
source = "national"
destination = "reporting"
mode = "automatic"
metadata = ["*"]
org_units = ["ImspTQPwCqd"]
exclude = ["users", "userRoles"]

[sync.auto]
check_interval = "10m"
delay_before_sync = "1h 30m"
max_sync_per_hour = 0
"#;

fn ok(text: &str) -> ConfigFile {
    match parse(Path::new("cfg.toml"), text, &BTreeSet::new()) {
        Ok(c) => c,
        Err(e) => panic!("unexpected errors:\n{e}"),
    }
}

fn errors(text: &str) -> Vec<String> {
    errors_known(text, &[])
}

fn errors_known(text: &str, known: &[&str]) -> Vec<String> {
    let known = known.iter().map(|s| s.to_string()).collect();
    match parse(Path::new("cfg.toml"), text, &known) {
        Ok(_) => panic!("expected errors"),
        Err(ValidationErrors(e)) => e.iter().map(ToString::to_string).collect(),
    }
}

fn has(errs: &[String], needle: &str) {
    assert!(
        errs.iter().any(|e| e.contains(needle)),
        "no error contains {needle:?}:\n{}",
        errs.join("\n")
    );
}

#[test]
fn a_good_file_parses() {
    let c = ok(GOOD);
    assert_eq!(c.instances.len(), 2);
    assert_eq!(
        c.instances[0].secret,
        SecretRef::PasswordEnv("NATIONAL_PASSWORD".into())
    );
    assert_eq!(c.instances[1].username, None);
    let s = &c.syncs[0];
    assert_eq!(s.mode, ExecMode::Automatic);
    assert_eq!(s.selection.data_sets, vec!["*"], "defaults to all");
    assert_eq!(s.selection.org_units, vec!["ImspTQPwCqd"]);
    let auto = s.auto.as_ref().expect("auto");
    assert_eq!(auto.check_interval, Duration::from_secs(600));
    assert_eq!(auto.delay_before_sync, Duration::from_secs(5400));
    assert_eq!(auto.max_sync_per_hour, 0);
    assert!(auto.enabled, "omitted keys take defaults");
}

#[test]
fn the_shipped_example_parses() {
    let text = include_str!("../../../assets/example.toml");
    let c = ok(text);
    assert_eq!((c.instances.len(), c.syncs.len()), (3, 3));
    assert!(c.syncs[0].selection.skip_sharing, "the default");
    assert!(!c.syncs[1].selection.skip_sharing);
    let pull = c.syncs[2].pull.as_ref().expect("[sync.pull]");
    assert_eq!(pull.target, Path::new("/var/lib/agent/site.json"));
    assert_eq!(pull.interval, Duration::from_secs(300));
    assert_eq!(pull.apply, crate::config::model::PullApply::File);
}

const PULL: &str = r#"
[[instance]]
name = "backend"
url = "https://backend.example.org/config/{token}"
token_env = "SITE_TOKEN"

[[sync]]
name = "site"
kind = "http_pull"
source = "backend"
mode = "automatic"
"#;

#[test]
fn an_http_pull_sync_takes_a_pull_table_and_nothing_of_dhis2() {
    let c = ok(&format!("{PULL}[sync.pull]\ntarget = \"site.json\"\n"));
    let pull = c.syncs[0].pull.as_ref().unwrap();
    assert!(
        pull.target.is_absolute(),
        "relative to the file's directory"
    );
    assert_eq!(pull.first_pull_after, Duration::from_secs(10));
    assert!(pull.verify_hash);
    assert!(pull.on_change.is_empty());
    has(&errors(PULL), "needs a [sync.pull] table");
    let dhis2_keys = format!(
        "{}destination = \"backend\"\nmetadata = [\"*\"]\n[sync.pull]\ntarget = \"x.json\"\n",
        PULL
    );
    let errs = errors(&dhis2_keys);
    has(
        &errs,
        "[sync \"site\"].destination: an http_pull sync has no such key",
    );
    has(
        &errs,
        "[sync \"site\"].metadata: an http_pull sync has no such key",
    );
    let bad = format!(
        "{PULL}[sync.pull]\ntarget = \"x.json\"\ninterval = \"0s\"\non_change = \"systemctl reload x\"\napply = \"yaml\"\nfirst = 1\n"
    );
    let errs = errors(&bad);
    has(&errs, "pull.interval: must be at least 1s");
    has(
        &errs,
        "pull.on_change: must be a list, the program then its arguments",
    );
    has(&errs, "pull.apply: unknown value \"yaml\"");
    has(&errs, "pull.first: unknown key");
    let on_dhis2 = "[[instance]]\nname = \"a\"\nurl = \"https://a\"\ntoken_env = \"A\"\n\
        [[instance]]\nname = \"b\"\nurl = \"https://b\"\ntoken_env = \"B\"\n\
        [[sync]]\nname = \"x\"\nsource = \"a\"\ndestination = \"b\"\nmode = \"manual\"\n\
        [sync.pull]\ntarget = \"x.json\"\n";
    has(
        &errors(on_dhis2),
        "only an http_pull sync takes [sync.pull]",
    );
}

#[test]
fn skip_sharing_must_be_a_bool() {
    let text = include_str!("../../../assets/example.toml")
        .replace("skip_sharing = false", "skip_sharing = \"no\"");
    has(&errors(&text), "skip_sharing: must be true or false");
}

#[test]
fn inline_secrets_are_refused_with_how_to_reference_them() {
    let text = "[[instance]]\nname = \"a\"\nurl = \"http://h\"\nusername = \"u\"\npassword = \"hunter2\"\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("cfg.toml:5:1: [instance \"a\"].password: "),
        "{}",
        errs[0]
    );
    assert!(errs[0].contains("password_env") && errs[0].contains("password_file"));
    assert!(!errs[0].contains("hunter2"), "the secret is never echoed");

    let errs = errors("[[instance]]\nname = \"a\"\nurl = \"http://h\"\ntoken = \"d2pat_x\"\n");
    has(
        &errs,
        "cfg.toml:4:1: [instance \"a\"].token: inline secrets are refused",
    );
    has(&errs, "token_env");
}

#[test]
fn unknown_keys_are_errors_with_their_line() {
    let text = GOOD
        .replace("immediate", "x")
        .replace("max_sync_per_hour", "max_sync_per_hr");
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let line = GOOD
        .lines()
        .position(|l| l.starts_with("max_sync_per_hour"))
        .expect("line")
        + 1;
    has(
        &errs,
        &format!(
            "cfg.toml:{line}:1: [sync \"national-to-reporting\"].auto.max_sync_per_hr: unknown key; did you mean `max_sync_per_hour`?"
        ),
    );
    has(&errors("colour = 1\n"), "cfg.toml:1:1: colour: unknown key");
}

#[test]
fn check_interval_below_a_minute_is_refused_with_its_line() {
    let errs = errors(&GOOD.replace("\"10m\"", "\"30s\""));
    let line = GOOD
        .lines()
        .position(|l| l.starts_with("check_interval"))
        .expect("line")
        + 1;
    has(
        &errs,
        &format!(
            "cfg.toml:{line}:18: [sync \"national-to-reporting\"].auto.check_interval: must be at least 60s (got 30s)"
        ),
    );
}

#[test]
fn durations() {
    let with = |v: &str| GOOD.replace("\"1h 30m\"", v);
    has(
        &errors(&with("\"soon\"")),
        "auto.delay_before_sync: not a duration",
    );
    has(&errors(&with("\"1500ms\"")), "must be whole seconds");
    has(&errors(&with("30")), "must be a string (got integer)");
    has(&errors(&with("\"400days\"")), "at most 365 days");
    let c = ok(&with("\"2m 5s\""));
    assert_eq!(
        c.syncs[0].auto.as_ref().map(|a| a.delay_before_sync),
        Some(Duration::from_secs(125))
    );
}

#[test]
fn duplicate_names_are_refused() {
    let text = format!(
        "{GOOD}\n[[instance]]\nname = \"national\"\nurl = \"http://x\"\ntoken_env = \"T\"\n"
    );
    has(
        &errors(&text),
        "[instance \"national\"].name: duplicate instance name (first declared on line 3)",
    );
    let sync = GOOD.split("[[sync]]").nth(1).expect("sync part");
    has(
        &errors(&format!("{GOOD}\n[[sync]]{sync}")),
        "duplicate sync name",
    );
}

#[test]
fn references_must_name_known_instances() {
    let text = GOOD.replace("destination = \"reporting\"", "destination = \"elsewhere\"");
    has(
        &errors(&text),
        "[sync \"national-to-reporting\"].destination: no instance named \"elsewhere\"",
    );
    // An instance already in the database may be referenced without redeclaring it.
    let known = parse(
        Path::new("cfg.toml"),
        &text,
        &BTreeSet::from(["elsewhere".to_string()]),
    );
    assert!(known.is_ok(), "{known:?}");
    assert!(errors_known(&text, &["other"]).len() == 1);
}

#[test]
fn secrets_and_usernames() {
    let base = "[[instance]]\nname = \"a\"\nurl = \"http://h\"\n";
    has(
        &errors(&format!("{base}username = \"u\"\n")),
        "no secret reference",
    );
    has(
        &errors(&format!("{base}password_env = \"P\"\n")),
        "a password needs a username",
    );
    has(
        &errors(&format!("{base}username = \"u\"\ntoken_env = \"T\"\n")),
        "remove username",
    );
    has(
        &errors(&format!(
            "{base}username = \"u\"\npassword_env = \"P\"\npassword_file = \"/p\"\n"
        )),
        "only one secret reference per instance",
    );
    let c = ok(&format!("{base}token_file = \"tok\"\n"));
    match &c.instances[0].secret {
        SecretRef::TokenFile(p) => assert!(p.is_absolute() && p.ends_with("tok"), "{p:?}"),
        other => panic!("{other:?}"),
    }
    has(
        &errors("[[instance]]\nname = \"a\"\nurl = \"ftp://h\"\ntoken_env = \"T\"\n"),
        "must be an http:// or https:// URL",
    );
    has(
        &errors("[[instance]]\nname = \"a\\u0007\"\nurl = \"http://h\"\ntoken_env = \"T\"\n"),
        "without control characters",
    );
}

#[test]
fn several_errors_are_all_reported_in_file_order() {
    let text = "[[instance]]\nname = \"\"\nurl = \"nope\"\ntoken_env = \"T\"\n\n[[sync]]\nname = \"42\"\nsource = \"x\"\nmode = \"sometimes\"\nmetadata = [\"*\", \"dataElements\"]\n";
    let errs = errors(text);
    assert!(errs.len() >= 6, "{}", errs.join("\n"));
    for needle in [
        "cfg.toml:2:8: [instance #1].name: must be non-empty",
        "cfg.toml:3:7: [instance #1].url: not a valid URL",
        "[sync \"42\"].name: a name of digits only",
        "[sync \"42\"]: a dhis2 sync needs a destination",
        "[sync \"42\"].source: no instance named \"x\"",
        "[sync \"42\"].mode: unknown mode \"sometimes\"",
        "[sync \"42\"].metadata: \"*\" already means all",
    ] {
        has(&errs, needle);
    }
    let lines: Vec<usize> = errs
        .iter()
        .filter_map(|e| e.split(':').nth(1)?.parse().ok())
        .collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{errs:?}");
}

#[test]
fn syntax_errors_have_a_line_too() {
    let errs = errors("[[instance]]\nname = \"a\"\nurl = \n");
    assert!(errs[0].starts_with("cfg.toml:3:"), "{errs:?}");
    has(&errors("instance = 1\n"), "must be written as [[instance]]");
}

#[test]
fn instance_timeouts_are_optional_whole_seconds_within_bounds() {
    let c = ok(GOOD);
    assert_eq!(
        c.instances[0].timeouts,
        Default::default(),
        "unset: defaults"
    );
    let with = |lines: &str| {
        GOOD.replacen(
            "password_env = \"NATIONAL_PASSWORD\"\n",
            &format!("password_env = \"NATIONAL_PASSWORD\"\n{lines}"),
            1,
        )
    };
    let c = ok(&with(
        "connect_timeout = \"5s\"\nfirst_byte_timeout = \"2m\"\nimport_timeout = \"15m\"\nidle_timeout = \"45s\"\n",
    ));
    let t = c.instances[0].timeouts;
    assert_eq!(
        [t.connect, t.first_byte, t.import, t.idle],
        [5, 120, 900, 45].map(|s| Some(Duration::from_secs(s)))
    );
    assert_eq!(c.instances[1].timeouts, Default::default());
    has(
        &errors(&with("idle_timeout = \"0s\"\n")),
        "cfg.toml:7:16: [instance \"national\"].idle_timeout: must be between 1s and 24h (got 0s)",
    );
    has(
        &errors(&with("first_byte_timeout = \"2days\"\n")),
        "[instance \"national\"].first_byte_timeout: must be between 1s and 24h",
    );
    has(
        &errors(&with("connect_timeout = \"500ms\"\n")),
        "connect_timeout: must be whole seconds",
    );
    has(
        &errors(&with("connect_timeout = 10\n")),
        "connect_timeout: must be a string (got integer)",
    );
    has(
        &errors(&with("idle_timout = \"30s\"\n")),
        "idle_timout: unknown key; did you mean `idle_timeout`?",
    );
}

#[test]
fn a_url_with_user_info_is_refused_without_echoing_it() {
    let password = "S3cret-in-url";
    for (url, bare) in [
        (
            format!("http://admin:{password}@127.0.0.1:8081"),
            "http://127.0.0.1:8081",
        ),
        (
            format!("https://{password}@dhis2.example.org/dhis"),
            "https://dhis2.example.org/dhis",
        ),
        // Does not parse either (bad port): still refused for its user info.
        (
            format!("http://admin:{password}@host:99999"),
            "http://host:99999",
        ),
    ] {
        let text = format!(
            "[[instance]]\nname = \"a\"\nurl = \"{url}\"\nusername = \"admin\"\npassword_env = \"A_PW\"\n"
        );
        let errs = errors(&text);
        assert_eq!(errs.len(), 1, "{errs:?}");
        let e = &errs[0];
        assert!(
            e.starts_with(
                "cfg.toml:3:7: [instance \"a\"].url: must not contain a username or password"
            ),
            "{e}"
        );
        assert!(e.contains(&format!("write url = \"{bare}\"")), "{e}");
        assert!(e.contains("password_env") && e.contains("token_env"), "{e}");
        assert!(!e.contains(password), "the password is echoed: {e}");
    }
    // A username alone is user info too.
    has(
        &errors("[[instance]]\nname = \"a\"\nurl = \"http://admin@h\"\ntoken_env = \"T\"\n"),
        "must not contain a username or password",
    );
    // An '@' after the host is not.
    ok("[[instance]]\nname = \"a\"\nurl = \"http://h/dhis@2\"\ntoken_env = \"T\"\n");
}
