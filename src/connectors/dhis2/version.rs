//! The DHIS2 version a server reports, and how well syncdeck knows it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A DHIS2 version, `major.minor.patch` (`2.40.4.1` → 2.40.4; hotfix digits dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DhisVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl DhisVersion {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        DhisVersion {
            major,
            minor,
            patch,
        }
    }

    /// Parses `2.41.0`, `2.40.4.1`, `2.42-SNAPSHOT`, `2.41.1-EMBARGOED`, `v2.39`.
    pub fn parse(s: &str) -> Option<Self> {
        let core = s.trim().trim_start_matches(['v', 'V']);
        let core = core.split(['-', '+', ' ']).next()?;
        let mut nums = core.split('.').map(|p| p.parse::<u32>());
        let major = nums.next()?.ok()?;
        let minor = nums.next()?.ok()?;
        let patch = match nums.next() {
            Some(p) => p.ok()?,
            None => 0,
        };
        Some(DhisVersion {
            major,
            minor,
            patch,
        })
    }

    /// True for `major.minor` or newer.
    pub fn at_least(self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    /// Whether syncdeck's request shapes were read from this version's
    /// dhis2-core (2.39.6, 2.40.5, 2.41.3, 2.42.1; see docs/dhis2-conformance.md).
    pub fn support(self) -> VersionSupport {
        if !self.at_least(OLDEST_KNOWN.0, OLDEST_KNOWN.1) {
            VersionSupport::Older
        } else if self.at_least(NEWEST_KNOWN.0, NEWEST_KNOWN.1 + 1) {
            VersionSupport::Newer
        } else {
            VersionSupport::Known
        }
    }
}

/// The oldest and newest DHIS2 lines whose dhis2-core the client was checked against.
pub const OLDEST_KNOWN: (u32, u32) = (2, 39);
pub const NEWEST_KNOWN: (u32, u32) = (2, 42);

/// How much syncdeck knows of a server version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSupport {
    Known,
    /// Newer than any version read: the newest shapes are used, unverified.
    Newer,
    /// Older than any version read: the tracker API's parameters and envelope
    /// are unknown there (it changed in every line up to 2.41), so tracker
    /// resources are refused; metadata and data values are tried.
    Older,
}

impl fmt::Display for DhisVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let v = |s| DhisVersion::parse(s);
        assert_eq!(v("2.41.0"), Some(DhisVersion::new(2, 41, 0)));
        assert_eq!(v("2.40.4.1"), Some(DhisVersion::new(2, 40, 4)));
        assert_eq!(v("2.42-SNAPSHOT"), Some(DhisVersion::new(2, 42, 0)));
        assert_eq!(v("2.41.1-EMBARGOED"), Some(DhisVersion::new(2, 41, 1)));
        assert_eq!(v("v2.39"), Some(DhisVersion::new(2, 39, 0)));
        assert_eq!(v("banana"), None);
        assert_eq!(v("2"), None);
        assert!(DhisVersion::new(2, 41, 0).at_least(2, 41));
        assert!(!DhisVersion::new(2, 40, 9).at_least(2, 41));
        let support = |s: &str| DhisVersion::parse(s).unwrap().support();
        assert_eq!(support("2.38.4.3"), VersionSupport::Older);
        assert_eq!(support("2.39.0"), VersionSupport::Known);
        assert_eq!(support("2.42.1"), VersionSupport::Known);
        assert_eq!(support("2.42-SNAPSHOT"), VersionSupport::Known);
        assert_eq!(support("2.43.0"), VersionSupport::Newer);
        assert_eq!(support("3.0"), VersionSupport::Newer);
        assert!(DhisVersion::new(2, 42, 0) > DhisVersion::new(2, 41, 7));
    }
}
