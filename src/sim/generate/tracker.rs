//! Tracker part of the generated dataset: attributes, the Person type, a tracker
//! and an event program, and their tracked entities, enrollments and events.

use chrono::{Duration, NaiveDateTime};
use rand::Rng;
use serde_json::{Value, json};

use super::super::clock;
use super::super::model::{MetaType, defaults};
use super::super::tracker_store::TrackerKind;
use super::{Generator, Shape};

impl Generator<'_> {
    pub(super) fn tracker(
        &mut self,
        shape: &Shape,
        facilities: &[String],
        yes_no: &str,
        delivery: &str,
    ) {
        let attribute = |g: &mut Self, name: &str, value_type: &str, option_set: Option<&str>| {
            let id = g.uid();
            let mut body = json!({"id": id, "name": name, "shortName": name, "valueType": value_type,
                                  "aggregationType": "NONE", "unique": name == "National ID"});
            if let Some(os) = option_set {
                body["optionSet"] = json!({"id": os});
            }
            g.put(MetaType::TrackedEntityAttribute, body)
        };
        let first = attribute(self, "First name", "TEXT", None);
        let last = attribute(self, "Last name", "TEXT", None);
        let national_id = attribute(self, "National ID", "TEXT", None);
        let te_type = self.uid();
        self.put(
            MetaType::TrackedEntityType,
            json!({"id": te_type, "name": "Person", "trackedEntityTypeAttributes": [
                {"trackedEntityAttribute": {"id": first}}, {"trackedEntityAttribute": {"id": last}},
                {"trackedEntityAttribute": {"id": national_id}}]}),
        );
        let tracker_de = |g: &mut Self, name: &str, value_type: &str, option_set: Option<&str>| {
            let id = g.uid();
            let mut body = json!({"id": id, "name": name, "shortName": name, "valueType": value_type,
                                  "domainType": "TRACKER", "aggregationType": "NONE",
                                  "categoryCombo": {"id": defaults::CATEGORY_COMBO}});
            if let Some(os) = option_set {
                body["optionSet"] = json!({"id": os});
            }
            g.put(MetaType::DataElement, body)
        };
        let hb = tracker_de(self, "Haemoglobin", "NUMBER", None);
        let weight = tracker_de(self, "Weight in kg", "NUMBER", None);
        let mode = tracker_de(self, "Delivery mode", "TEXT", Some(delivery));
        let rdt = tracker_de(self, "Malaria RDT positive", "TEXT", Some(yes_no));
        let ous: Vec<Value> = facilities.iter().map(|f| json!({"id": f})).collect();

        let anc = self.uid();
        let anc_stage = self.uid();
        let case = self.uid();
        let case_stage = self.uid();
        for (program, stage, name, stage_name, des, registration) in [
            (
                &anc,
                &anc_stage,
                "Antenatal care",
                "ANC visit",
                vec![&hb, &weight, &mode],
                true,
            ),
            (
                &case,
                &case_stage,
                "Malaria case",
                "Case report",
                vec![&rdt, &weight],
                false,
            ),
        ] {
            let psde: Vec<Value> = des
                .iter()
                .map(|d| json!({"dataElement": {"id": d}, "compulsory": false}))
                .collect();
            self.put(
                MetaType::ProgramStage,
                json!({"id": stage, "name": stage_name, "program": {"id": program}, "repeatable": registration,
                       "sortOrder": 1, "programStageDataElements": psde}),
            );
            let mut body = json!({"id": program, "name": name, "shortName": name,
                "programType": if registration { "WITH_REGISTRATION" } else { "WITHOUT_REGISTRATION" },
                "categoryCombo": {"id": defaults::CATEGORY_COMBO},
                "programStages": [{"id": stage}], "organisationUnits": ous});
            if registration {
                body["trackedEntityType"] = json!({"id": te_type});
                body["programTrackedEntityAttributes"] = json!([
                    {"trackedEntityAttribute": {"id": first}}, {"trackedEntityAttribute": {"id": last}},
                    {"trackedEntityAttribute": {"id": national_id}}]);
            }
            self.put(MetaType::Program, body);
        }

        const FIRST: &[&str] = &[
            "Aminata", "Fatmata", "Mariama", "Isatu", "Kadiatu", "Hawa", "Zainab", "Adama",
        ];
        const LAST: &[&str] = &[
            "Kamara", "Sesay", "Koroma", "Bangura", "Conteh", "Turay", "Jalloh", "Kargbo",
        ];
        let modes = ["NORMAL", "ASSISTED", "CAESAREAN"];
        for n in 0..shape.tracked_entities {
            let ou = facilities[self.rng.random_range(0..facilities.len())].clone();
            let te = self.uid();
            let at = self.past();
            let attributes = json!([
                {"attribute": first, "value": FIRST[self.rng.random_range(0..FIRST.len())]},
                {"attribute": last, "value": LAST[self.rng.random_range(0..LAST.len())]},
                {"attribute": national_id, "value": format!("NID{n:07}")},
            ]);
            self.put_tracker(
                TrackerKind::TrackedEntity,
                &te,
                json!({
                "trackedEntityType": te_type, "orgUnit": ou, "inactive": false,
                "potentialDuplicate": false, "attributes": attributes}),
                at,
            );
            let enrollment = self.uid();
            let enrolled = clock::format(at);
            self.put_tracker(
                TrackerKind::Enrollment,
                &enrollment,
                json!({
                "trackedEntity": te, "program": anc, "status": "ACTIVE", "orgUnit": ou,
                "enrolledAt": enrolled, "occurredAt": enrolled, "followUp": false}),
                at,
            );
            for v in 0..self.rng.random_range(1..=3) {
                let event = self.uid();
                let when = clock::format(at + Duration::days(30 * v));
                let values = json!([
                    {"dataElement": hb, "value": format!("{:.1}", self.rng.random_range(80..140) as f64 / 10.0)},
                    {"dataElement": weight, "value": self.rng.random_range(45..95).to_string()},
                    {"dataElement": mode, "value": modes[self.rng.random_range(0..modes.len())]},
                ]);
                self.put_tracker(TrackerKind::Event, &event, json!({
                    "program": anc, "programStage": anc_stage, "enrollment": enrollment, "trackedEntity": te,
                    "orgUnit": ou, "status": "COMPLETED", "occurredAt": when,
                    "attributeOptionCombo": defaults::CATEGORY_OPTION_COMBO, "dataValues": values}), at);
            }
        }
        for _ in 0..shape.tracked_entities {
            let ou = facilities[self.rng.random_range(0..facilities.len())].clone();
            let event = self.uid();
            let at = self.past();
            let values = json!([
                {"dataElement": rdt, "value": if self.rng.random_bool(0.4) { "YES" } else { "NO" }},
                {"dataElement": weight, "value": self.rng.random_range(5..90).to_string()},
            ]);
            self.put_tracker(TrackerKind::Event, &event, json!({
                "program": case, "programStage": case_stage, "orgUnit": ou, "status": "COMPLETED",
                "occurredAt": clock::format(at), "attributeOptionCombo": defaults::CATEGORY_OPTION_COMBO,
                "dataValues": values}), at);
        }
    }

    fn put_tracker(&mut self, kind: TrackerKind, uid: &str, body: Value, at: NaiveDateTime) {
        if let Value::Object(body) = body {
            self.state.tracker.put(kind, uid, body, at);
        }
    }
}
