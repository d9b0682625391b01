//! `/api/tracker`: version-aware paged export, change counts, import.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use reqwest::Method;
use serde_json::Value;

use super::accounting;
use super::client::{Dhis2Client, json_body};
use super::error::{Dhis2Error, Result};
use super::jobs::job_started_from;
use super::pager::{Envelope, Pager, page_from};
use super::params::{
    ImportMode, ImportStrategy, Query, ReportMode, TrackerAtomicMode, push, push_bool,
};
use super::report_parsing::{is_job_ack, tracker_import_from};
use super::time::format_timestamp;
use super::tracker_report::{TrackerReport, TrackerType};
use super::version::DhisVersion;

/// What `/api/tracker/{…}` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackerKind {
    TrackedEntities,
    Enrollments,
    Events,
}

impl TrackerKind {
    /// Path segment and (2.41+) item key.
    pub fn plural(self) -> &'static str {
        match self {
            TrackerKind::TrackedEntities => "trackedEntities",
            TrackerKind::Enrollments => "enrollments",
            TrackerKind::Events => "events",
        }
    }

    /// The UID field of one item.
    pub fn id_field(self) -> &'static str {
        match self {
            TrackerKind::TrackedEntities => "trackedEntity",
            TrackerKind::Enrollments => "enrollment",
            TrackerKind::Events => "event",
        }
    }
}

/// `orgUnitMode` (`ouMode` up to 2.40).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgUnitMode {
    Selected,
    Children,
    Descendants,
    Accessible,
    Capture,
    /// Needs `ALL` or `F_TRACKED_ENTITY_INSTANCE_SEARCH_IN_ALL_ORGUNITS`.
    All,
}

impl OrgUnitMode {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgUnitMode::Selected => "SELECTED",
            OrgUnitMode::Children => "CHILDREN",
            OrgUnitMode::Descendants => "DESCENDANTS",
            OrgUnitMode::Accessible => "ACCESSIBLE",
            OrgUnitMode::Capture => "CAPTURE",
            OrgUnitMode::All => "ALL",
        }
    }
}

/// Selection for a tracker export or count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerQuery {
    pub program: Option<String>,
    /// Tracked entities need `program` or this.
    pub tracked_entity_type: Option<String>,
    pub org_units: Vec<String>,
    pub org_unit_mode: Option<OrgUnitMode>,
    /// Changed since (server-local), tested on `updatedAt`.
    pub updated_after: Option<NaiveDateTime>,
    pub include_deleted: bool,
    pub page_size: u32,
    /// `fields`; `None` keeps DHIS2's per-kind default.
    pub fields: Option<String>,
}

impl Default for TrackerQuery {
    fn default() -> Self {
        TrackerQuery {
            program: None,
            tracked_entity_type: None,
            org_units: Vec::new(),
            org_unit_mode: None,
            updated_after: None,
            include_deleted: true,
            page_size: 500,
            fields: None,
        }
    }
}

/// Query parameters (without paging) for this server version:
/// ≤2.40 `orgUnit=a;b` + `ouMode`; 2.41+ `orgUnits=a,b` (events: `orgUnit`) + `orgUnitMode`.
pub fn tracker_query_params(
    kind: TrackerKind,
    q: &TrackerQuery,
    version: DhisVersion,
) -> Result<Query> {
    let mut out = Query::new();
    if kind == TrackerKind::TrackedEntities
        && q.program.is_none()
        && q.tracked_entity_type.is_none()
    {
        return Err(Dhis2Error::Config(
            "tracked entity export needs a program or a tracked entity type".into(),
        ));
    }
    if let Some(p) = &q.program {
        push(&mut out, "program", p.clone());
    }
    if let Some(t) = &q.tracked_entity_type {
        push(&mut out, "trackedEntityType", t.clone());
    }
    let modern = version.at_least(2, 41);
    if !q.org_units.is_empty() {
        if !modern {
            push(&mut out, "orgUnit", q.org_units.join(";"));
        } else if kind == TrackerKind::Events {
            if q.org_units.len() > 1 {
                return Err(Dhis2Error::Config(
                    "event export takes one org unit from DHIS2 2.41 on; use a common root with orgUnitMode DESCENDANTS or one query per org unit".into(),
                ));
            }
            push(&mut out, "orgUnit", q.org_units[0].clone());
        } else {
            push(&mut out, "orgUnits", q.org_units.join(","));
        }
    }
    if let Some(m) = q.org_unit_mode {
        push(
            &mut out,
            if modern { "orgUnitMode" } else { "ouMode" },
            m.as_str(),
        );
    }
    if let Some(ts) = q.updated_after {
        push(&mut out, "updatedAfter", format_timestamp(ts));
    }
    if q.include_deleted {
        push(&mut out, "includeDeleted", "true");
    }
    if let Some(f) = &q.fields {
        push(&mut out, "fields", f.clone());
    }
    Ok(out)
}

