//! Metadata reads: `/api/{plural}`, `/api/{plural}/{id}`, `/api/metadata`, `/api/deletedObjects`.

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::model::{MetaType, defaults};
use super::path::Suffix;
use super::query::{
    FieldItem, FilterSet, Paging, Params, apply_fields, bump, parse_fields, scoped, sort_by_order,
};
use super::response::{bad_request, error, ok_json};
use super::state::SimState;
use super::{Shared, clock, schemas};

/// Objects of one type that pass the filters, in the requested order.
fn select<'a>(
    state: &'a SimState,
    ty: MetaType,
    filters: &FilterSet,
    order: Option<&str>,
    exclude_defaults: bool,
) -> Vec<&'a Map<String, Value>> {
    let mut items: Vec<&Map<String, Value>> = state
        .meta(ty)
        .iter()
        .filter(|(id, _)| !(exclude_defaults && defaults::is_default(id)))
        .map(|(_, o)| &o.body)
        .filter(|b| filters.matches(b))
        .collect();
    sort_by_order(&mut items, order);
    items
}

fn shape(items: &[&Map<String, Value>], fields: &[FieldItem]) -> Vec<Value> {
    items
        .iter()
        .map(|o| Value::Object(apply_fields(o, fields)))
        .collect()
}

/// DHIS2's 404 for `/api/{plural}` when it has no such resource.
fn no_such_resource(plural: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!("Not Found: no resource /api/{plural}"),
    )
}

pub async fn list(
    State(sim): State<Shared>,
    Path(plural): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let ty = MetaType::from_plural(&plural);
    if ty.is_none() && schemas::by_plural(sim.version(), &plural).is_none() {
        return no_such_resource(&plural);
    }
    let params = Params::parse(q.as_deref());
    let (filters, paging) = match (
        FilterSet::from_params(&params, "filter"),
        Paging::from_params(&params),
    ) {
        (Ok(f), Ok(p)) => (f, p),
        (Err(e), _) | (_, Err(e)) => return bad_request(&e),
    };
    // A list without `fields` gives only id and displayName, as DHIS2 does.
    let fields = parse_fields(params.get("fields").unwrap_or("id,displayName"));
    let body = {
        let state = sim.read();
        // A type of the version's schemas that the simulator holds nothing of.
        let items = match ty {
            Some(ty) => select(&state, ty, &filters, params.get("order"), false),
            None => Vec::new(),
        };
        let window = paging.window(items.len());
        let page = shape(&items[window], &fields);
        let mut body = Map::new();
        if paging.enabled {
            let base = format!("{}/api/{plural}", sim.base_url);
            body.insert("pager".into(), paging.pager(items.len(), &base, &params));
        }
        let count = page.len() as u64;
        body.insert(plural.clone(), Value::Array(page));
        bump(&mut sim.stats().objects_returned, &plural, count);
        body
    };
    ok_json(&Value::Object(body))
}

pub async fn one(
    State(sim): State<Shared>,
    Path((plural, id)): Path<(String, String)>,
    suffix: Option<Extension<Suffix>>,
    RawQuery(q): RawQuery,
) -> Response {
    let Some(ty) = MetaType::from_plural(&plural) else {
        return no_such_resource(&plural);
    };
    let minor = sim.version().minor();
    let id = match suffix {
        Some(Extension(s)) => s.uid_seen(&id, minor),
        None => id,
    };
    // 2.42.1 maps `/{uid:[a-zA-Z0-9]{11}}` (AbstractFullReadOnlyController
    // `getObject`): another id reaches no handler.
    if minor >= 42 && !(id.len() == 11 && id.chars().all(|c| c.is_ascii_alphanumeric())) {
        return super::response::error(StatusCode::NOT_FOUND, "Not Found");
    }
    let params = Params::parse(q.as_deref());
    let fields = parse_fields(params.get("fields").unwrap_or("*"));
    let state = sim.read();
    match state.meta(ty).get(&id) {
        Some(o) => ok_json(&Value::Object(apply_fields(&o.body, &fields))),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("{} with id {id} could not be found.", ty.short_klass()),
        ),
    }
}

