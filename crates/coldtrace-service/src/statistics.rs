//! The census of cold-chain enterprises and the bureau's statistics (底数与统计): a regulator imports its
//! province's census; the statistics match it against registered enterprises and give, per city and enterprise
//! kind, registered enterprises, census and coverage, self-commitments, reporting, lots and goods on hand, open
//! findings and the data-quality rate; beside them the census entries not registered, the businesses ledgers name
//! that are not registered, and the enterprises that stopped reporting. The sweep records coverage by day.

use std::collections::BTreeMap;

use coldtrace_domain::census::{
    CensusEntry, CensusEntryDraft, MatchedBy, Registered, match_census,
};
use coldtrace_domain::{Principal, ProvinceCode, Role};
use coldtrace_store::{CoverageDay, EnterpriseActivity, Scope, Store, UnregisteredParty};

use crate::error::{ServiceError, require_role};

/// At most this many census entries in one province.
pub const MAX_CENSUS: usize = 200_000;
/// An enterprise that reported within this many days is reporting; one that reported before and not since has
/// stopped.
pub const REPORTING_DAYS: i64 = 30;

/// One city and enterprise kind (统计行).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct StatRow {
    /// GB/T 2260 city (`120100`) and its name.
    pub city: String,
    pub city_name: String,
    pub kind: String,
    /// Registered enterprises.
    pub enterprises: u64,
    /// Census entries, and those registered on the platform (coverage = registered / census).
    pub census: u64,
    pub census_registered: u64,
    /// Registered enterprises with a signed self-commitment.
    pub committed: u64,
    /// Registered enterprises that reported within [`REPORTING_DAYS`], and those that reported before and not since.
    pub reporting: u64,
    pub stopped: u64,
    /// Lots held (a batch at an enterprise), those with goods on hand, and those with an open finding.
    pub lots: u64,
    pub lots_on_hand: u64,
    pub flagged_lots: u64,
    /// Open findings about these enterprises' ledgers.
    pub findings_open: u64,
}

/// A census entry not registered on the platform.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Unregistered {
    pub entry: CensusEntry,
    /// Its region by name (`天津市 北辰区`).
    pub place: String,
}

/// A registered enterprise that reported before and not within [`REPORTING_DAYS`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Stopped {
    pub enterprise: uuid::Uuid,
    pub name: String,
    pub kind: String,
    pub region: String,
    /// Its region by name.
    pub place: String,
    pub last_reported_ms: i64,
}

/// The bureau's statistics for one province.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Statistics {
    pub province: String,
    /// When the census was imported (milliseconds), and by whom; none imported: null.
    pub census_imported_at_ms: Option<i64>,
    pub census_imported_by: Option<String>,
    /// Census entries matched by USCC, by name, and by a near name.
    pub matched_by_uscc: u64,
    pub matched_by_name: u64,
    pub matched_by_similar_name: u64,
    pub rows: Vec<StatRow>,
    /// Census entries not registered (at most 500).
    pub unregistered: Vec<Unregistered>,
    /// Businesses the province's ledgers name by USCC that are not registered (at most 200).
    pub unregistered_parties: Vec<UnregisteredParty>,
    /// Enterprises that stopped reporting (at most 500).
    pub stopped: Vec<Stopped>,
    /// Coverage by day over the last 30 days, as the sweep recorded it.
    pub coverage_trend: Vec<CoverageDay>,
}

fn regulator_province(p: &Principal, province: Option<&str>) -> Result<ProvinceCode, ServiceError> {
    require_role(
        p,
        &[Role::Regulator, Role::National],
        "read the bureau's statistics",
    )?;
    match (p.role, &p.province, province) {
        (Role::Regulator, Some(mine), None) => Ok(mine.clone()),
        (Role::Regulator, Some(mine), Some(asked)) if asked == mine.as_str() => Ok(mine.clone()),
        (Role::Regulator, _, _) => Err(ServiceError::NotFound("province")),
        (_, _, Some(asked)) => {
            ProvinceCode::parse(asked).map_err(|e| ServiceError::invalid("province", e.to_string()))
        }
        _ => Err(ServiceError::invalid(
            "province",
            "the national platform names the province (?province=12)",
        )),
    }
}

