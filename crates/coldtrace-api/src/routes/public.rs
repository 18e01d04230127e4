//! The public lookup (公众查询): `/t/{code}` for a phone's camera, a search box, a QR code (SVG) for any trace
//! code and printable labels. Open to everyone, so it shows only what a regulator approved for publication, and
//! of that only what the public may see: the product, its origin, import date and port, whether each of the four
//! documents is present, and the chain by city and kind of business, never a name, a person or a quantity.

use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use coldtrace_domain::{DocumentKind, EnterpriseKind, TraceCode};
use coldtrace_service::TraceFrom;
use coldtrace_trace::{Direction, TimeMode};
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Percent-encodes a code for a path segment or query value.
pub fn enc(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

const STYLE: &str = include_str!("../web/public.css");

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}\
         <footer>coldtrace 冷链食品追溯 · 公众查询</footer></body></html>",
        esc(title)
    )
}

fn search_box(value: &str) -> String {
    format!(
        "<form class=\"search\" action=\"/t\" method=\"get\" role=\"search\">\
         <input name=\"code\" id=\"code\" value=\"{}\" placeholder=\"追溯码 / trace code\" autocomplete=\"off\" aria-label=\"trace code\">\
         <button type=\"submit\">查询</button></form>",
        esc(value)
    )
}

#[derive(Debug, serde::Deserialize)]
pub struct CodeQuery {
    pub code: Option<String>,
    pub size: Option<String>,
}

/// `GET /t`: the search box, or a redirect to the page of the code typed.
pub async fn search(Query(q): Query<CodeQuery>) -> Response {
    match q.code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => Redirect::to(&format!("/t/{}", enc(c))).into_response(),
        None => Html(page(
            "追溯查询",
            &format!(
                "<main><h1>冷链食品追溯查询</h1><p>扫描包装上的二维码，或输入追溯码。</p>{}</main>",
                search_box("")
            ),
        ))
        .into_response(),
    }
}

/// Finds the batch a code names: as a URL code of this host first (what a phone's camera opens), then as any code.
async fn find(state: &AppState, host: Option<&str>, code: &str) -> Result<Option<Uuid>, ApiError> {
    if let Some(h) = host {
        let url = format!("http://{h}/t/{code}");
        if let Ok(c) = TraceCode::parse(&url, Some(coldtrace_domain::CodeScheme::Url))
            && let Some(b) = state.store.batch_by_code(&c.key).await?
        {
            return Ok(Some(b));
        }
    }
    match TraceCode::parse(code, None) {
        Ok(c) => Ok(state.store.batch_by_code(&c.key).await?),
        Err(_) => Ok(None),
    }
}

fn not_found(code: &str, why: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(page(
            "未找到",
            &format!(
                "<main><h1>未找到 / not found</h1><p class=\"muted\">{}</p><p><code>{}</code></p>{}</main>",
                esc(why),
                esc(code),
                search_box(code)
            ),
        )),
    )
        .into_response()
}

/// `GET /t/{code}`: the public page of a batch.
pub async fn lookup(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    let Some(id) = find(&state, host, &code).await? else {
        return Ok(not_found(
            &code,
            "没有这个追溯码。No batch carries this code.",
        ));
    };
    if !state.store.is_published(id).await? {
        return Ok(not_found(
            &code,
            "这批货物的信息尚未经省级平台审核发布。Not yet published by the provincial platform.",
        ));
    }
    let Some(b) = state.store.batch(id).await? else {
        return Ok(not_found(&code, "没有这个追溯码。"));
    };
    let product = state.store.product(b.record.product).await?;
    let docs = state.store.documents_of(id).await?;
    let has = |k: DocumentKind| docs.iter().any(|d| d.record.kind == k);
    let mut rows = String::new();
    for (label, present) in [
        (
            "入境货物检验检疫证明",
            has(DocumentKind::InspectionQuarantine),
        ),
        ("核酸检测报告", has(DocumentKind::NucleicAcid)),
        ("消毒证明", has(DocumentKind::Disinfection)),
        ("报关单", b.record.declaration_no.is_some()),
    ] {
        rows.push_str(&format!(
            "<li class=\"{}\"><span>{}</span><b>{}</b></li>",
            if present { "ok" } else { "missing" },
            label,
            if present { "✓ 有" } else { "✗ 无" }
        ));
    }
    // The chain by city: each holder's city and kind of business, in the order the goods reached them. The
    // index is caught up after every write in this process, so a public request reads no more than the index.
    let mut chain = String::new();
    if let Ok(start) = state
        .tracer
        .seeds(state.store.as_ref(), &TraceFrom::Batch(id))
        .await
    {
        let a = state
            .tracer
            .answer_unmasked(start, Direction::Both, TimeMode::Strict);
        let mut hs: Vec<_> = a.holders.iter().collect();
        hs.sort_by(|x, y| x.earliest.cmp(&y.earliest));
        for h in hs {
            let place = match (&h.province_name, &h.city) {
                (Some(p), Some(c)) => format!("{p} · {c}"),
                (Some(p), None) => p.to_string(),
                _ => "境外 / overseas".into(),
            };
            let kind = h
                .kind
                .as_deref()
                .and_then(|k| EnterpriseKind::parse(k).ok())
                .map(|k| k.label_zh())
                .unwrap_or("经营者");
            let when = h
                .earliest
                .as_deref()
                .map(|t| t.get(..10).unwrap_or(t))
                .unwrap_or("");
            chain.push_str(&format!(
                "<li><span class=\"place\">{}</span><span class=\"kind\">{}</span><time>{}</time></li>",
                esc(&place),
                esc(kind),
                esc(when)
            ));
        }
    }
    let p = product.as_ref().map(|p| &p.record);
    let name = p.map(|p| p.name.as_str()).unwrap_or("");
    let origin = p.map(|p| p.origin_country.as_str()).unwrap_or("");
    let body = format!(
        "<main><h1>{name}</h1>\
         <dl class=\"facts\"><dt>原产国 Origin</dt><dd>{origin}</dd>\
         <dt>批号 Batch</dt><dd>{batch_no}</dd>\
         <dt>进口日期 Import date</dt><dd>{import_date}</dd>\
         <dt>入境口岸 Port</dt><dd>{port}</dd></dl>\
         <h2>证明材料 Documents</h2><ul class=\"docs\">{rows}</ul>\
         <h2>流通链条 Chain</h2><ol class=\"chain\">{chain}</ol>\
         <div class=\"qr\"><img src=\"/qr.svg?code={qcode}\" alt=\"QR\" width=\"160\" height=\"160\"></div>\
         <p class=\"labels\"><a href=\"/label?code={qcode}&amp;size=70x50\">标签 70×50 mm</a> · \
         <a href=\"/label?code={qcode}&amp;size=50x30\">标签 50×30 mm</a></p>{search}</main>",
        name = esc(name),
        origin = esc(origin),
        batch_no = esc(&b.record.batch_no),
        import_date = b
            .record
            .import_date
            .map(|d| d.to_string())
            .unwrap_or_else(|| "-".into()),
        port = esc(b.record.port_of_entry.as_deref().unwrap_or("-")),
        qcode = enc(&code),
        search = search_box(""),
    );
    Ok((
        [(CACHE_CONTROL, "public, max-age=60")],
        Html(page(&format!("{name} · 追溯"), &body)),
    )
        .into_response())
}