/// `POST /api/tracker` parameters; defaults are the sync settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackerImportParams {
    /// DHIS2 defaults to async; synchronous gives the report directly.
    pub async_mode: bool,
    pub strategy: ImportStrategy,
    pub atomic_mode: TrackerAtomicMode,
    pub import_mode: ImportMode,
    pub report_mode: ReportMode,
    /// No duplicate notifications at the destination.
    pub skip_side_effects: bool,
    pub skip_rule_engine: bool,
}

impl Default for TrackerImportParams {
    fn default() -> Self {
        TrackerImportParams {
            async_mode: false,
            strategy: ImportStrategy::CreateAndUpdate,
            atomic_mode: TrackerAtomicMode::Object,
            import_mode: ImportMode::Commit,
            report_mode: ReportMode::Errors,
            skip_side_effects: true,
            skip_rule_engine: true,
        }
    }
}

impl TrackerImportParams {
    pub(crate) fn to_query(self) -> Query {
        let mut q = Query::new();
        push_bool(&mut q, "async", self.async_mode);
        push(&mut q, "importStrategy", self.strategy.as_str());
        push(&mut q, "atomicMode", self.atomic_mode.as_str());
        push(&mut q, "importMode", self.import_mode.as_str());
        push(&mut q, "reportMode", self.report_mode.tracker_str());
        push_bool(&mut q, "skipSideEffects", self.skip_side_effects);
        push_bool(&mut q, "skipRuleEngine", self.skip_rule_engine);
        q
    }
}