/// Replaces the regulator's province's census (all or nothing; every wrong field by its path). Entries must be
/// of the province.
pub async fn put_census(
    store: &dyn Store,
    p: &Principal,
    drafts: &[CensusEntryDraft],
) -> Result<u64, ServiceError> {
    require_role(p, &[Role::Regulator], "import a census")?;
    let province = p
        .province
        .clone()
        .ok_or_else(|| ServiceError::Forbidden("a regulator key without its province".into()))?;
    if drafts.is_empty() || drafts.len() > MAX_CENSUS {
        return Err(ServiceError::invalid(
            "entries",
            format!("send 1 to {MAX_CENSUS} entries"),
        ));
    }
    let mut errors = coldtrace_domain::ValidationErrors::default();
    let mut entries = Vec::with_capacity(drafts.len());
    for (i, d) in drafts.iter().enumerate() {
        match d.parse(&format!("entries[{i}]")) {
            Ok(e) if e.region.province() != province => errors.push(
                format!("entries[{i}].region"),
                "is outside the province this regulator supervises",
            ),
            Ok(e) => entries.push(e),
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    Ok(store
        .put_census(
            province,
            p.subject(),
            entries,
            jiff::Timestamp::now().as_millisecond(),
        )
        .await?)
}

/// The statistics of the caller's province (a regulator), or of the province named (national).
pub async fn statistics(
    store: &dyn Store,
    p: &Principal,
    province: Option<&str>,
    now_ms: i64,
) -> Result<Statistics, ServiceError> {
    let province = regulator_province(p, province)?;
    compute(store, &province, now_ms).await
}

/// The day (UTC+8) of an instant, `2026-12-06`.
fn day(ms: i64) -> String {
    coldtrace_domain::time::day_at(ms).to_string()
}

/// The statistics row of a region's city and a kind, made when first needed.
fn row_of<'a>(
    rows: &'a mut BTreeMap<(String, String), StatRow>,
    region: &str,
    kind: &str,
) -> &'a mut StatRow {
    let city = city_of(region);
    rows.entry((city.clone(), kind.to_string()))
        .or_insert_with(|| StatRow {
            city_name: coldtrace_domain::region::city_name(&city)
                .unwrap_or(&city)
                .to_string(),
            city,
            kind: kind.to_string(),
            ..Default::default()
        })
}

fn city_of(region: &str) -> String {
    format!("{}00", region.get(..4).unwrap_or(region))
}

/// Computes the statistics of a province (no caller check: the sweep records its coverage with it).
pub async fn compute(
    store: &dyn Store,
    province: &ProvinceCode,
    now_ms: i64,
) -> Result<Statistics, ServiceError> {
    let census = store.census(province.clone()).await?;
    let mut s = counted(store, province, now_ms, census).await?;
    s.unregistered_parties = store.unregistered_parties(province.clone(), 200).await?;
    s.coverage_trend = store
        .coverage_history(province.clone(), day(now_ms - 30 * 86_400_000))
        .await?;
    Ok(s)
}

/// The statistics by city and kind from the census and the enterprises' activity, with the census entries not
/// registered and the enterprises that stopped; the named businesses and the trend are left empty.
async fn counted(
    store: &dyn Store,
    province: &ProvinceCode,
    now_ms: i64,
    (census, imported): (Vec<CensusEntry>, Option<(i64, String)>),
) -> Result<Statistics, ServiceError> {
    let activity: Vec<EnterpriseActivity> =
        store.activity(Scope::Province(province.clone())).await?;
    let registered: Vec<Registered> = activity
        .iter()
        .map(|a| Registered {
            id: a.enterprise,
            uscc: a.uscc.clone(),
            name: a.name.clone(),
            region: a.region.clone(),
        })
        .collect();
    let matches = match_census(&census, &registered);
    let mut rows: BTreeMap<(String, String), StatRow> = BTreeMap::new();
    let since = now_ms - REPORTING_DAYS * 86_400_000;
    let mut stopped = Vec::new();
    for a in &activity {
        let r = row_of(&mut rows, &a.region, &a.kind);
        r.enterprises += 1;
        r.committed += u64::from(a.self_commitment);
        match a.last_reported_ms {
            Some(t) if t >= since => r.reporting += 1,
            Some(t) => {
                r.stopped += 1;
                stopped.push(Stopped {
                    enterprise: a.enterprise,
                    name: a.name.clone(),
                    kind: a.kind.clone(),
                    region: a.region.clone(),
                    place: coldtrace_domain::RegionCode::parse(&a.region)
                        .map(|r| r.place())
                        .unwrap_or_else(|_| a.region.clone()),
                    last_reported_ms: t,
                });
            }
            None => {}
        }
        r.lots += a.lots;
        r.lots_on_hand += a.lots_on_hand;
        r.flagged_lots += a.flagged_lots;
        r.findings_open += a.findings_open;
    }
    let (mut by_uscc, mut by_name, mut by_similar) = (0, 0, 0);
    let mut unregistered = Vec::new();
    for (e, m) in census.iter().zip(&matches) {
        let r = row_of(&mut rows, e.region.as_str(), e.kind.as_str());
        r.census += 1;
        match m.by {
            Some(MatchedBy::Uscc) => by_uscc += 1,
            Some(MatchedBy::Name) => by_name += 1,
            Some(MatchedBy::SimilarName) => by_similar += 1,
            None => {}
        }
        if m.enterprise.is_some() {
            r.census_registered += 1;
        } else if unregistered.len() < 500 {
            unregistered.push(Unregistered {
                entry: e.clone(),
                place: e.region.place(),
            });
        }
    }
    stopped.sort_by_key(|s| s.last_reported_ms);
    stopped.truncate(500);
    Ok(Statistics {
        province: province.as_str().to_string(),
        census_imported_at_ms: imported.as_ref().map(|i| i.0),
        census_imported_by: imported.map(|i| i.1),
        matched_by_uscc: by_uscc,
        matched_by_name: by_name,
        matched_by_similar_name: by_similar,
        rows: rows.into_values().collect(),
        unregistered,
        unregistered_parties: vec![],
        stopped,
        coverage_trend: vec![],
    })
}

