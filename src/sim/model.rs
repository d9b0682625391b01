//! The metadata types the simulator serves: their names, import order and the
//! references an import validates.

use serde_json::{Map, Value};

/// One metadata type the simulator holds objects of (every other type of
/// `/api/schemas` is served as an empty list). The order of the variants is
/// DHIS2's import order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MetaType {
    Attribute,
    UserRole,
    User,
    UserGroup,
    Option,
    OptionSet,
    OrganisationUnit,
    OrganisationUnitLevel,
    OrganisationUnitGroup,
    CategoryOption,
    Category,
    CategoryCombo,
    CategoryOptionCombo,
    DataElement,
    DataElementGroup,
    DataSet,
    TrackedEntityAttribute,
    TrackedEntityType,
    ProgramStage,
    Program,
}

/// How an object points at another: `field: {id}`, `field: [{id}]`, or
/// `list: [{inner: {id}}]` (dataSetElements, programStageDataElements...).
#[derive(Copy, Clone, Debug)]
pub enum RefPath {
    One(&'static str),
    Many(&'static str),
    NestedMany(&'static str, &'static str),
}

pub struct Reference {
    pub path: RefPath,
    pub target: MetaType,
}

// Macros rather than const fns: only plain aggregates are promoted to `'static`.
macro_rules! one {
    ($field:expr, $target:expr) => {
        Reference {
            path: RefPath::One($field),
            target: $target,
        }
    };
}
macro_rules! many {
    ($field:expr, $target:expr) => {
        Reference {
            path: RefPath::Many($field),
            target: $target,
        }
    };
}
macro_rules! nested {
    ($list:expr, $inner:expr, $target:expr $(,)?) => {
        Reference {
            path: RefPath::NestedMany($list, $inner),
            target: $target,
        }
    };
}

impl MetaType {
    pub const ALL: [MetaType; 20] = [
        MetaType::Attribute,
        MetaType::UserRole,
        MetaType::User,
        MetaType::UserGroup,
        MetaType::Option,
        MetaType::OptionSet,
        MetaType::OrganisationUnit,
        MetaType::OrganisationUnitLevel,
        MetaType::OrganisationUnitGroup,
        MetaType::CategoryOption,
        MetaType::Category,
        MetaType::CategoryCombo,
        MetaType::CategoryOptionCombo,
        MetaType::DataElement,
        MetaType::DataElementGroup,
        MetaType::DataSet,
        MetaType::TrackedEntityAttribute,
        MetaType::TrackedEntityType,
        MetaType::ProgramStage,
        MetaType::Program,
    ];

    /// (singular, plural, fully qualified class, import order from `/api/schemas` in 2.41)
    fn info(self) -> (&'static str, &'static str, &'static str, u32) {
        use MetaType::*;
        match self {
            Attribute => (
                "attribute",
                "attributes",
                "org.hisp.dhis.attribute.Attribute",
                100,
            ),
            UserRole => ("userRole", "userRoles", "org.hisp.dhis.user.UserRole", 100),
            User => ("user", "users", "org.hisp.dhis.user.User", 101),
            UserGroup => (
                "userGroup",
                "userGroups",
                "org.hisp.dhis.user.UserGroup",
                102,
            ),
            Option => ("option", "options", "org.hisp.dhis.option.Option", 1040),
            OptionSet => (
                "optionSet",
                "optionSets",
                "org.hisp.dhis.option.OptionSet",
                1050,
            ),
            OrganisationUnit => (
                "organisationUnit",
                "organisationUnits",
                "org.hisp.dhis.organisationunit.OrganisationUnit",
                1100,
            ),
            OrganisationUnitLevel => (
                "organisationUnitLevel",
                "organisationUnitLevels",
                "org.hisp.dhis.organisationunit.OrganisationUnitLevel",
                1110,
            ),
            OrganisationUnitGroup => (
                "organisationUnitGroup",
                "organisationUnitGroups",
                "org.hisp.dhis.organisationunit.OrganisationUnitGroup",
                1120,
            ),
            CategoryOption => (
                "categoryOption",
                "categoryOptions",
                "org.hisp.dhis.category.CategoryOption",
                1140,
            ),
            Category => (
                "category",
                "categories",
                "org.hisp.dhis.category.Category",
                1170,
            ),
            CategoryCombo => (
                "categoryCombo",
                "categoryCombos",
                "org.hisp.dhis.category.CategoryCombo",
                1180,
            ),
            CategoryOptionCombo => (
                "categoryOptionCombo",
                "categoryOptionCombos",
                "org.hisp.dhis.category.CategoryOptionCombo",
                1190,
            ),
            DataElement => (
                "dataElement",
                "dataElements",
                "org.hisp.dhis.dataelement.DataElement",
                1200,
            ),
            DataElementGroup => (
                "dataElementGroup",
                "dataElementGroups",
                "org.hisp.dhis.dataelement.DataElementGroup",
                1210,
            ),
            DataSet => ("dataSet", "dataSets", "org.hisp.dhis.dataset.DataSet", 1310),
            TrackedEntityAttribute => (
                "trackedEntityAttribute",
                "trackedEntityAttributes",
                "org.hisp.dhis.trackedentity.TrackedEntityAttribute",
                1450,
            ),
            TrackedEntityType => (
                "trackedEntityType",
                "trackedEntityTypes",
                "org.hisp.dhis.trackedentity.TrackedEntityType",
                1480,
            ),
            ProgramStage => (
                "programStage",
                "programStages",
                "org.hisp.dhis.program.ProgramStage",
                1509,
            ),
            Program => ("program", "programs", "org.hisp.dhis.program.Program", 1520),
        }
    }

    pub fn singular(self) -> &'static str {
        self.info().0
    }
    pub fn plural(self) -> &'static str {
        self.info().1
    }
    pub fn klass(self) -> &'static str {
        self.info().2
    }
    /// Short class name as `/api/deletedObjects` uses it (`DataElement`).
    pub fn short_klass(self) -> &'static str {
        let klass = self.klass();
        klass.rsplit('.').next().unwrap_or(klass)
    }
    #[cfg(test)]
    pub fn import_order(self) -> u32 {
        self.info().3
    }

    /// The type persists `sharing` (its `.hbm.xml` maps it; dhis2-core 2.41.3).
    pub fn has_sharing(self) -> bool {
        use MetaType::*;
        !matches!(
            self,
            Option | OrganisationUnit | OrganisationUnitLevel | CategoryOptionCombo | User
        )
    }

    /// The type persists `attributeValues` (2.41.3 `.hbm.xml`).
    pub fn has_attribute_values(self) -> bool {
        use MetaType::*;
        !matches!(
            self,
            Attribute | UserRole | OrganisationUnitLevel | CategoryCombo
        )
    }

    /// The type persists `translations` (2.41.3 `.hbm.xml`).
    pub fn has_translations(self) -> bool {
        self != MetaType::User
    }

    pub fn from_plural(plural: &str) -> Option<MetaType> {
        Self::ALL.into_iter().find(|t| t.plural() == plural)
    }

    #[cfg(test)]
    pub fn from_klass(klass: &str) -> Option<MetaType> {
        Self::ALL
            .into_iter()
            .find(|t| t.klass() == klass || t.short_klass() == klass)
    }

    /// The references an import of this type must resolve.
    pub fn references(self) -> &'static [Reference] {
        use MetaType::*;
        match self {
            Attribute | UserRole => &[],
            User => &[
                many!("userRoles", UserRole),
                many!("organisationUnits", OrganisationUnit),
            ],
            UserGroup => &[many!("users", User)],
            Option => &[one!("optionSet", OptionSet)],
            OptionSet => &[many!("options", Option)],
            OrganisationUnit => &[one!("parent", OrganisationUnit)],
            OrganisationUnitLevel | CategoryOption => &[],
            OrganisationUnitGroup => &[many!("organisationUnits", OrganisationUnit)],
            Category => &[many!("categoryOptions", CategoryOption)],
            CategoryCombo => &[many!("categories", Category)],
            CategoryOptionCombo => &[
                one!("categoryCombo", CategoryCombo),
                many!("categoryOptions", CategoryOption),
            ],
            DataElement => &[
                one!("categoryCombo", CategoryCombo),
                one!("optionSet", OptionSet),
            ],
            DataElementGroup => &[many!("dataElements", DataElement)],
            DataSet => &[
                one!("categoryCombo", CategoryCombo),
                nested!("dataSetElements", "dataElement", DataElement),
                many!("organisationUnits", OrganisationUnit),
            ],
            TrackedEntityAttribute => &[one!("optionSet", OptionSet)],
            TrackedEntityType => &[nested!(
                "trackedEntityTypeAttributes",
                "trackedEntityAttribute",
                TrackedEntityAttribute,
            )],
            ProgramStage => &[
                one!("program", Program),
                nested!("programStageDataElements", "dataElement", DataElement),
            ],
            Program => &[
                one!("trackedEntityType", TrackedEntityType),
                one!("categoryCombo", CategoryCombo),
                many!("programStages", ProgramStage),
                many!("organisationUnits", OrganisationUnit),
                nested!(
                    "programTrackedEntityAttributes",
                    "trackedEntityAttribute",
                    TrackedEntityAttribute,
                ),
            ],
        }
    }
}

