//! The simulator's data approvals (`--approved-periods`), as far as a data
//! value import needs them: does a data set have an approval workflow, and is
//! a value's period, org unit and attribute option combo approved in it?
//!
//! The model is the smallest that still takes DHIS2's path: when periods are
//! given, every data set (generated or imported) has one workflow with one
//! approval level at org unit level [`LEVEL`], and each listed period is
//! approved for every org unit at that level and every attribute option
//! combo. The workflow is internal to the import validation: it is not a
//! metadata object (`/api/dataApprovalWorkflows` stays empty and data sets
//! carry no `workflow` reference), so synced metadata and digests are the
//! same with or without approvals.

use serde_json::Value;

use super::super::model::MetaType;
use super::super::state::SimState;

/// The org unit level of the workflow's one approval level (`orgUnitLevel`).
pub const LEVEL: usize = 1;

/// The id of the simulator's one workflow (never served; it names the
/// workflow in comments and tests only).
pub const WORKFLOW: &str = "SimApprovWf";

/// Approved periods of the one workflow (ISO names).
#[derive(Clone, Copy)]
pub struct Approvals<'a> {
    periods: &'a [String],
}

impl<'a> Approvals<'a> {
    pub fn new(periods: &'a [String]) -> Self {
        Self { periods }
    }

    /// DataSet.getWorkflow: the one workflow when approvals are configured.
    pub fn workflow(&self, _data_set: &str) -> Option<&'static str> {
        (!self.periods.is_empty()).then_some(WORKFLOW)
    }

    /// 2.41.3 dhis-service-core dataapproval/DefaultDataApprovalService.isApproved:
    /// the approval DataApproval.getLowestApproval names (dhis-api
    /// dataapproval/DataApproval.java: the lowest workflow level at or above
    /// the org unit's level, on the org unit's ancestor at that level) exists
    /// for the same period and attribute option combo.
    /// Here every unit at [`LEVEL`] has an approval for every listed period and
    /// every attribute option combo, so the AOC never decides.
    pub fn is_approved(&self, state: &SimState, pe: &str, ou: &str, _aoc: &str) -> bool {
        self.approval_unit(state, ou).is_some() && self.periods.iter().any(|p| p == pe)
    }

    /// The org unit an approval of `ou`'s data is recorded on: `ou` itself at
    /// [`LEVEL`], else its ancestor there (OrganisationUnit.getAncestors is
    /// its path from the root); none above that level.
    fn approval_unit<'s>(&self, state: &'s SimState, ou: &str) -> Option<&'s str> {
        let body = &state.meta(MetaType::OrganisationUnit).get(ou)?.body;
        let path = body.get("path").and_then(Value::as_str)?;
        path.split('/').filter(|s| !s.is_empty()).nth(LEVEL - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state() -> SimState {
        let mut st = SimState::default();
        let at = chrono::NaiveDate::from_ymd_opt(2024, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap();
        for ou in [
            json!({"id": "root", "name": "root"}),
            json!({"id": "region", "name": "region", "parent": {"id": "root"}}),
            json!({"id": "site", "name": "site", "parent": {"id": "region"}}),
        ] {
            st.put_meta(
                MetaType::OrganisationUnit,
                ou.as_object().unwrap().clone(),
                at,
            );
        }
        st
    }

    #[test]
    fn approved_on_the_level_one_ancestor_for_listed_periods_only() {
        let st = state();
        let periods = vec!["202403".to_string()];
        let a = Approvals::new(&periods);
        assert_eq!(a.workflow("any"), Some(WORKFLOW));
        assert_eq!(a.approval_unit(&st, "site"), Some("root"));
        assert_eq!(a.approval_unit(&st, "root"), Some("root"));
        assert!(a.is_approved(&st, "202403", "site", "aoc"));
        assert!(!a.is_approved(&st, "202404", "site", "aoc"));
        assert!(
            !a.is_approved(&st, "202403", "missing", "aoc"),
            "no org unit, no approval"
        );
        let none: Vec<String> = Vec::new();
        assert_eq!(Approvals::new(&none).workflow("any"), None);
    }
}
