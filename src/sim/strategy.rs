//! `importStrategy` as DHIS2's importers read it, old aliases included, shared by
//! the metadata, data value and tracker imports.

use super::query::Params;

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Strategy {
    CreateAndUpdate,
    Create,
    Update,
    Delete,
}

impl Strategy {
    /// Reads `importStrategy` (default CREATE_AND_UPDATE); an unknown value is
    /// refused rather than guessed, as DHIS2 answers 400 for it.
    pub fn from_params(params: &Params) -> Result<Self, String> {
        let raw = params.get("importStrategy").unwrap_or("CREATE_AND_UPDATE");
        match raw.to_ascii_uppercase().as_str() {
            "CREATE_AND_UPDATE" | "CREATE_UPDATE" => Ok(Self::CreateAndUpdate),
            "CREATE" | "NEW" => Ok(Self::Create),
            "UPDATE" | "UPDATES" => Ok(Self::Update),
            "DELETE" | "DELETES" => Ok(Self::Delete),
            _ => Err(format!(
                "Value `{raw}` is not valid for parameter importStrategy: use CREATE_AND_UPDATE, CREATE, UPDATE or DELETE"
            )),
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

    #[test]
    fn reads_names_aliases_and_refuses_the_rest() {
        let read = |q: &str| Strategy::from_params(&Params::parse(Some(q)));
        assert_eq!(read(""), Ok(Strategy::CreateAndUpdate));
        assert_eq!(read("importStrategy=delete"), Ok(Strategy::Delete));
        assert_eq!(read("importStrategy=NEW"), Ok(Strategy::Create));
        assert!(read("importStrategy=MERGE").unwrap_err().contains("MERGE"));
    }
}