fn ref_id(v: &Value) -> Option<&str> {
    v.get("id").and_then(Value::as_str)
}

/// Every (association name, target type, referenced id) an object holds.
pub fn referenced_ids(
    ty: MetaType,
    obj: &Map<String, Value>,
) -> Vec<(&'static str, MetaType, String)> {
    let mut out = Vec::new();
    for r in ty.references() {
        match r.path {
            RefPath::One(field) => {
                if let Some(id) = obj.get(field).and_then(ref_id) {
                    out.push((field, r.target, id.to_string()));
                }
            }
            RefPath::Many(field) => {
                for item in obj
                    .get(field)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(id) = ref_id(item) {
                        out.push((field, r.target, id.to_string()));
                    }
                }
            }
            RefPath::NestedMany(list, inner) => {
                for item in obj
                    .get(list)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(id) = item.get(inner).and_then(ref_id) {
                        out.push((inner, r.target, id.to_string()));
                    }
                }
            }
        }
    }
    out
}

/// The fixed UIDs of DHIS2's default category objects.
pub mod defaults {
    pub const CATEGORY_OPTION: &str = "xYerKDKCefk";
    pub const CATEGORY: &str = "GLevLNI9wkl";
    pub const CATEGORY_COMBO: &str = "bjDvmb4bfuf";
    pub const CATEGORY_OPTION_COMBO: &str = "HllvX50cXC0";

