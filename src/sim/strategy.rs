//! Enum parameters (`importStrategy`, `atomicMode`, `importMode`…) as each
//! importer of each version binds them: the same wrong value is silently the
//! default on one endpoint and a 400 on another.
//!
//! dhis2-core:
//! - `POST /api/metadata`, every version: `Enums.getIfPresent(klass, value).or(default)`,
//!   exact (case-sensitive) names, anything else silently the default
//!   (2.39.6–2.42.1 dhis-services/dhis-service-dxf2/.../dxf2/metadata/DefaultMetadataImportService.java
//!   `getParamsFromMap`, `getEnumWithDefault`): `importMode=validate` commits;
//! - `POST /api/dataValueSets` and `POST /api/tracker` from 2.40: WebDataBinder with
//!   ConvertEnum, any case, an unknown name is 400 "Value 'x' is not valid for
//!   parameter …" (2.40.5–2.42.1 dhis-web-api/.../webapi/controller/CrudControllerAdvice.java
//!   `initBinder`, `handleTypeMismatchException`);
//! - the same in 2.39.6: exact names, 400 "Value x is not a valid …" (data
//!   values: Spring's String→Enum and CrudControllerAdvice `getEnumWebMessage`,
//!   *inferred* from Spring's converter; tracker: TrackerImportParamsValidator
//!   `validateRequest`, InvalidEnumValueException).

use super::query::Params;

/// How a bound endpoint (data values, tracker) reads an enum parameter;
/// metadata import reads with [`exact_or_default`] instead.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Binding {
    /// The exact name, else 400 (2.39.6).
    Exact,
    /// Any case, else 400 (2.40+).
    AnyCase,
}

impl Binding {
    /// Data value and tracker imports of this version.
    pub fn bound(minor: u32) -> Self {
        if minor <= 39 {
            Self::Exact
        } else {
            Self::AnyCase
        }
    }
}

/// The value of `key` among `values` (as DHIS2 spells them), exact, else
/// silently `default` (`getEnumWithDefault`, metadata import).
pub fn exact_or_default(
    params: &Params,
    key: &str,
    values: &[&'static str],
    default: &'static str,
) -> &'static str {
    params
        .get(key)
        .and_then(|raw| values.iter().find(|v| **v == raw))
        .copied()
        .unwrap_or(default)
}

/// The value of `key` among `values` (as DHIS2 spells them), by `binding`.
pub fn read(
    params: &Params,
    key: &str,
    values: &[&'static str],
    default: &'static str,
    binding: Binding,
) -> Result<&'static str, String> {
    let Some(raw) = params.get(key) else {
        return Ok(default);
    };
    let found = match binding {
        Binding::AnyCase => values.iter().find(|v| v.eq_ignore_ascii_case(raw)),
        Binding::Exact => values.iter().find(|v| **v == raw),
    };
    let listed = values.join(", ");
    match (found, binding) {
        (Some(v), _) => Ok(v),
        (None, Binding::Exact) => Err(format!(
            "Value {raw} is not a valid {key}. Valid values are: [{listed}]"
        )),
        (None, Binding::AnyCase) => Err(format!(
            "Value '{raw}' is not valid for parameter {key}. Valid values are: [{listed}]"
        )),
    }
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Strategy {
    CreateAndUpdate,
    Create,
    Update,
    Delete,
}

/// `ImportStrategy` (dhis-api common/ImportStrategy.java), old aliases included.
pub const IMPORT_STRATEGIES: &[&str] = &[
    "CREATE",
    "UPDATE",
    "CREATE_AND_UPDATE",
    "DELETE",
    "SYNC",
    "NEW_AND_UPDATES",
    "NEW",
    "UPDATES",
    "DELETES",
];

/// Tracker's own `TrackerImportStrategy`: PATCH up to 2.40.5, gone in 2.41.3.
pub fn tracker_strategies(minor: u32) -> &'static [&'static str] {
    if minor <= 40 {
        &["CREATE", "UPDATE", "PATCH", "CREATE_AND_UPDATE", "DELETE"]
    } else {
        &["CREATE", "UPDATE", "CREATE_AND_UPDATE", "DELETE"]
    }
}

impl Strategy {
    /// Reads `importStrategy` among `values` (default CREATE_AND_UPDATE).
    pub fn read(
        params: &Params,
        values: &[&'static str],
        binding: Binding,
    ) -> Result<Self, String> {
        let name = read(
            params,
            "importStrategy",
            values,
            "CREATE_AND_UPDATE",
            binding,
        )?;
        Ok(Self::from_name(name))
    }

    /// Metadata import's `importStrategy`: exact, else CREATE_AND_UPDATE.
    pub fn exact_or_default(params: &Params) -> Self {
        Self::from_name(exact_or_default(
            params,
            "importStrategy",
            IMPORT_STRATEGIES,
            "CREATE_AND_UPDATE",
        ))
    }

    /// What an `ImportStrategy` name does (`isCreate`, `isUpdate`…); SYNC and
    /// PATCH are taken as create-and-update and update (*inferred*).
    fn from_name(name: &str) -> Self {
        match name {
            "CREATE" | "NEW" => Self::Create,
            "UPDATE" | "UPDATES" | "PATCH" => Self::Update,
            "DELETE" | "DELETES" => Self::Delete,
            _ => Self::CreateAndUpdate,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::CreateAndUpdate => "CREATE_AND_UPDATE",
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strategy(q: &str, binding: Binding) -> Result<Strategy, String> {
        Strategy::read(&Params::parse(Some(q)), IMPORT_STRATEGIES, binding)
    }

    #[test]
    fn metadata_takes_exact_names_and_falls_back_silently() {
        let strategy = |q: &str| Strategy::exact_or_default(&Params::parse(Some(q)));
        assert_eq!(strategy(""), Strategy::CreateAndUpdate);
        assert_eq!(strategy("importStrategy=DELETE"), Strategy::Delete);
        assert_eq!(strategy("importStrategy=NEW"), Strategy::Create);
        assert_eq!(strategy("importStrategy=delete"), Strategy::CreateAndUpdate);
        assert_eq!(strategy("importStrategy=MERGE"), Strategy::CreateAndUpdate);
    }

    #[test]
    fn bound_parameters_take_any_case_from_2_40_and_refuse_the_rest() {
        assert_eq!(
            strategy("importStrategy=delete", Binding::bound(40)),
            Ok(Strategy::Delete)
        );
        let e = strategy("importStrategy=MERGE", Binding::bound(41)).unwrap_err();
        assert!(e.starts_with("Value 'MERGE' is not valid for parameter importStrategy. Valid values are: [CREATE, UPDATE"), "{e}");
        let e = strategy("importStrategy=delete", Binding::bound(39)).unwrap_err();
        assert!(
            e.starts_with("Value delete is not a valid importStrategy."),
            "{e}"
        );
    }
}