/// The QR code of a trace code as SVG: a URL code as it is (the phone opens it), any other code as the
/// lookup page of this platform.
fn qr_svg(content: &str, px: u32) -> Result<String, ApiError> {
    use qrcode::render::svg;
    let q = qrcode::QrCode::with_error_correction_level(content.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| ApiError::invalid("code", format!("cannot be put in a QR code: {e}")))?;
    Ok(q.render::<svg::Color<'_>>()
        .min_dimensions(px, px)
        .quiet_zone(true)
        .build())
}

fn qr_content(host: Option<&str>, code: &str) -> String {
    let lower = code.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        code.to_string()
    } else {
        format!("http://{}/t/{}", host.unwrap_or("localhost"), enc(code))
    }
}

/// `GET /qr.svg?code=...`
pub async fn qr(headers: HeaderMap, Query(q): Query<CodeQuery>) -> Result<Response, ApiError> {
    let code = q
        .code
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("code", "is required"))?;
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    let svg = qr_svg(&qr_content(host, code.trim()), 200)?;
    Ok((
        [
            (CONTENT_TYPE, "image/svg+xml"),
            (CACHE_CONTROL, "public, max-age=86400"),
        ],
        svg,
    )
        .into_response())
}

/// `GET /label?code=...&size=70x50|50x30`: a printable label (mm page size) with the QR code and the code.
pub async fn label(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CodeQuery>,
) -> Result<Response, ApiError> {
    let code = q
        .code
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("code", "is required"))?;
    let (w, h) = match q.size.as_deref().unwrap_or("70x50") {
        "70x50" => (70, 50),
        "50x30" => (50, 30),
        other => {
            return Err(ApiError::invalid(
                "size",
                format!("{other:?} is not a label size (70x50 or 50x30)"),
            ));
        }
    };
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    let mut title = String::new();
    if let Some(id) = find(&state, host, code.trim()).await?
        && state.store.is_published(id).await?
        && let Some(b) = state.store.batch(id).await?
        && let Some(p) = state.store.product(b.record.product).await?
    {
        title = format!("{} · {}", p.record.name, b.record.batch_no);
    }
    let qr_mm = h - 8;
    let svg = qr_svg(&qr_content(host, code.trim()), 200)?;
    let body = format!(
        "<div class=\"label\" style=\"width:{w}mm;height:{h}mm\">\
         <div class=\"label-qr\" style=\"width:{qr_mm}mm;height:{qr_mm}mm\">{svg}</div>\
         <div class=\"label-text\"><b>{}</b><span>{}</span><small>扫码查询追溯信息</small></div></div>",
        esc(&title),
        esc(code.trim())
    );
    let html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>label {w}x{h}</title>\
         <style>@page {{ size: {w}mm {h}mm; margin: 0 }} body {{ margin: 0; font-family: sans-serif }}\
         .label {{ box-sizing: border-box; padding: 2mm; display: flex; gap: 2mm; align-items: center; overflow: hidden; border: 0.2mm dashed #999 }}\
         .label-qr svg {{ width: 100%; height: 100% }} .label-text {{ display: flex; flex-direction: column; font-size: 2.6mm; word-break: break-all }}\
         .label-text b {{ font-size: 3.2mm }} @media print {{ .label {{ border: 0 }} }}</style></head><body>{body}</body></html>"
    );
    Ok(Html(html).into_response())
}