    pub fn is_default(id: &str) -> bool {
        [
            CATEGORY_OPTION,
            CATEGORY,
            CATEGORY_COMBO,
            CATEGORY_OPTION_COMBO,
        ]
        .contains(&id)
    }
}

/// DHIS2 UIDs: 11 alphanumerics, the first a letter.
pub fn is_valid_uid(s: &str) -> bool {
    s.len() == 11
        && s.bytes().all(|b| b.is_ascii_alphanumeric())
        && s.as_bytes()[0].is_ascii_alphabetic()
}

const UID_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A fresh UID from an RNG (letters only for the first character, as DHIS2 does).
pub fn new_uid(rng: &mut impl rand::Rng) -> String {
    let mut s = String::with_capacity(11);
    s.push(UID_ALPHABET[rng.random_range(0..52)] as char);
    for _ in 0..10 {
        s.push(UID_ALPHABET[rng.random_range(0..UID_ALPHABET.len())] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_listed_in_import_order() {
        let orders: Vec<u32> = MetaType::ALL.iter().map(|t| t.import_order()).collect();
        let mut sorted = orders.clone();
        sorted.sort();
        assert_eq!(orders, sorted);
        assert_eq!(
            MetaType::from_klass("DataElement"),
            Some(MetaType::DataElement)
        );
        assert_eq!(
            MetaType::from_plural("categories"),
            Some(MetaType::Category)
        );
    }

    #[test]
    fn collects_references_of_every_shape() {
        let ds = serde_json::json!({
            "categoryCombo": {"id": "bjDvmb4bfuf"},
            "dataSetElements": [{"dataElement": {"id": "deAAAAAAAAA"}}],
            "organisationUnits": [{"id": "ouAAAAAAAAA"}, {"id": "ouBBBBBBBBB"}]
        });
        let refs = referenced_ids(MetaType::DataSet, ds.as_object().unwrap());
        assert_eq!(refs.len(), 4);
        assert!(refs.iter().any(|(f, t, id)| *f == "dataElement"
            && *t == MetaType::DataElement
            && id == "deAAAAAAAAA"));
    }

    #[test]
    fn uid_validation() {
        assert!(is_valid_uid("bjDvmb4bfuf"));
        assert!(!is_valid_uid("1jDvmb4bfuf"));
        assert!(!is_valid_uid("short"));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        use rand::SeedableRng;
        assert!(is_valid_uid(&new_uid(&mut rng)));
    }
}
