//! Aggregate data values: streamed export, capped change count, import.

use chrono::{NaiveDate, NaiveDateTime};
use reqwest::Method;
use serde::Serialize;

use super::accounting;
use super::client::{Dhis2Client, json_body};
use super::data_value::{DataValue, DataValueSet};
use super::error::{Dhis2Error, Result};
use super::params::{ImportStrategy, Query, push, push_bool};
use super::report_parsing::data_value_import_from;
use super::reports::ImportSummary;
use super::response::{check, is_json_type};
use super::stream_json::{DataValueStream, spawn_data_value_parser};
use super::time::{format_date, format_timestamp};

/// Selection for `GET /api/dataValueSets.json`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataValueQuery {
    pub data_sets: Vec<String>,
    /// 2.39+.
    pub data_elements: Vec<String>,
    pub data_element_groups: Vec<String>,
    pub org_units: Vec<String>,
    pub org_unit_groups: Vec<String>,
    /// Include the org units' descendants.
    pub children: bool,
    pub periods: Vec<String>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    /// Values changed since (server-local). Beware: DHIS2 compares this bound
    /// as UTC with a column in server-local time, so on a server west of UTC
    /// the window starts |offset| hours late (2.41.3
    /// dxf2/datavalueset/SpringDataValueSetStore.java getDataValueSql,
    /// `toLongGmtDate`); syncs use [`Self::last_updated_duration`].
    pub last_updated: Option<NaiveDateTime>,
    /// Values changed in the last DURATION, in whole seconds
    /// (`lastUpdatedDuration=Ns`, 2.39+): the server subtracts it from its own
    /// local clock (`DateUtils.nowMinusDuration`), so the bound does not depend
    /// on its UTC offset nor on the client's clock.
    pub last_updated_duration: Option<std::time::Duration>,
    /// Also soft-deleted values, so deletions propagate.
    pub include_deleted: bool,
    pub attribute_option_combos: Vec<String>,
}

impl DataValueQuery {
    /// Query parameters; checks DHIS2's "one of" rules up front.
    pub fn to_query(&self, limit: Option<u64>) -> Result<Query> {
        let mut q = Query::new();
        let many =
            |q: &mut Query, k: &str, vs: &[String]| vs.iter().for_each(|v| push(q, k, v.clone()));
        if self.data_sets.is_empty()
            && self.data_elements.is_empty()
            && self.data_element_groups.is_empty()
        {
            return Err(Dhis2Error::Config(
                "data value export needs data sets, data elements or data element groups".into(),
            ));
        }
        if self.org_units.is_empty() && self.org_unit_groups.is_empty() {
            return Err(Dhis2Error::Config(
                "data value export needs org units or org unit groups".into(),
            ));
        }
        if self.start_date.is_some() != self.end_date.is_some() {
            return Err(Dhis2Error::Config(
                "data value export needs both start and end dates".into(),
            ));
        }
        let changed_since = self.last_updated.is_some() || self.last_updated_duration.is_some();
        if self.periods.is_empty() && self.start_date.is_none() && !changed_since {
            return Err(Dhis2Error::Config(
                "data value export needs periods, a start+end date or a last-updated watermark"
                    .into(),
            ));
        }
        many(&mut q, "dataSet", &self.data_sets);
        many(&mut q, "dataElement", &self.data_elements);
        many(&mut q, "dataElementGroup", &self.data_element_groups);
        many(&mut q, "orgUnit", &self.org_units);
        many(&mut q, "orgUnitGroup", &self.org_unit_groups);
        many(&mut q, "period", &self.periods);
        many(
            &mut q,
            "attributeOptionCombo",
            &self.attribute_option_combos,
        );
        if self.children {
            push(&mut q, "children", "true");
        }
        match (self.start_date, self.end_date) {
            (Some(s), Some(e)) => {
                push(&mut q, "startDate", format_date(s));
                push(&mut q, "endDate", format_date(e));
            }
            // 2.43.0 answers lastUpdated alone with 409 E2002 (DHIS2-21821);
            // a catch-all date range works on every version.
            _ if self.periods.is_empty() && changed_since => {
                push(&mut q, "startDate", "1900-01-01");
                push(&mut q, "endDate", "2100-12-31");
            }
            _ => {}
        }
        if let Some(ts) = self.last_updated {
            push(&mut q, "lastUpdated", format_timestamp(ts));
        } else if let Some(d) = self.last_updated_duration {
            // DHIS2's duration pattern takes whole units: round up, never narrower.
            let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            push(&mut q, "lastUpdatedDuration", format!("{secs}s"));
        }
        if self.include_deleted {
            push(&mut q, "includeDeleted", "true");
        }
        if let Some(l) = limit {
            push(&mut q, "limit", l.to_string());
        }
        Ok(q)
    }
}