/// Objects per type in a tracker payload, flat or nested
/// (trackedEntities → enrollments → events, relationships at any level).
pub fn tracker_payload_counts(payload: &Value) -> BTreeMap<TrackerType, usize> {
    fn walk(v: &Value, key: &str, out: &mut BTreeMap<TrackerType, usize>) {
        let t = match key {
            "trackedEntities" => TrackerType::TrackedEntity,
            "enrollments" => TrackerType::Enrollment,
            "events" => TrackerType::Event,
            "relationships" => TrackerType::Relationship,
            _ => return,
        };
        let Some(items) = v.as_array() else { return };
        *out.entry(t).or_default() += items.len();
        for item in items {
            for (k, child) in item.as_object().into_iter().flatten() {
                walk(child, k, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    for (k, v) in payload.as_object().into_iter().flatten() {
        walk(v, k, &mut out);
    }
    out
}

impl Dhis2Client {
    /// Pages of tracked entities, enrollments or events. Learns the server
    /// version first (cached) to pick parameter names and the envelope.
    pub async fn tracker_pages(
        &self,
        kind: TrackerKind,
        query: TrackerQuery,
    ) -> Result<Pager<Value>> {
        let version = self.version().await?;
        let q = tracker_query_params(kind, &query, version)?;
        Ok(Pager::new(
            self.clone(),
            vec!["tracker".into(), kind.plural().into()],
            q,
            Envelope::tracker(kind.plural(), version),
            query.page_size,
            format!("tracker {} list", kind.plural()),
        ))
    }

    /// Items changed since `query.updated_after`, from a one-item page with
    /// `totalPages=true` (`pager.total`, or the flat `total` up to 2.40).
    pub async fn count_tracker_changes(
        &self,
        kind: TrackerKind,
        query: &TrackerQuery,
    ) -> Result<u64> {
        let version = self.version().await?;
        let q = TrackerQuery {
            fields: Some(kind.id_field().into()),
            ..query.clone()
        };
        let mut params = tracker_query_params(kind, &q, version)?;
        push(&mut params, "page", "1");
        push(&mut params, "pageSize", "1");
        push(&mut params, "totalPages", "true");
        let (meta, body) = self
            .request(Method::GET, &["tracker", kind.plural()], &params, None)
            .await?;
        let page = page_from::<Value>(
            &meta,
            &body,
            &Envelope::tracker(kind.plural(), version),
            &format!("tracker {} count", kind.plural()),
            (1, 1),
        )?;
        page.info.total.ok_or_else(|| {
            Dhis2Error::bad_payload(
                format!("tracker {} count: no total in the response", kind.plural()),
                &body,
            )
        })
    }

    /// `POST /api/tracker`. Synchronous mode returns the report (200, or 409 on
    /// ERROR, both `Ok`). Async mode polls the job until it completes, then
    /// fetches its report.
    pub async fn import_tracker(
        &self,
        payload: &Value,
        params: &TrackerImportParams,
    ) -> Result<TrackerReport> {
        let body = json_body(payload, "tracker payload")?;
        let (meta, body) = self
            .request(Method::POST, &["tracker"], &params.to_query(), Some(body))
            .await?;
        let looks_async = meta.is_success()
            && serde_json::from_slice::<Value>(&body).is_ok_and(|v| is_job_ack(&v));
        let (report, url) = if !params.async_mode && !looks_async {
            (tracker_import_from(&meta, &body)?, meta.url)
        } else {
            let job = job_started_from(&meta, &body)?;
            self.wait_for_tracker_job(&job.id).await?;
            let report = self.tracker_job_report(&job.id).await?;
            (report, meta.url)
        };
        if params.import_mode == ImportMode::Commit
            && let Some(reason) = accounting::tracker(&report, &tracker_payload_counts(payload))
        {
            return Err(Dhis2Error::inconsistent(
                &url,
                format!("the tracker import report: {reason}"),
            ));
        }
        Ok(report)
    }

    /// Polls a tracker job until a notification says `completed`.
    pub async fn wait_for_tracker_job(&self, id: &str) -> Result<Vec<super::jobs::Notification>> {
        super::metadata::check_name("job id", id)?;
        self.poll_job(&["tracker", "jobs", id]).await
    }

    /// `GET /api/tracker/jobs/{id}/report?reportMode=ERRORS`.
    pub async fn tracker_job_report(&self, id: &str) -> Result<TrackerReport> {
        super::metadata::check_name("job id", id)?;
        let q: Query = vec![("reportMode".into(), "ERRORS".into())];
        let (meta, body) = self
            .request(Method::GET, &["tracker", "jobs", id, "report"], &q, None)
            .await?;
        tracker_import_from(&meta, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::dhis2::time::parse_timestamp;

    fn s(q: &Query) -> Vec<String> {
        q.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    fn query() -> TrackerQuery {
        TrackerQuery {
            program: Some("P".into()),
            org_units: vec!["a".into(), "b".into()],
            org_unit_mode: Some(OrgUnitMode::Descendants),
            updated_after: parse_timestamp("2024-05-01T10:00:00"),
            ..Default::default()
        }
    }

    #[test]
    fn params_by_version() {
        let v240 = DhisVersion::new(2, 40, 4);
        let v241 = DhisVersion::new(2, 41, 0);
        let v242 = DhisVersion::new(2, 42, 1);
        assert_eq!(
            s(&tracker_query_params(TrackerKind::TrackedEntities, &query(), v240).unwrap()),
            [
                "program=P",
                "orgUnit=a;b",
                "ouMode=DESCENDANTS",
                "updatedAfter=2024-05-01T10:00:00.000",
                "includeDeleted=true"
            ]
        );
        for v in [v241, v242] {
            assert_eq!(
                s(&tracker_query_params(TrackerKind::Enrollments, &query(), v).unwrap()),
                [
                    "program=P",
                    "orgUnits=a,b",
                    "orgUnitMode=DESCENDANTS",
                    "updatedAfter=2024-05-01T10:00:00.000",
                    "includeDeleted=true"
                ]
            );
        }
        let one = TrackerQuery {
            org_units: vec!["a".into()],
            ..query()
        };
        assert_eq!(
            s(&tracker_query_params(TrackerKind::Events, &one, v241).unwrap())[1],
            "orgUnit=a"
        );
        assert!(tracker_query_params(TrackerKind::Events, &query(), v242).is_err());
        assert_eq!(
            s(&tracker_query_params(TrackerKind::Events, &query(), v240).unwrap())[1],
            "orgUnit=a;b"
        );
        let no_program = TrackerQuery {
            program: None,
            ..query()
        };
        assert!(tracker_query_params(TrackerKind::TrackedEntities, &no_program, v241).is_err());
        assert!(tracker_query_params(TrackerKind::Events, &no_program, v240).is_ok());
    }

    #[test]
    fn import_params_defaults_are_sync_settings() {
        let q = s(&TrackerImportParams::default().to_query());
        for want in [
            "async=false",
            "atomicMode=OBJECT",
            "skipSideEffects=true",
            "skipRuleEngine=true",
            "reportMode=ERRORS",
        ] {
            assert!(q.contains(&want.to_string()), "{want}");
        }
    }
}
