//! syncdeck: runs and monitors DHIS2 synchronisations from the terminal.

/// `as_str` and `parse` for enums whose names strum derives
/// (`IntoStaticStr`, `EnumString`): the names as stored and printed.
macro_rules! stored_names {
    ($($t:ty),+) => {$(
        impl $t {
            pub fn as_str(self) -> &'static str {
                self.into()
            }
            pub fn parse(s: &str) -> Option<$t> {
                s.parse().ok()
            }
        }
    )+};
}

/// Checks a [`stored_names`] enum: every variant's name parses back to it,
/// is its serde name, and only the exact name parses.
#[cfg(test)]
fn assert_stored_names<T>()
where
    T: strum::VariantArray
        + Copy
        + std::fmt::Debug
        + PartialEq
        + serde::Serialize
        + Into<&'static str>
        + std::str::FromStr,
{
    for &v in T::VARIANTS {
        let name: &'static str = v.into();
        assert_eq!(name.parse::<T>().ok(), Some(v));
        assert_eq!(serde_json::to_value(v).unwrap(), name);
        assert!(
            name.to_uppercase().parse::<T>().is_err(),
            "exact names only"
        );
    }
}

pub mod api;
mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod connectors;
mod engine;
pub mod hashing;
pub mod logging;
pub mod logs;
pub mod output;
mod remote;
mod signals;
mod sim;
pub mod store;
mod text;
mod tui;
