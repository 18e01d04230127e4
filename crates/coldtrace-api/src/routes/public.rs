//! The public lookup (公众查询): `/t/{code}` for a phone's camera, a search box, a QR code (SVG) for any trace
//! code and printable labels. Open to everyone, so it shows only what a regulator approved for publication, and
//! of that only what the public may see: the product, its origin, import date and port, whether each of the four
//! documents is present, and the chain by city and kind of business, never a name, a person or a quantity.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use coldtrace_domain::{DocumentKind, EnterpriseKind, TraceCode};
use coldtrace_service::TraceFrom;
use coldtrace_trace::{Direction, TimeMode};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;

/// What a code keeps as it is in a path segment or query value: letters, digits and `-_.~`.
const CODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a code for a path segment or query value.
pub fn enc(s: &str) -> String {
    utf8_percent_encode(s, CODE).to_string()
}

const STYLE: &str = include_str!("../web/public.css");

fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                (body)
                footer { "coldtrace 冷链食品追溯 · 公众查询" }
            }
        }
    }
    .into_string()
}

fn search_box(value: &str) -> Markup {
    html! {
        form.search action="/t" method="get" role="search" {
            input name="code" id="code" value=(value) placeholder="追溯码 / trace code" autocomplete="off" aria-label="trace code";
            button type="submit" { "查询" }
        }
    }
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
            html! {
                main {
                    h1 { "冷链食品追溯查询" }
                    p { "扫描包装上的二维码，或输入追溯码。" }
                    (search_box(""))
                }
            },
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

fn not_found_page(code: &str, why: &str) -> (StatusCode, String) {
    (
        StatusCode::NOT_FOUND,
        page(
            "未找到",
            html! {
                main {
                    h1 { "未找到 / not found" }
                    p.muted { (why) }
                    p { code { (code) } }
                    (search_box(code))
                }
            },
        ),
    )
}

/// How long a rendered public page is served again before it is rendered anew.
pub const PAGE_TTL: std::time::Duration = std::time::Duration::from_secs(1);
/// Bytes of pages (and, separately, of QR images) kept at most; beyond it that cache starts again empty.
const CACHE_BYTES: usize = 64 << 20;
/// A QR image is kept only for content up to this long (a label's code; longer ones are drawn every time).
const QR_KEEP_CHARS: usize = 300;

/// Public pages as rendered, by host and code: kept for [`PAGE_TTL`], dropped on every write this platform
/// accepts ([`forget_on_write`]). A scan then costs a map lookup, not the store queries and the trace behind
/// the page; a warning or a withdrawal reaches the next scan (at most a second later for what the platform
/// writes by itself, such as an incident opened from a national notice).
#[derive(Default)]
pub struct PageCache {
    pages: std::sync::Mutex<Kept<(String, String), CachedPage>>,
    /// QR images by what they encode: they never change, so they stay until the cap.
    qr: std::sync::Mutex<Kept<String, Bytes>>,
    /// Counts the writes: a page rendered while one happened is not kept.
    writes: std::sync::atomic::AtomicU64,
}

/// A map that knows how many bytes it holds.
struct Kept<K, V> {
    map: std::collections::HashMap<K, V>,
    bytes: usize,
}

impl<K, V> Default for Kept<K, V> {
    fn default() -> Self {
        Self {
            map: Default::default(),
            bytes: 0,
        }
    }
}

impl<K: std::hash::Hash + Eq, V> Kept<K, V> {
    fn insert(&mut self, k: K, v: V, bytes: usize) {
        if self.bytes + bytes > CACHE_BYTES {
            self.map.clear();
            self.bytes = 0;
        }
        self.bytes += bytes;
        self.map.insert(k, v);
    }
    fn clear(&mut self) {
        self.map.clear();
        self.bytes = 0;
    }
}

#[derive(Clone)]
struct CachedPage {
    at: std::time::Instant,
    status: StatusCode,
    /// Shared, so serving it again copies nothing.
    html: Bytes,
}

impl PageCache {
    fn get(&self, key: &(String, String)) -> Option<CachedPage> {
        let m = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        m.map
            .get(key)
            .filter(|p| p.at.elapsed() < PAGE_TTL)
            .cloned()
    }
    /// Keeps a page rendered since write number `since`, unless a write happened meanwhile.
    fn put(&self, key: (String, String), page: CachedPage, since: u64) {
        let mut m = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        if self.writes.load(std::sync::atomic::Ordering::SeqCst) != since {
            return;
        }
        let bytes = page.html.len() + key.0.len() + key.1.len();
        m.insert(key, page, bytes);
    }
    /// The QR image (SVG) of `content`, drawn once.
    fn qr(&self, content: &str) -> Result<Bytes, ApiError> {
        if let Some(s) = self
            .qr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map
            .get(content)
        {
            return Ok(s.clone());
        }
        let svg = Bytes::from(qr_svg(content, 200)?);
        if content.chars().count() <= QR_KEEP_CHARS {
            let bytes = svg.len() + content.len();
            self.qr.lock().unwrap_or_else(|p| p.into_inner()).insert(
                content.to_string(),
                svg.clone(),
                bytes,
            );
        }
        Ok(svg)
    }

    /// Drops every page (a write happened).
    pub fn clear(&self) {
        let mut m = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        m.clear();
    }
}

/// Every write the platform accepts (any method but GET and HEAD answered with success) drops the cached
/// public pages.
pub async fn forget_on_write(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let write = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let resp = next.run(req).await;
    if write && resp.status().is_success() {
        state.public_pages.clear();
    }
    resp
}

fn cached(p: CachedPage) -> Response {
    (
        p.status,
        // A warning or a withdrawal must reach the next scan: browsers and proxies ask again every time.
        [
            (CACHE_CONTROL, "no-cache"),
            (CONTENT_TYPE, "text/html; charset=utf-8"),
        ],
        p.html,
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
    let key = (host.unwrap_or("").to_string(), code.clone());
    if let Some(p) = state.public_pages.get(&key) {
        return Ok(cached(p));
    }
    let since = state
        .public_pages
        .writes
        .load(std::sync::atomic::Ordering::SeqCst);
    let (status, html) = render_lookup(&state, host, &code).await?;
    let page = CachedPage {
        at: std::time::Instant::now(),
        status,
        html: html.into(),
    };
    // Only pages of batches are kept: a code nobody has is answered afresh (and cannot fill the cache).
    if status == StatusCode::OK {
        state.public_pages.put(key, page.clone(), since);
    }
    Ok(cached(page))
}

/// The public page of a code as a status and HTML.
async fn render_lookup(
    state: &AppState,
    host: Option<&str>,
    code: &str,
) -> Result<(StatusCode, String), ApiError> {
    let Some(id) = find(state, host, code).await? else {
        return Ok(not_found_page(
            code,
            "没有这个追溯码。No batch carries this code.",
        ));
    };
    if !state.store.is_published(id).await? {
        return Ok(not_found_page(
            code,
            "这批货物的信息尚未经省级平台审核发布。Not yet published by the provincial platform.",
        ));
    }
    let Some(b) = state.store.batch(id).await? else {
        return Ok(not_found_page(code, "没有这个追溯码。"));
    };
    let product = state.store.product(b.record.product).await?;
    let docs = state.store.documents_of(id).await?;
    let has = |k: DocumentKind| docs.iter().any(|d| d.record.kind == k);
    let documents = [
        (
            "入境货物检验检疫证明",
            has(DocumentKind::InspectionQuarantine),
        ),
        ("核酸检测报告", has(DocumentKind::NucleicAcid)),
        ("消毒证明", has(DocumentKind::Disinfection)),
        ("报关单", b.record.declaration_no.is_some()),
    ];
    let imported = b.record.declaration_no.is_some()
        || product
            .as_ref()
            .is_some_and(|p| p.record.origin_country.as_str() != "CN");
    // The chain by city: each holder's city and kind of business, in the order the goods reached them, the
    // source first. The index is caught up after every write in this process, so a public request reads no more
    // than the index.
    let mut chain: Vec<(String, &str, String)> = Vec::new();
    if let Ok(start) = state
        .tracer
        .seeds(state.store.as_ref(), &TraceFrom::Batch(id))
        .await
    {
        let a = state
            .tracer
            .answer_unmasked(start, Direction::Both, TimeMode::Strict);
        // A holder goods only left (never reached) is where they came from.
        let senders: std::collections::HashSet<Uuid> = a.flows.iter().map(|f| f.from).collect();
        let receivers: std::collections::HashSet<Uuid> = a.flows.iter().map(|f| f.to).collect();
        let source = |key: Uuid| senders.contains(&key) && !receivers.contains(&key);
        let mut hs: Vec<_> = a.holders.iter().map(|h| (!source(h.key), h)).collect();
        hs.sort_by(|x, y| (x.0, &x.1.earliest).cmp(&(y.0, &y.1.earliest)));
        let hs: Vec<_> = hs.into_iter().map(|(_, h)| h).collect();
        for h in hs {
            // The city by name (天津 · 天津市), never the district: the public learns where, not who.
            let city = h
                .city
                .as_deref()
                .and_then(coldtrace_domain::region::city_name);
            let place = match (&h.province_name, city) {
                (Some(p), Some(c)) => format!("{p} · {c}"),
                (Some(p), None) => p.to_string(),
                // Not registered on any platform: abroad only where imported goods came from.
                _ if source(h.key) && imported => "境外 / overseas".into(),
                _ if source(h.key) => "产地 / origin".into(),
                _ => "未登记经营者 / unregistered business".into(),
            };
            let kind = h
                .kind
                .as_deref()
                .and_then(|k| EnterpriseKind::parse(k).ok())
                .map(|k| k.label_zh())
                .unwrap_or("经营者");
            let when = h.earliest.map(|t| t.date()).unwrap_or_default();
            chain.push((place, kind, when));
        }
    }
    // A positive test implicates the batch: the public is told what to do, not the incident's internals.
    let warning = !coldtrace_service::incidents::open_for_batch(state.store.as_ref(), id)
        .await
        .map_err(coldtrace_service::ServiceError::from)?
        .is_empty();
    // A temperature excursion the goods were held through is a fact of their handling the public may know.
    let warm = state.store.excursion_batches(vec![id]).await?.contains(&id);
    let p = product.as_ref().map(|p| &p.record);
    let name = p.map(|p| p.name.as_str()).unwrap_or("");
    let origin = p
        .map(|p| {
            format!(
                "{} {}",
                p.origin_country.name_zh(),
                p.origin_country.as_str()
            )
        })
        .unwrap_or_default();
    let import_date = b
        .record
        .import_date
        .map(|d| d.to_string())
        .unwrap_or_else(|| "-".into());
    let qcode = enc(code);
    let body = html! {
        main {
            h1 { (name) }
            @if warning {
                div.warning role="alert" id="warning" {
                    strong { "⚠ 风险提示 Warning" }
                    p { "本批次涉及阳性检测，正在处置中，已暂停销售。如您购买了本批次产品，请勿食用，妥善封存，并联系当地市场监管部门（12315）。" }
                    p { "This batch is implicated by a positive test and is being withdrawn from sale. If you bought it, do not eat it; keep it sealed and call your local market regulator (12315)." }
                }
            }
            @if warm {
                div.notice id="temperature" {
                    strong { "冷链温度异常 Temperature excursion" }
                    p { "本批次在贮存或运输中有温度超出冷链要求的记录。A record shows this batch was held above its cold-chain temperature limit during storage or transport." }
                }
            }
            dl.facts {
                dt { "原产国 Origin" } dd { (origin) }
                dt { "批号 Batch" } dd { (b.record.batch_no) }
                dt { "进口日期 Import date" } dd { (import_date) }
                dt { "入境口岸 Port" } dd { (b.record.port_of_entry.as_deref().unwrap_or("-")) }
            }
            h2 { "证明材料 Documents" }
            ul.docs {
                @for (label, present) in documents {
                    li class=(if present { "ok" } else { "missing" }) {
                        span { (label) }
                        b { (if present { "✓ 有" } else { "✗ 无" }) }
                    }
                }
            }
            h2 { "流通链条 Chain" }
            ol.chain {
                @for (place, kind, when) in &chain {
                    li {
                        span.place { (place) }
                        span.kind { (kind) }
                        time { (when) }
                    }
                }
            }
            div.qr {
                img src={ "/qr.svg?code=" (qcode) } alt="QR" width="160" height="160";
            }
            p.labels {
                a href={ "/label?code=" (qcode) "&size=70x50" } { "标签 70×50 mm" }
                " · "
                a href={ "/label?code=" (qcode) "&size=50x30" } { "标签 50×30 mm" }
            }
            (search_box(""))
        }
    };
    Ok((StatusCode::OK, page(&format!("{name} · 追溯"), body)))
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

/// What a QR code says: a URL code as it is, any other code as this platform's public page of it, at the
/// configured public URL (else the address the request came to).
fn qr_content(public_url: Option<&str>, host: Option<&str>, code: &str) -> String {
    let lower = code.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        code.to_string()
    } else {
        match public_url {
            Some(base) => format!("{base}/t/{}", enc(code)),
            None => format!("http://{}/t/{}", host.unwrap_or("localhost"), enc(code)),
        }
    }
}

/// `GET /qr.svg?code=...`
pub async fn qr(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CodeQuery>,
) -> Result<Response, ApiError> {
    let code = q
        .code
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("code", "is required"))?;
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    let svg = state
        .public_pages
        .qr(&qr_content(state.public_url.as_deref(), host, code.trim()))?;
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
    let (mut product, mut batch_no) = (String::new(), String::new());
    if let Some(id) = find(&state, host, code.trim()).await?
        && state.store.is_published(id).await?
        && let Some(b) = state.store.batch(id).await?
        && let Some(p) = state.store.product(b.record.product).await?
    {
        (product, batch_no) = (p.record.name, b.record.batch_no);
    }
    let platform = format!(
        "{}冷链食品追溯平台",
        state.tier.province().map(|p| p.name()).unwrap_or("")
    );
    let qr_mm = h - 8;
    let svg = qr_svg(
        &qr_content(state.public_url.as_deref(), host, code.trim()),
        200,
    )?;
    let css = format!(
        "@page {{ size: {w}mm {h}mm; margin: 0 }} body {{ margin: 0; font-family: sans-serif }}\
         .label {{ box-sizing: border-box; padding: 2mm; display: flex; gap: 2mm; align-items: center; overflow: hidden; border: 0.2mm dashed #999 }}\
         .label-qr svg {{ width: 100%; height: 100% }} .label-text {{ display: flex; flex-direction: column; gap: 0.6mm; font-size: 2.6mm; min-width: 0 }}\
         .label-text b {{ font-size: 3.2mm }} .label-batch {{ white-space: nowrap }} .label-code {{ overflow-wrap: anywhere }}\
         .label-platform {{ font-size: 2.2mm; color: #444 }} @media print {{ .label {{ border: 0 }} }}"
    );
    let html = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                title { "label " (w) "x" (h) }
                style { (PreEscaped(css)) }
            }
            body {
                div.label style={ "width:" (w) "mm;height:" (h) "mm" } {
                    div.label-qr style={ "width:" (qr_mm) "mm;height:" (qr_mm) "mm" } { (PreEscaped(svg)) }
                    div.label-text {
                        span.label-platform { (platform) }
                        b { (product) }
                        @if !batch_no.is_empty() { span.label-batch { "批号 " (batch_no) } }
                        span.label-code { (code.trim()) }
                        small { "扫码查询追溯信息" }
                    }
                }
            }
        }
    }
    .into_string();
    Ok(Html(html).into_response())
}

#[cfg(test)]
mod tests {
    use super::qr_content;

    #[test]
    fn a_label_points_at_the_configured_public_url_not_the_address_it_was_opened_from() {
        let code = "(01)06901234567892(10)BR-1";
        assert_eq!(
            qr_content(
                Some("https://trace.tj.example"),
                Some("10.0.0.5:8080"),
                code
            ),
            "https://trace.tj.example/t/%2801%2906901234567892%2810%29BR-1"
        );
        assert_eq!(
            qr_content(None, Some("10.0.0.5:8080"), code),
            "http://10.0.0.5:8080/t/%2801%2906901234567892%2810%29BR-1"
        );
        // A URL code is its own content.
        assert_eq!(
            qr_content(
                Some("https://a.example"),
                None,
                "http://b.example/t/12000000000042"
            ),
            "http://b.example/t/12000000000042"
        );
    }
}