/// Records the day's coverage by city and kind (the sweep calls it at a provincial platform).
pub async fn record_coverage(
    store: &dyn Store,
    province: &ProvinceCode,
    now_ms: i64,
) -> Result<(), ServiceError> {
    // No census, no coverage: nothing else is read.
    let census = store.census(province.clone()).await?;
    if census.1.is_none() {
        return Ok(());
    }
    let s = counted(store, province, now_ms, census).await?;
    let day = day(now_ms);
    let rows = s
        .rows
        .iter()
        .map(|r| CoverageDay {
            day: day.clone(),
            city: r.city.clone(),
            kind: r.kind.clone(),
            census: r.census,
            registered: r.census_registered,
        })
        .collect();
    Ok(store.record_coverage(province.clone(), rows).await?)
}

/// A sheet: its name, headers and rows.
type Sheet<'a> = (&'a str, Vec<&'a str>, Vec<Vec<String>>);

/// The statistics as a workbook: one sheet by city and kind, one of census entries not registered, one of
/// businesses named but not registered, one of enterprises that stopped reporting.
pub fn xlsx(s: &Statistics) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let pct = |a: u64, b: u64| {
        if b == 0 {
            String::new()
        } else {
            format!("{:.1}%", 100.0 * a as f64 / b as f64)
        }
    };
    let sheets: Vec<Sheet> = vec![
        (
            "统计 statistics",
            vec![
                "城市 city",
                "城市名称",
                "类型 kind",
                "登记主体 enterprises",
                "底数 census",
                "已登记 registered",
                "覆盖率 coverage",
                "承诺 committed",
                "报送 reporting",
                "停报 stopped",
                "批次·持有 lots",
                "在库 on hand",
                "有问题 flagged",
                "待处理问题 findings",
                "质量率 quality",
            ],
            s.rows
                .iter()
                .map(|r| {
                    vec![
                        r.city.clone(),
                        r.city_name.clone(),
                        coldtrace_domain::EnterpriseKind::parse(&r.kind)
                            .map(|k| k.label_zh().to_string())
                            .unwrap_or_else(|_| r.kind.clone()),
                        r.enterprises.to_string(),
                        r.census.to_string(),
                        r.census_registered.to_string(),
                        pct(r.census_registered, r.census),
                        r.committed.to_string(),
                        r.reporting.to_string(),
                        r.stopped.to_string(),
                        r.lots.to_string(),
                        r.lots_on_hand.to_string(),
                        r.flagged_lots.to_string(),
                        r.findings_open.to_string(),
                        pct(r.lots - r.flagged_lots.min(r.lots), r.lots),
                    ]
                })
                .collect(),
        ),
        (
            "未登记底数 not registered",
            vec![
                "统一社会信用代码",
                "名称",
                "类型",
                "行政区划",
                "地址",
                "联系人",
                "联系电话",
            ],
            s.unregistered
                .iter()
                .map(|u| {
                    let e = &u.entry;
                    vec![
                        e.uscc
                            .as_ref()
                            .map(|x| x.as_str().to_string())
                            .unwrap_or_default(),
                        e.name.clone(),
                        e.kind.label_zh().to_string(),
                        e.region.as_str().to_string(),
                        e.address.clone().unwrap_or_default(),
                        e.contact_name.clone().unwrap_or_default(),
                        e.contact_phone.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        ),
        (
            "交易对象未登记 named",
            vec!["统一社会信用代码", "名称", "出现次数 movements"],
            s.unregistered_parties
                .iter()
                .map(|u| vec![u.uscc.clone(), u.name.clone(), u.movements.to_string()])
                .collect(),
        ),
        (
            "停报 stopped",
            vec!["名称", "类型", "行政区划", "最后报送 last reported"],
            s.stopped
                .iter()
                .map(|x| {
                    vec![
                        x.name.clone(),
                        x.kind.clone(),
                        x.region.clone(),
                        day(x.last_reported_ms),
                    ]
                })
                .collect(),
        ),
    ];
    // Counts are numbers (the statistics' from the fourth column, the named businesses' third); codes stay text.
    for (k, (name, headers, rows)) in sheets.into_iter().enumerate() {
        let numeric = |c: usize| (k == 0 && c >= 3) || (k == 2 && c == 2);
        let ws = wb.add_worksheet();
        ws.set_name(name.split(' ').next().unwrap_or(name))?;
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)?;
            ws.set_column_width(c as u16, 16)?;
        }
        for (i, r) in rows.iter().enumerate() {
            for (c, v) in r.iter().enumerate() {
                match v.parse::<f64>() {
                    Ok(n) if numeric(c) => ws.write_number(i as u32 + 1, c as u16, n)?,
                    _ => ws.write_string(
                        i as u32 + 1,
                        c as u16,
                        crate::export::neutralise(v).as_ref(),
                    )?,
                };
            }
        }
        ws.autofilter(0, 0, rows.len() as u32, headers.len() as u16 - 1)?;
        ws.set_freeze_panes(1, 0)?;
    }
    wb.save_to_buffer()
}