/// A change count that may stop at a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeCount {
    pub count: u64,
    /// `false` when the count hit the cap (there may be more).
    pub exact: bool,
}

/// `POST /api/dataValueSets` parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataValueImportParams {
    pub strategy: ImportStrategy,
    pub dry_run: bool,
    /// Overrides locks (superuser only).
    pub force: bool,
    pub skip_audit: bool,
    pub skip_existing_check: bool,
}

impl DataValueImportParams {
    pub(crate) fn to_query(self) -> Query {
        let mut q = Query::new();
        push(&mut q, "importStrategy", self.strategy.as_str());
        push_bool(&mut q, "dryRun", self.dry_run);
        push_bool(&mut q, "force", self.force);
        push_bool(&mut q, "skipAudit", self.skip_audit);
        push_bool(&mut q, "skipExistingCheck", self.skip_existing_check);
        q
    }
}

/// Refuses a summary that does not account for each of the `sent` values
/// (DHIS2 counts every value once, dry runs included).
pub(crate) fn accounted_data_values(summary: &ImportSummary, sent: usize, url: &str) -> Result<()> {
    match accounting::data_values(summary, sent as u64) {
        Some(reason) => Err(Dhis2Error::inconsistent(
            url,
            format!("the data value import summary: {reason}"),
        )),
        None => Ok(()),
    }
}

#[derive(Serialize)]
struct Payload<'a> {
    #[serde(rename = "dataValues")]
    data_values: &'a [DataValue],
}

pub(crate) fn data_values_body(values: &[DataValue]) -> Result<Vec<u8>> {
    json_body(
        &Payload {
            data_values: values,
        },
        "data values",
    )
}

impl Dhis2Client {
    /// Streams `GET /api/dataValueSets.json` in batches of `batch_size`,
    /// parsing the body as it arrives (memory flat in the export size).
    pub async fn data_values(
        &self,
        query: &DataValueQuery,
        batch_size: usize,
    ) -> Result<DataValueStream> {
        self.data_values_limited(query, None, batch_size).await
    }

    async fn data_values_limited(
        &self,
        query: &DataValueQuery,
        limit: Option<u64>,
        batch_size: usize,
    ) -> Result<DataValueStream> {
        let q = query.to_query(limit)?;
        let resp = self
            .send(Method::GET, &["dataValueSets.json"], &q, None)
            .await?;
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let streamable = (200..300).contains(&status) && ct.as_deref().is_none_or(is_json_type);
        if !streamable {
            // Errors and non-JSON answers are small: read and classify them.
            let (meta, body) = self.read_body(resp).await?;
            check(&meta, &body)?;
            return Err(Dhis2Error::bad_payload(
                "data value export: unexpected response",
                &body,
            ));
        }
        let source = super::response::url_for_message(resp.url());
        // The idle deadline holds for the whole stream, however long it runs.
        let bytes = self.body_stream(resp);
        Ok(spawn_data_value_parser(bytes, batch_size, source))
    }

    /// Counts values changed since `query.last_updated`, stopping at `cap`
    /// (DHIS2 has no count endpoint; `limit` keeps the transfer bounded).
    pub async fn count_data_value_changes(
        &self,
        query: &DataValueQuery,
        cap: u64,
    ) -> Result<ChangeCount> {
        let mut stream = self
            .data_values_limited(query, Some(cap.saturating_add(1)), 10_000)
            .await?;
        let mut n: u64 = 0;
        while let Some(batch) = stream.next_batch().await {
            n += batch?.len() as u64;
            if n > cap {
                return Ok(ChangeCount {
                    count: cap,
                    exact: false,
                });
            }
        }
        Ok(ChangeCount {
            count: n,
            exact: true,
        })
    }

    /// `POST /api/dataValueSets` (synchronous). A 409 with a summary is `Ok`:
    /// check `status`, `conflicts` and `import_count`.
    pub async fn import_data_values(
        &self,
        values: &[DataValue],
        params: &DataValueImportParams,
    ) -> Result<ImportSummary> {
        self.post_data_values(data_values_body(values)?, values.len(), params)
            .await
    }