/// `GET /api/metadata`: several types in one unpaged document.
pub async fn export(State(sim): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let params = Params::parse(q.as_deref());
    let requested: Vec<MetaType> = MetaType::ALL
        .into_iter()
        .filter(|t| params.flag(t.plural()) == Some(true))
        .collect();
    let types = if requested.is_empty() {
        MetaType::ALL.to_vec()
    } else {
        requested
    };
    let exclude_defaults = params
        .get("defaults")
        .is_some_and(|d| d.eq_ignore_ascii_case("EXCLUDE"));
    let global_filters = match FilterSet::from_params(&params, "filter") {
        Ok(f) => f,
        Err(e) => return bad_request(&e),
    };
    let mut body = Map::new();
    body.insert(
        "system".into(),
        json!({"id": format!("sim-{}", sim.opts.seed), "rev": "5ec1d0e",
               "version": sim.version().full(), "date": clock::format(clock::now())}),
    );
    let state = sim.read();
    for ty in types {
        let fields = scoped(&params, ty.plural(), "fields")
            .first()
            .copied()
            .or(params.get("fields"))
            .unwrap_or(":owner");
        let fields = parse_fields(fields);
        let scoped_filters: Vec<_> = scoped(&params, ty.plural(), "filter")
            .into_iter()
            .map(super::query::parse_filter)
            .collect();
        let mut filters = FilterSet {
            filters: global_filters.filters.clone(),
            any: global_filters.any,
        };
        for f in scoped_filters {
            match f {
                Ok(f) => filters.filters.push(f),
                Err(e) => return bad_request(&e),
            }
        }
        let items = select(&state, ty, &filters, None, exclude_defaults);
        bump(
            &mut sim.stats().objects_returned,
            ty.plural(),
            items.len() as u64,
        );
        body.insert(ty.plural().into(), Value::Array(shape(&items, &fields)));
    }
    ok_json(&Value::Object(body))
}

/// `GET /api/deletedObjects?klass=DataElement&deletedAt=2024-05-01`, for
/// accounts with the ALL authority only (webapi/controller/DeletedObjectController.java:
/// `@PreAuthorize("hasRole('ALL')")` up to 2.41.3, `@RequiresAuthority(anyOf = ALL)`
/// in 2.42.1, whose AuthorityInterceptor names the authority).
pub async fn deleted_objects(State(sim): State<Shared>, RawQuery(q): RawQuery) -> Response {
    if !sim.opts.has_authority("ALL") {
        let message = if sim.version().minor() >= 42 {
            "Access is denied, requires one Authority from [ALL]"
        } else {
            "Access is denied"
        };
        return error(StatusCode::FORBIDDEN, message);
    }
    let params = Params::parse(q.as_deref());
    let mut paging = match Paging::from_params(&params) {
        Ok(p) => p,
        Err(e) => return bad_request(&e),
    };
    // `skipPaging` wins over `paging` when both are given, without an error
    // (dhis-api deletedobject/DeletedObjectQuery.java, PagerUtils `isSkipPaging`).
    if let Some(skip) = params.flag("skipPaging") {
        paging.enabled = !skip;
    }
    let klasses = params.all("klass");
    let since = match params.get("deletedAt").map(|d| clock::parse(d).ok_or(d)) {
        Some(Err(d)) => return bad_request(&format!("Invalid date `{d}` for parameter deletedAt")),
        Some(Ok(t)) => Some(t),
        None => None,
    };
    let uids = params.all("uid");
    let codes = params.all("code");
    let state = sim.read();
    let items: Vec<Value> = state
        .deleted
        .iter()
        .filter(|d| klasses.is_empty() || klasses.contains(&d.klass))
        .filter(|d| since.is_none_or(|s| d.deleted_at >= s))
        .filter(|d| uids.is_empty() || uids.contains(&d.uid.as_str()))
        .filter(|d| codes.is_empty() || d.code.as_deref().is_some_and(|c| codes.contains(&c)))
        .map(|d| {
            json!({"klass": d.klass, "uid": d.uid, "code": d.code,
                   "deletedAt": clock::format(d.deleted_at), "deletedBy": d.deleted_by})
        })
        .collect();
    // No ORDER BY: offset pages of a fresh order each request.
    let order = sim.export_order(items.len());
    let items: Vec<Value> = order.iter().map(|&i| items[i as usize].clone()).collect();
    let window = paging.window(items.len());
    let mut body = json!({"deletedObjects": items[window].to_vec()});
    if paging.enabled {
        body["pager"] = paging.pager(
            items.len(),
            &format!("{}/api/deletedObjects", sim.base_url),
            &params,
        );
    }
    ok_json(&body)
}
