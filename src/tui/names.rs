//! What a resource is called on screen: its kind in a short word and its
//! name for people (a data set's or program's name, a metadata type), from
//! the plan's label and its key. Keys (`dataValues:LHsK5LeOCm2`) are for
//! watermarks, not for operators; a row stored before labels were kept
//! falls back to the part of its key after the colon.

/// A resource as the console names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceName {
    /// `meta`, `data`, `events`, `enrol`, `entities`, `deletions`, `pull`.
    pub kind: &'static str,
    pub name: String,
    /// A deletion pass: its objects are checked, and some deleted.
    pub deletions: bool,
}

pub fn resource_name(key: &str, label: &str) -> ResourceName {
    let (prefix, id) = key.split_once(':').unwrap_or((key, ""));
    let (kind, deletions) = match prefix {
        "metadata" => ("meta", false),
        "dataValues" => ("data", false),
        "events" => ("events", false),
        "enrollments" => ("enrol", false),
        "trackedEntities" => ("entities", false),
        "trackerDeletions" | "metadataDeletions" => ("deletions", true),
        // An http_pull config's one resource.
        "document" => ("pull", false),
        _ => ("other", false),
    };
    // Labels read `Data values: ANC monthly`; the kind has its own column.
    let from_label = label
        .split_once(": ")
        .map_or(label, |(_, name)| name)
        .trim();
    let name = if prefix == "metadataDeletions" {
        "metadata".to_string()
    } else if !from_label.is_empty() {
        from_label.to_string()
    } else if !id.is_empty() {
        id.to_string()
    } else {
        key.to_string()
    };
    ResourceName {
        kind,
        name,
        deletions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_label_and_the_kind_from_the_key() {
        let n = resource_name("document", "configuration document");
        assert_eq!(
            (n.kind, n.name.as_str()),
            ("pull", "configuration document")
        );
        let n = resource_name("dataValues:LHsK5LeOCm2", "Data values: ANC monthly");
        assert_eq!(
            (n.kind, n.name.as_str(), n.deletions),
            ("data", "ANC monthly", false)
        );
        let n = resource_name("metadata:options+optionSets", "options + optionSets");
        assert_eq!((n.kind, n.name.as_str()), ("meta", "options + optionSets"));
        let n = resource_name("trackerDeletions:IpHINAT79UW", "Tracker deletions: Child");
        assert_eq!(
            (n.kind, n.name.as_str(), n.deletions),
            ("deletions", "Child", true)
        );
        let n = resource_name("metadataDeletions", "Metadata deletions");
        assert_eq!(
            (n.kind, n.name.as_str(), n.deletions),
            ("deletions", "metadata", true)
        );
        // Rows from before labels were stored.
        let n = resource_name("events:IpHINAT79UW", "");
        assert_eq!((n.kind, n.name.as_str()), ("events", "IpHINAT79UW"));
    }
}