    /// `POST /api/dataValueSets` with the set's header (`dataSet`, `period`,
    /// `orgUnit`, `completeDate`): with a `dataSet`, DHIS2 checks periods
    /// (expiry, future, input periods) against that data set only. Same result
    /// as [`Self::import_data_values`].
    pub async fn import_data_value_set(
        &self,
        set: &DataValueSet,
        params: &DataValueImportParams,
    ) -> Result<ImportSummary> {
        let body = json_body(set, "data values")?;
        self.post_data_values(body, set.data_values.len(), params)
            .await
    }

    async fn post_data_values(
        &self,
        body: Vec<u8>,
        sent: usize,
        params: &DataValueImportParams,
    ) -> Result<ImportSummary> {
        let mut q = params.to_query();
        push(&mut q, "async", "false");
        let (meta, body) = self
            .request(Method::POST, &["dataValueSets"], &q, Some(body))
            .await?;
        let summary = data_value_import_from(&meta, &body)?;
        accounted_data_values(&summary, sent, &meta.url)?;
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::dhis2::time::parse_timestamp;

    fn q(pairs: &Query) -> Vec<String> {
        pairs.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    #[test]
    fn last_updated_alone_gets_catch_all_dates() {
        let query = DataValueQuery {
            data_sets: vec!["ds1".into(), "ds2".into()],
            org_units: vec!["ROOT".into()],
            children: true,
            last_updated: parse_timestamp("2024-05-01T10:00:00"),
            include_deleted: true,
            ..Default::default()
        };
        assert_eq!(
            q(&query.to_query(Some(11)).unwrap()),
            [
                "dataSet=ds1",
                "dataSet=ds2",
                "orgUnit=ROOT",
                "children=true",
                "startDate=1900-01-01",
                "endDate=2100-12-31",
                "lastUpdated=2024-05-01T10:00:00.000",
                "includeDeleted=true",
                "limit=11"
            ]
        );
        let with_period = DataValueQuery {
            periods: vec!["202401".into()],
            ..query.clone()
        };
        assert!(
            !q(&with_period.to_query(None).unwrap()).contains(&"startDate=1900-01-01".to_string())
        );
    }

    #[test]
    fn duration_is_whole_seconds_rounded_up_with_catch_all_dates() {
        let query = DataValueQuery {
            data_sets: vec!["ds".into()],
            org_units: vec!["ROOT".into()],
            last_updated_duration: Some(std::time::Duration::from_millis(90_001)),
            ..Default::default()
        };
        let got = q(&query.to_query(None).unwrap());
        assert!(
            got.contains(&"lastUpdatedDuration=91s".to_string()),
            "{got:?}"
        );
        assert!(got.contains(&"startDate=1900-01-01".to_string()), "{got:?}");
        assert!(
            !got.iter().any(|p| p.starts_with("lastUpdated=")),
            "{got:?}"
        );
    }

    #[test]
    fn query_validation() {
        let base = DataValueQuery {
            data_sets: vec!["ds".into()],
            org_units: vec!["ou".into()],
            periods: vec!["2024".into()],
            ..Default::default()
        };
        assert!(base.to_query(None).is_ok());
        for bad in [
            DataValueQuery {
                data_sets: vec![],
                ..base.clone()
            },
            DataValueQuery {
                org_units: vec![],
                ..base.clone()
            },
            DataValueQuery {
                periods: vec![],
                ..base.clone()
            },
            DataValueQuery {
                start_date: NaiveDate::from_ymd_opt(2024, 1, 1),
                ..base.clone()
            },
        ] {
            assert!(matches!(bad.to_query(None), Err(Dhis2Error::Config(_))));
        }
    }

    #[test]
    fn data_value_serde() {
        let v: DataValue = serde_json::from_str(
            r#"{"dataElement":"d","period":"2024","orgUnit":"o","value":12,"followup":false,"unknownField":[1]}"#,
        )
        .unwrap();
        assert_eq!(v.value.as_deref(), Some("12"));
        let out = serde_json::to_string(&v).unwrap();
        assert_eq!(
            out,
            r#"{"dataElement":"d","period":"2024","orgUnit":"o","value":"12","followup":false}"#
        );
        let v: DataValue = serde_json::from_str(
            r#"{"dataElement":"d","period":"p","orgUnit":"o","value":null,"deleted":true}"#,
        )
        .unwrap();
        assert_eq!(v.value, None);
        assert_eq!(v.deleted, Some(true));
        assert!(serde_json::from_str::<DataValue>(r#"{"period":"p","orgUnit":"o"}"#).is_err());
        let body = data_values_body(&[v]).unwrap();
        assert_eq!(
            body,
            br#"{"dataValues":[{"dataElement":"d","period":"p","orgUnit":"o","deleted":true}]}"#
        );
    }
}
