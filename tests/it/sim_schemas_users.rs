//! Simulator conformance for `/api/schemas` (every type, dhis2-core's orders)
//! and for users, sharing, attributes and translations, with the reference
//! checks a metadata import makes (E5002) and what `skipSharing` changes.
//! Each test cites the dhis2-core tag and file it follows.

use serde_json::{Value, json};

use crate::common::SimProcess;
use crate::common::{get_json as get, post_json as post};

fn schema<'a>(schemas: &'a [Value], plural: &str) -> Option<&'a Value> {
    schemas.iter().find(|s| s["plural"] == plural)
}

fn position(schemas: &[Value], plural: &str) -> usize {
    schemas
        .iter()
        .position(|s| s["plural"] == plural)
        .unwrap_or_else(|| panic!("{plural} is not listed"))
}

// dhis2-core 2.39.6 / 2.41.3 / 2.42.1:
// dhis-service-schema/.../schema/DefaultSchemaService.java (init() registers the
// descriptors; getSortedSchemas() sorts by order) and
// schema/descriptors/{UserRole,User,UserGroup,ProgramStageSection,
// ProgramNotificationTemplate,ProgramStage,JobConfiguration,EventHook}SchemaDescriptor.java.
#[tokio::test]
async fn schemas_list_every_type_with_dhis2_orders_per_version() {
    // (version, schemas registered, metadata among them, has eventHooks, oAuth2Clients order)
    for (version, total, metadata, event_hooks, oauth_order) in [
        ("2.39", 122, 72, false, 1030),
        ("2.41", 125, 75, true, 1030),
        ("2.42", 119, 77, true, i64::from(i32::MAX)),
    ] {
        let sim = SimProcess::start(&["--empty", "--dhis2-version", version]);
        let (status, body) = get(&sim, "/api/schemas").await;
        assert_eq!(status, 200, "{version}");
        let schemas = body["schemas"].as_array().unwrap();
        assert_eq!(schemas.len(), total, "{version}: every registered schema");
        let meta = schemas.iter().filter(|s| s["metadata"] == true).count();
        assert_eq!(meta, metadata, "{version}: Schema.isMetadata()");
        let orders: Vec<i64> = schemas
            .iter()
            .map(|s| s["order"].as_i64().unwrap())
            .collect();
        assert!(
            orders.windows(2).all(|w| w[0] <= w[1]),
            "{version}: sorted by order"
        );
        let order = |p: &str| schema(schemas, p).map(|s| s["order"].as_i64().unwrap());
        assert_eq!(order("userRoles"), Some(100), "{version}");
        assert_eq!(order("users"), Some(101), "{version}");
        assert_eq!(order("userGroups"), Some(102), "{version}");
        assert_eq!(order("jobConfigurations"), Some(1040), "{version}");
        assert_eq!(order("oAuth2Clients"), Some(oauth_order), "{version}");
        assert_eq!(order("dashboards"), Some(3501), "{version}");
        assert_eq!(
            order("trackedEntityInstanceFilters"),
            Some(i64::from(i32::MAX)),
            "{version}"
        );
        assert_eq!(
            schema(schemas, "eventHooks").is_some(),
            event_hooks,
            "{version}"
        );
        for before in ["programStageSections", "programNotificationTemplates"] {
            assert!(
                position(schemas, before) < position(schemas, "programStages"),
                "{version}: {before} (1508) before programStages (1509)"
            );
        }
        assert_eq!(
            schema(schemas, "users").unwrap()["klass"],
            "org.hisp.dhis.user.User"
        );
        // A type the simulator holds nothing of is an empty list, not a 404.
        let (status, jobs) = get(&sim, "/api/jobConfigurations?fields=id&paging=true").await;
        assert_eq!(status, 200, "{version}: {jobs}");
        assert_eq!(jobs["jobConfigurations"], json!([]));
        assert_eq!(jobs["pager"]["total"], 0);
        let (status, _) = get(&sim, "/api/notATypeAtAll").await;
        assert_eq!(status, 404, "{version}");
        if !event_hooks {
            let (status, _) = get(&sim, "/api/eventHooks").await;
            assert_eq!(status, 404, "{version}: no such type before 2.40");
        }
    }
}

