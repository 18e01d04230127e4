//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::*;

#[derive(OpenApi)]
#[openapi(
    info(title = "coldtrace API", version = "1", description = "Cold-chain food traceability: enterprise reporting, provincial platform. Every /api/v1 route needs `Authorization: Bearer <api key>`."),
    paths(
        submissions::submit,
        enterprises::create, enterprises::list, enterprises::get_one,
        credentials::create, credentials::create_for_enterprise, credentials::list, credentials::revoke, credentials::rotate,
        accounts::create, accounts::list, accounts::disable, accounts::sign_in, accounts::sign_out,
        findings::list, findings::get_one, findings::dismiss, findings::resolve, findings::answer,
        products::create, products::list, products::get_one,
        batches::create, batches::list, batches::get_one, batches::by_code, gs1::parse,
        epcis::capture, epcis::job, epcis::events,
        documents::create, documents::get_one, documents::of_batch,
        movements::create, movements::list, movements::get_one,
        attachments::upload, attachments::download,
        ledger::import,
        customs::submit, customs::import, customs::list, customs::get_one,
        statistics::put, statistics::import, statistics::get,
        staff::put, staff::tests, staff::list,
        sensors::put, sensors::import,
        trace::trace,
        incidents::open, incidents::list, incidents::get_one, incidents::deliveries, incidents::update_task, incidents::notice_sent,
        incidents::note, incidents::close,
        system::healthz, system::metrics, system::stats, system::whoami, system::reference, audit::list,
        console::dashboard, console::publish, console::withdraw,
        docking::upload, docking::foreign, docking::notices, docking::incident_deliveries, docking::status, docking::received, docking::ack,
        docking::overview, docking::links, docking::decide, docking::incidents, docking::incident, docking::trace, docking::request_detail, docking::request_status,
        docking::put_contacts, docking::contacts, docking::send_contacts,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::FieldErrorBody)),
    modifiers(&SecurityAddon)
)]
pub struct ApiDoc;

struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "docking_client",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The docking protocol's JSON Schema (draft 2020-12), generated from the wire types so that it cannot drift:
/// `docs/docking-v1.schema.json` is this document, and `/docking/v1/schema.json` serves it.
pub fn docking_schema() -> serde_json::Value {
    use coldtrace_domain::docking::*;
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;
    fn add<T: utoipa::ToSchema>(v: &mut Vec<(String, RefOr<Schema>)>) {
        v.push((T::name().to_string(), T::schema()));
        T::schemas(v);
    }
    let mut v = Vec::new();
    add::<Upload>(&mut v);
    add::<UploadReceipt>(&mut v);
    add::<SequenceGap>(&mut v);
    add::<Notice>(&mut v);
    let defs: std::collections::BTreeMap<String, RefOr<Schema>> = v.into_iter().collect();
    let text = serde_json::to_string(&defs)
        .unwrap_or_default()
        .replace("#/components/schemas/", "#/$defs/");
    let defs: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://coldtrace.example/docking/v1/schema.json",
        "title": "coldtrace docking protocol, version 1",
        "description": "A province's upload is an Upload; the national platform answers an UploadReceipt (200) or a SequenceGap (409) and hands each province its Notices. See docs/docking.md.",
        "$defs": defs,
        "oneOf": [
            {"$ref": "#/$defs/Upload"},
            {"$ref": "#/$defs/UploadReceipt"},
            {"$ref": "#/$defs/SequenceGap"},
            {"$ref": "#/$defs/Notice"}
        ]
    })
}

/// `GET /docking/v1/schema.json`.
pub async fn serve_docking_schema() -> Json<serde_json::Value> {
    Json(docking_schema())
}
