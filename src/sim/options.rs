//! Command-line options of `syncdeck sim`.

use std::time::Duration;

use clap::{Args, ValueEnum};

/// The DHIS2 release the simulator emulates; response shapes follow it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Dhis2Version {
    #[value(name = "2.39")]
    V39,
    #[value(name = "2.40")]
    V40,
    #[value(name = "2.41")]
    V41,
    #[value(name = "2.42")]
    V42,
}

impl Dhis2Version {
    /// The full version string `/api/system/info` reports (a recent patch of each line).
    pub fn full(self) -> &'static str {
        match self {
            Self::V39 => "2.39.6",
            Self::V40 => "2.40.5",
            Self::V41 => "2.41.3",
            Self::V42 => "2.42.1",
        }
    }

    pub fn minor(self) -> u32 {
        match self {
            Self::V39 => 39,
            Self::V40 => 40,
            Self::V41 => 41,
            Self::V42 => 42,
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum DatasetSize {
    Small,
    Medium,
    Large,
}

impl std::fmt::Display for DatasetSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.to_possible_value().map(|v| v.get_name().to_string());
        f.write_str(name.as_deref().unwrap_or("?"))
    }
}

impl DatasetSize {
    /// Default number of aggregate data values for the size.
    pub fn data_values(self) -> usize {
        match self {
            Self::Small => 10_000,
            Self::Medium => 100_000,
            Self::Large => 1_000_000,
        }
    }
}

/// How bad credentials are answered: real deployments do all three.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum AuthFailure {
    /// HTTP 401 with a JSON WebMessage (DHIS2's own API answer).
    Json,
    /// HTTP 200 with the HTML login page (a proxy or SSO front serving it in place).
    Html,
    /// HTTP 302 to `/dhis-web-login/`, which then serves the HTML login page.
    Redirect,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 250ms, 30s, 5m)"))
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let rate: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number between 0 and 1"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!(
            "`{s}` must be between 0 and 1 (0.1 = one request in ten)"
        ))
    }
}

fn parse_period(s: &str) -> Result<String, String> {
    match super::periods::period_range(s) {
        Some(_) => Ok(s.to_string()),
        None => Err(format!(
            "`{s}` is not an ISO period (examples: 202401, 2024Q1, 2024W5, 2024)"
        )),
    }
}

#[derive(Args, Clone, Debug)]
pub struct SimOptions {
    /// TCP port on 127.0.0.1 (0 picks a free one); the first line printed is the address.
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// DHIS2 version to emulate: response shapes and parameters follow it.
    #[arg(long = "dhis2-version", value_enum, default_value = "2.41")]
    pub version: Dhis2Version,

    /// Size of the generated dataset (small: 10k data values, medium: 100k, large: 1M).
    #[arg(long, value_enum, default_value = "small")]
    pub size: DatasetSize,

    /// Exact number of aggregate data values to generate (overrides the size's default).
    #[arg(long)]
    pub data_values: Option<usize>,

    /// Seed of the generated dataset: the same seed gives the same content.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Start blank (a destination): only the default category objects exist.
    #[arg(long)]
    pub empty: bool,

    /// Every DURATION, edit, create and delete a few metadata objects, data values and events.
    #[arg(long, value_parser = parse_duration)]
    pub mutate_every: Option<Duration>,

    /// Basic-auth user name.
    #[arg(long, default_value = "admin")]
    pub username: String,

    /// Basic-auth password.
    #[arg(long, default_value = "district")]
    pub password: String,

    /// Personal access token accepted as `Authorization: ApiToken TOKEN`.
    #[arg(long, default_value = "d2pat_syncdecksimulatortoken000000000000000")]
    pub api_token: String,

    /// How bad credentials are answered.
    #[arg(long, value_enum, default_value = "json")]
    pub auth_failure: AuthFailure,

    /// Fraction of API requests answered with HTTP 500 or 503 (0..1).
    #[arg(long, value_parser = parse_rate, default_value = "0")]
    pub fail_rate: f64,

