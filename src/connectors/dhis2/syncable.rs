//! Which metadata types `metadata = ["*"]` moves: an allow-list, so a type a
//! new DHIS2 release adds is not synced until someone has looked at it.
//!
//! Decided from the metadata schemas of dhis2-core 2.39.6–2.42.1
//! (`schema/descriptors/*SchemaDescriptor.java`, `Schema.isMetadata()`). Left
//! out, and why (each can still be named in `metadata = [...]`, which opts in
//! with a warning):
//! - `users`, `userRoles`, `userGroups`: accounts, password hashes and
//!   authorities belong to each instance; moving them creates logins and
//!   privileges on the destination and overwrites its own.
//! - `apiToken`, `oAuth2Clients`, `oAuth2Authorizations`,
//!   `oAuth2AuthorizationConsents`: credentials and client secrets.
//! - `jobConfigurations`: the server's own scheduler (analytics, syncs, pushes)
//!   would start running on the destination.
//! - `eventHooks`, `routes`, `aggregateDataExchanges`: outbound targets with
//!   their URLs and stored authentication (tokens, passwords).
//! - `pushAnalysis`: scheduled e-mails to the instance's own user groups.
//! - `analyticsTableHooks`: SQL run inside the destination's analytics tables.
//! - `documents`: an uploaded document's file lives in `fileResources`, which
//!   are not metadata; the copy would point at a file the destination lacks.
//!
//! Everything else that DHIS2 marks as metadata is configuration that a
//! destination should hold like the source does.
pub const SYNCABLE: &[&str] = &[
    "attributes",
    "expressionDimensionItems",
    "sqlViews",
    "constants",
    "options",
    "optionSets",
    "optionGroups",
    "optionGroupSets",
    "legendSets",
    "organisationUnits",
    "organisationUnitLevels",
    "organisationUnitGroups",
    "organisationUnitGroupSets",
    "categoryOptions",
    "categoryOptionGroups",
    "categoryOptionGroupSets",
    "categories",
    "categoryCombos",
    "categoryOptionCombos",
    "dataElements",
    "dataElementGroups",
    "dataElementGroupSets",
    "indicatorTypes",
    "indicators",
    "indicatorGroups",
    "indicatorGroupSets",
    "dataEntryForms",
    "dataSets",
    "dataSetNotificationTemplates",
    "sections",
    "dataApprovalLevels",
    "dataApprovalWorkflows",
    "validationRules",
    "validationRuleGroups",
    "validationNotificationTemplates",
    "trackedEntityAttributes",
    "trackedEntityTypes",
    "programTrackedEntityAttributeGroups",
    "programStageSections",
    "programNotificationTemplates",
    "programStages",
    "smsCommands",
    "programs",
    "eventCharts",
    "programSections",
    "programIndicators",
    "programRuleVariables",
    "relationshipTypes",
    "programIndicatorGroups",
    "programRuleActions",
    "programRules",
    "eventReports",
    "mapViews",
    "eventVisualizations",
    "externalMapLayers",
    "maps",
    "reports",
    "visualizations",
    "predictors",
    "predictorGroups",
    "dashboards",
    "programStageWorkingLists",
    "trackedEntityInstanceFilters",
    "eventFilters",
];

/// Whether `*` includes this metadata type (a plural, as `/api/schemas` names it).
pub fn is_syncable(plural: &str) -> bool {
    SYNCABLE.contains(&plural)
}

/// The names in a `metadata = [...]` list that opt in to a type `*` leaves
/// out (users, credentials, server-local state).
pub fn opted_in(metadata: &[String]) -> Vec<&str> {
    metadata
        .iter()
        .map(String::as_str)
        .filter(|m| *m != "*" && !is_syncable(m))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_credentials_are_never_in_the_default() {
        for t in [
            "users",
            "userRoles",
            "userGroups",
            "apiToken",
            "oAuth2Clients",
            "jobConfigurations",
            "eventHooks",
            "routes",
            "aggregateDataExchanges",
        ] {
            assert!(!is_syncable(t), "{t}");
        }
        assert!(is_syncable("dataElements") && is_syncable("attributes"));
        let named = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            opted_in(&named(&["*", "users", "dataSets", "userRoles"])),
            ["users", "userRoles"]
        );
    }
}
