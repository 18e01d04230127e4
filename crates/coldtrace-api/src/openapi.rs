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
        credentials::create, credentials::create_for_enterprise,
        products::create, products::list, products::get_one,
        batches::create, batches::list, batches::get_one, batches::by_code,
        documents::create, documents::get_one, documents::of_batch,
        movements::create, movements::list, movements::get_one,
        attachments::upload, attachments::download,
        ledger::import,
        trace::trace,
        incidents::open, incidents::list, incidents::get_one, incidents::update_task, incidents::notice_sent,
        incidents::note, incidents::close,
        system::healthz, system::metrics, system::stats, system::whoami,
        docking::upload, docking::foreign, docking::notices, docking::status, docking::received, docking::ack,
        docking::overview, docking::links, docking::decide, docking::incidents, docking::incident, docking::trace,
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