    /// Delay added to every API request.
    #[arg(long, value_parser = parse_duration)]
    pub latency: Option<Duration>,

    /// Fraction of API requests that never answer (0..1): no headers, the
    /// connection stays open (exercises the client's first-byte deadline).
    #[arg(long, value_parser = parse_rate, default_value = "0")]
    pub hang_rate: f64,

    /// Fraction of API requests whose answer stops mid-body (0..1): headers and
    /// part of the body are sent, then nothing while the connection stays open
    /// (exercises the client's idle deadline, streamed exports included).
    #[arg(long, value_parser = parse_rate, default_value = "0")]
    pub stall_rate: f64,

    /// The server's time zone (`serverTimeZoneId`): local times, and the
    /// `dataValueSets` `lastUpdated` filter's UTC-versus-local comparison, follow it.
    /// Zones without daylight saving time only (e.g. America/Bogota, Etc/UTC).
    #[arg(long = "time-zone", value_parser = super::clock::Zone::named, default_value = "Africa/Nairobi")]
    pub time_zone: super::clock::Zone,

    /// Number of root (level-1) org units; the regions are shared out among them.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=4), default_value_t = 1)]
    pub root_org_units: u8,

    /// `expiryDays` of the generated data sets (0 = never expire, DHIS2's
    /// default). A destination refuses values of expired periods (E7640) only
    /// from a user without F_EDIT_EXPIRED: see `--authorities`.
    #[arg(long, default_value_t = 0)]
    pub expiry_days: i64,

    /// The account's authorities, comma-separated, as `/api/me` lists them
    /// (default `ALL`, a superuser). Data value imports check `F_EDIT_EXPIRED`
    /// (or `ALL`) before refusing expired periods, and `ALL` for `force=true`.
    #[arg(long, value_delimiter = ',', default_value = "ALL")]
    pub authorities: Vec<String>,

    /// ISO periods approved on this server, comma-separated (default none).
    /// With them every data set has one approval workflow (one level, org
    /// unit level 1) that has approved each listed period for every level-1
    /// org unit and attribute option combo: data value imports refuse values
    /// of those periods (E7642) unless `force=true` by an `ALL` user. The
    /// workflow is internal (not served as metadata).
    #[arg(long, value_delimiter = ',', value_parser = parse_period)]
    pub approved_periods: Vec<String>,

    /// Serve a configuration backend for http_pull configs instead of DHIS2:
    /// `GET /config/{site_token}` with a Python-compatible `config_hash`
    /// (see `src/sim/config_backend.rs` for its control endpoints).
    #[arg(long)]
    pub config_backend: bool,

    /// With --config-backend: the number of sites (tokens site-token-1 …).
    #[arg(long, default_value_t = 2, requires = "config_backend")]
    pub sites: usize,
}

impl SimOptions {
    /// Defaults as the command line gives them; handy for in-process use.
    pub fn defaults() -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            opts: SimOptions,
        }
        Wrapper::parse_from(["sim"]).opts
    }

    pub fn has_authority(&self, authority: &str) -> bool {
        self.authorities
            .iter()
            .any(|a| a == "ALL" || a == authority)
    }

    pub fn data_value_target(&self) -> usize {
        self.data_values.unwrap_or(self.size.data_values())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approved_periods_are_iso_periods() {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            opts: SimOptions,
        }
        let parse = |args: &[&str]| Wrapper::try_parse_from(args).map(|w| w.opts);
        assert!(SimOptions::defaults().approved_periods.is_empty());
        let opts = parse(&["sim", "--approved-periods", "202403,2024Q2"]).unwrap();
        assert_eq!(opts.approved_periods, ["202403", "2024Q2"]);
        let err = parse(&["sim", "--approved-periods", "202403,2024-13"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("`2024-13` is not an ISO period"), "{err}");
    }
}