// dhis2-core 2.41.3 DefaultSchemaService.getSortedSchemas(): a stable sort of a
// HashMap's values, so equal orders come in no fixed order; the simulator
// seeds it, and the client must not depend on it.
#[tokio::test]
async fn ties_are_ordered_by_seed_not_by_name() {
    let a = SimProcess::start(&["--empty", "--seed", "1"]);
    let b = SimProcess::start(&["--empty", "--seed", "2"]);
    let names = |v: &Value| -> Vec<String> {
        v["schemas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["plural"].as_str().unwrap().to_string())
            .collect()
    };
    let (x, y) = (
        names(&get(&a, "/api/schemas").await.1),
        names(&get(&b, "/api/schemas").await.1),
    );
    assert_eq!(x.len(), y.len());
    assert_ne!(x, y, "two seeds, two tie orders");
    let mut sorted_x = x.clone();
    sorted_x.sort();
    let mut sorted_y = y.clone();
    sorted_y.sort();
    assert_eq!(sorted_x, sorted_y, "the same types");
}

// Shapes of `:owner` exports in dhis2-core 2.41.3: `sharing` (Sharing.java:
// owner, external, public, users/userGroups maps of {id, access}),
// `attributeValues` ([{attribute:{id}, value}]), `translations`
// ([{property, locale, value}]); which types persist them follows each
// class's .hbm.xml (OrganisationUnit has no sharing, User none either).
#[tokio::test]
async fn users_groups_roles_and_what_points_at_them() {
    let sim = SimProcess::start(&["--seed", "4"]);
    let count = |v: &Value| v["pager"]["total"].as_u64().unwrap();
    assert_eq!(
        count(&get(&sim, "/api/users?paging=true").await.1),
        13,
        "12 + admin"
    );
    assert_eq!(count(&get(&sim, "/api/userRoles?paging=true").await.1), 4);
    assert_eq!(count(&get(&sim, "/api/userGroups?paging=true").await.1), 3);
    assert_eq!(count(&get(&sim, "/api/attributes?paging=true").await.1), 2);
    let empty = SimProcess::start(&["--empty"]);
    let (_, admin) = get(&empty, "/api/users?fields=id,username&paging=false").await;
    assert_eq!(
        admin["users"],
        json!([{"id": "M5zQapPyTZI", "username": "admin"}])
    );
    let (_, me) = get(&empty, "/api/me").await;
    assert_eq!(me["id"], "M5zQapPyTZI", "the account /api/me describes");

    let (_, des) = get(&sim, "/api/dataElements?fields=:owner&paging=false").await;
    let des = des["dataElements"].as_array().unwrap();
    assert!(
        des.iter()
            .all(|d| d["sharing"]["owner"].is_string() && d["sharing"]["public"].is_string())
    );
    let with_user = des
        .iter()
        .find(|d| !d["sharing"]["users"].as_object().unwrap().is_empty())
        .unwrap();
    let (uid, access) = with_user["sharing"]["users"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    assert_eq!(access["id"], uid.as_str());
    assert_eq!(
        access["access"].as_str().unwrap().len(),
        8,
        "an access string like rw------"
    );
    assert!(
        des.iter()
            .any(|d| !d["sharing"]["userGroups"].as_object().unwrap().is_empty())
    );
    assert!(
        des.iter()
            .any(|d| d["attributeValues"][0]["attribute"]["id"].is_string())
    );
    assert!(des.iter().any(|d| d["translations"][0]["locale"] == "fr"));
    let (_, ous) = get(&sim, "/api/organisationUnits?fields=:owner&paging=false").await;
    assert!(
        ous["organisationUnits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o.get("sharing").is_none())
    );
}

fn element(sharing: Value, attribute_values: Value) -> Value {
    json!({"dataElements": [{
        "id": "deShared001", "name": "Shared element", "shortName": "Shared element",
        "valueType": "NUMBER", "domainType": "AGGREGATE", "aggregationType": "SUM",
        "categoryCombo": {"id": "bjDvmb4bfuf"},
        "sharing": sharing, "attributeValues": attribute_values,
    }]})
}

fn errors(report: &Value) -> Vec<(String, String)> {
    let r = if report["response"].is_object() {
        &report["response"]
    } else {
        report
    };
    r["typeReports"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["objectReports"].as_array().unwrap().clone())
        .flat_map(|o| o["errorReports"].as_array().unwrap().clone())
        .map(|e| {
            (
                e["errorCode"].as_str().unwrap().to_string(),
                e["errorProperty"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

// dhis2-core 2.41.3 dxf2/metadata/objectbundle/validation/ReferencesCheck.java:
// checkSharing (skipped when bundle.isSkipSharing()) reports E5002 for each
// missing user (`userAccesses`) and user group (`userGroupAccesses`);
// checkAttributeValues reports E5002 (`attributeValues`) whatever skipSharing
// says. hooks/IdentifiableObjectBundleHook.handleSkipSharing +
// DefaultAclService.clearSharing: a create with skipSharing gets the importing
// user as owner, public "--------", no accesses; an update keeps the stored
// sharing (the merge skips it).
#[tokio::test]
async fn imports_check_sharing_and_attributes_as_references_check_does() {
    let dest = SimProcess::start(&["--empty"]);
    let sharing = json!({"owner": "usrSource01", "external": false, "public": "rw------",
        "users": {"usrSource01": {"id": "usrSource01", "access": "rw------"}},
        "userGroups": {"grpSource01": {"id": "grpSource01", "access": "r-------"}}});
    let attr = json!([{"attribute": {"id": "attrSource1"}, "value": "X"}]);

    let (status, report) = post(
        &dest,
        "/api/metadata?atomicMode=NONE",
        &element(sharing.clone(), json!([])),
    )
    .await;
    assert_eq!(status, 409, "{report}");
    let mut got = errors(&report);
    got.sort();
    assert_eq!(
        got,
        [
            ("E5002".into(), "userAccesses".into()),
            ("E5002".into(), "userGroupAccesses".into())
        ]
    );

    let (status, report) = post(
        &dest,
        "/api/metadata?atomicMode=NONE&skipSharing=true",
        &element(sharing.clone(), attr.clone()),
    )
    .await;
    assert_eq!(status, 409, "{report}");
    assert_eq!(
        errors(&report),
        [("E5002".into(), "attributeValues".into())],
        "skipSharing does not skip attributes"
    );

    let (status, report) = post(
        &dest,
        "/api/metadata?atomicMode=NONE&skipSharing=true",
        &element(sharing.clone(), json!([])),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    let (_, stored) = get(&dest, "/api/dataElements/deShared001?fields=sharing").await;
    assert_eq!(
        stored["sharing"],
        json!({"owner": "M5zQapPyTZI", "external": false, "public": "--------", "users": {}, "userGroups": {}})
    );

    // The attribute arrives; then an update with other sharing keeps the stored one.
    let (status, report) = post(&dest, "/api/metadata", &json!({"attributes": [{"id": "attrSource1", "name": "Source attribute", "valueType": "TEXT", "dataElementAttribute": true}]})).await;
    assert_eq!(status, 200, "{report}");
    let (status, report) = post(
        &dest,
        "/api/metadata?atomicMode=NONE&skipSharing=true",
        &element(sharing, attr),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    let (_, stored) = get(
        &dest,
        "/api/dataElements/deShared001?fields=sharing,attributeValues",
    )
    .await;
    assert_eq!(
        stored["sharing"]["owner"], "M5zQapPyTZI",
        "update keeps the stored sharing"
    );
    assert_eq!(
        stored["attributeValues"][0]["attribute"]["id"],
        "attrSource1"
    );
}
