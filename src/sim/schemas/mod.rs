//! `/api/schemas` as dhis2-core serves it: every descriptor registered in
//! `DefaultSchemaService.init()` with its real `order`, per version. The tables
//! are generated from dhis2-core by `tools/schema_catalog.py` (tags 2.39.6,
//! 2.40.5, 2.41.3, 2.42.1; `schema/descriptors/*SchemaDescriptor.java`).
//!
//! Sort: `DefaultSchemaService.getSortedSchemas()` (2.41.3,
//! dhis-service-schema/.../schema/DefaultSchemaService.java) sorts the values of a
//! `HashMap<Class<?>, Schema>` with Spring's `OrderComparator`, a stable sort by
//! `order`; types of equal order keep the HashMap's order, which follows the
//! classes' identity hash codes and so differs from one server start to the
//! next. The simulator breaks ties by a hash of the class name and `--seed`:
//! stable while it runs, different between seeds, never alphabetical by luck.

use std::sync::LazyLock;

use super::options::Dhis2Version;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaEntry {
    pub order: i64,
    pub singular: String,
    pub plural: String,
    /// Fully qualified class, e.g. `org.hisp.dhis.user.User`.
    pub klass: String,
    /// `Schema.isMetadata()`: the class implements `MetadataObject`.
    pub metadata: bool,
}

impl SchemaEntry {
    pub fn short_klass(&self) -> &str {
        self.klass.rsplit('.').next().unwrap_or(&self.klass)
    }
}

fn parse(table: &str) -> Vec<SchemaEntry> {
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some(SchemaEntry {
                order: f.next()?.parse().ok()?,
                singular: f.next()?.to_string(),
                plural: f.next()?.to_string(),
                klass: f.next()?.to_string(),
                metadata: f.next()? == "true",
            })
        })
        .collect()
}

static V39: LazyLock<Vec<SchemaEntry>> = LazyLock::new(|| parse(include_str!("2.39.6.tsv")));
static V40: LazyLock<Vec<SchemaEntry>> = LazyLock::new(|| parse(include_str!("2.40.5.tsv")));
static V41: LazyLock<Vec<SchemaEntry>> = LazyLock::new(|| parse(include_str!("2.41.3.tsv")));
static V42: LazyLock<Vec<SchemaEntry>> = LazyLock::new(|| parse(include_str!("2.42.1.tsv")));

/// The schemas of a version, in registration order.
pub fn catalog(version: Dhis2Version) -> &'static [SchemaEntry] {
    match version {
        Dhis2Version::V39 => &V39,
        Dhis2Version::V40 => &V40,
        Dhis2Version::V41 => &V41,
        Dhis2Version::V42 => &V42,
    }
}

/// The schema with this plural in this version, if the version has it.
pub fn by_plural(version: Dhis2Version, plural: &str) -> Option<&'static SchemaEntry> {
    catalog(version).iter().find(|s| s.plural == plural)
}

/// FNV-1a of the seed and the class: the tie-break of equal orders.
fn tie_break(seed: u64, klass: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in klass.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The schemas in the order `/api/schemas` lists them.
pub fn sorted(version: Dhis2Version, seed: u64) -> Vec<&'static SchemaEntry> {
    let mut out: Vec<&SchemaEntry> = catalog(version).iter().collect();
    out.sort_by_key(|s| (s.order, tie_break(seed, &s.klass)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_has_its_catalog() {
        for v in [
            Dhis2Version::V39,
            Dhis2Version::V40,
            Dhis2Version::V41,
            Dhis2Version::V42,
        ] {
            let c = catalog(v);
            assert!(c.len() > 100, "{v:?}: {} schemas", c.len());
            assert!(
                c.iter()
                    .all(|s| !s.plural.is_empty() && s.klass.contains('.'))
            );
        }
        let users = by_plural(Dhis2Version::V41, "users").map(|s| (s.order, s.metadata));
        assert_eq!(users, Some((101, true)));
        // eventHooks came with 2.40; oAuth2Clients lost their order in 2.42.
        assert!(by_plural(Dhis2Version::V39, "eventHooks").is_none());
        assert!(by_plural(Dhis2Version::V40, "eventHooks").is_some());
        assert_eq!(
            by_plural(Dhis2Version::V42, "oAuth2Clients").map(|s| s.order),
            Some(i64::from(i32::MAX))
        );
    }

    #[test]
    fn sorted_by_order_with_seeded_ties() {
        let a = sorted(Dhis2Version::V41, 1);
        assert!(a.windows(2).all(|w| w[0].order <= w[1].order));
        let b = sorted(Dhis2Version::V41, 2);
        let orders = |v: &[&SchemaEntry]| v.iter().map(|s| s.order).collect::<Vec<_>>();
        assert_eq!(orders(&a), orders(&b));
    }
}
