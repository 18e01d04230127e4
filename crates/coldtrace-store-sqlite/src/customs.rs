//! Customs data and the cross-check (海关数据比对): declarations stored as customs sent them, and
//! [`cross_check`], which loads the declarations and batches in scope, asks the domain's pure
//! [`coldtrace_domain::customs::cross_check`] which findings should be open, and brings the findings table in line.
//! A customs feed, a submission that stores imported batches, and the periodic sweep all run it.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use coldtrace_domain::checks::{CUSTOMS_RULES, CheckPolicy, Policy};
use coldtrace_domain::customs::{self, CertificateOwner, Declaration, ImportedBatch, Limits};
use coldtrace_domain::{Batch, Product, ProvinceCode};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::*;
use crate::schema::resolve_by_records;
use crate::{CustomsReceipt, DeclarationFilter, StoredDeclaration, SweepReport};

/// What the cross-check reads of the feed beyond the declarations in scope, with what it read kept.
struct Feed<'a> {
    c: &'a Connection,
    certificates: RefCell<HashMap<String, Vec<CertificateOwner>>>,
    covered: RefCell<HashMap<String, Option<jiff::civil::Date>>>,
    enterprises: RefCell<HashMap<String, Option<(Uuid, String)>>>,
}

impl customs::Feed for Feed<'_> {
    fn certificate(&self, no: &str) -> Vec<CertificateOwner> {
        if let Some(v) = self.certificates.borrow().get(no) {
            return v.clone();
        }
        let v: Vec<CertificateOwner> = self
            .c
            .prepare_cached(
                "SELECT d.declaration_no, d.consignee_uscc FROM customs_certificates c
                 JOIN customs_declarations d ON d.declaration_no = c.declaration_no WHERE c.certificate_no = ?1",
            )
            .and_then(|mut s| {
                s.query_map([no], |r| {
                    Ok(CertificateOwner {
                        declaration_no: r.get(0)?,
                        consignee_uscc: r.get(1)?,
                    })
                })?
                .collect()
            })
            .unwrap_or_default();
        self.certificates
            .borrow_mut()
            .insert(no.to_string(), v.clone());
        v
    }

    fn covered_until(&self, office: &str) -> Option<jiff::civil::Date> {
        if let Some(v) = self.covered.borrow().get(office) {
            return *v;
        }
        let v: Option<String> = self
            .c
            .prepare_cached("SELECT MAX(declared_on) FROM customs_declarations WHERE office = ?1")
            .and_then(|mut s| s.query_row([office], |r| r.get(0)))
            .unwrap_or(None);
        let v = v.and_then(|d| d.parse().ok());
        self.covered.borrow_mut().insert(office.to_string(), v);
        v
    }

    fn enterprise(&self, uscc: &str) -> Option<(Uuid, String)> {
        if let Some(v) = self.enterprises.borrow().get(uscc) {
            return v.clone();
        }
        let v: Option<(String, String)> = self
            .c
            // The current version with this USCC, then its first version's id: keys, movements and findings
            // name an enterprise by that id, whatever its corrections (a corrected USCC included).
            .prepare_cached(
                "SELECT e.id, e.province FROM enterprises e WHERE e.uscc = ?1
                   AND NOT EXISTS (SELECT 1 FROM enterprises n WHERE n.corrects = e.id)
                 ORDER BY e.seq DESC LIMIT 1",
            )
            .and_then(|mut s| {
                s.query_row([uscc], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .unwrap_or(None)
            .map(|(id, province): (String, String)| (root(self.c, "enterprises", id), province));
        let v = v.and_then(|(id, p)| Some((Uuid::parse_str(&id).ok()?, p)));
        self.enterprises
            .borrow_mut()
            .insert(uscc.to_string(), v.clone());
        v
    }
}

/// Current imported batches with their product and owner as first recorded ([`Latest`] puts in what later
/// corrections changed).
/// The first version of a record in `table` (following `corrects` back; at most 100 steps).
pub(crate) fn root(c: &Connection, table: &str, mut id: String) -> String {
    for _ in 0..100 {
        let up: Option<String> = c
            .prepare_cached(&format!("SELECT corrects FROM {table} WHERE id = ?1"))
            .and_then(|mut s| s.query_row([&id], |r| r.get(0)))
            .unwrap_or(None);
        match up {
            Some(u) => id = u,
            None => break,
        }
    }
    id
}

const BATCHES: &str = "SELECT b.body, p.body, e.uscc, e.province, b.recorded_at
    FROM batches b JOIN products p ON p.id = b.product LEFT JOIN enterprises e ON e.id = b.owner
    WHERE json_extract(b.body, '$.declaration_no') IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM batches c WHERE c.corrects = b.id)";

/// A batch's body, its product's, its owner's USCC and province, when it was recorded.
type BatchRow = (String, String, Option<String>, Option<String>, i64);

/// Products and enterprises as last corrected, by their first version's id: a batch names the product and the
/// owner it was recorded with, and a chain of corrections (a correction of a correction) is followed to its end.
struct Latest {
    products: HashMap<String, String>,
    usccs: HashMap<String, String>,
}

impl Latest {
    fn load(c: &Connection) -> Result<Self> {
        let chain = |sql: &str| -> Result<HashMap<String, String>> {
            let mut st = c.prepare(sql)?;
            // (id, corrects, value) of every correction, in the order stored.
            let rows: Vec<(String, String, String)> = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut root_of: HashMap<String, String> = HashMap::new();
            let mut latest = HashMap::new();
            for (id, corrects, value) in rows {
                let root = root_of.get(&corrects).cloned().unwrap_or(corrects);
                root_of.insert(id, root.clone());
                latest.insert(root, value);
            }
            Ok(latest)
        };
        Ok(Self {
            products: chain(
                "SELECT id, corrects, body FROM products WHERE corrects IS NOT NULL ORDER BY seq",
            )?,
            usccs: chain(
                "SELECT id, corrects, uscc FROM enterprises WHERE corrects IS NOT NULL ORDER BY seq",
            )?,
        })
    }
}

fn imported(
    (body, product, uscc, province, recorded): BatchRow,
    latest: &Latest,
) -> Result<ImportedBatch> {
    let b: Batch = serde_json::from_str(&body)?;
    let product_id = b.product.to_string();
    let product = latest.products.get(&product_id).unwrap_or(&product);
    let p: Product = serde_json::from_str(product)?;
    let uscc = latest.usccs.get(&b.owner.to_string()).cloned().or(uscc);
    Ok(coldtrace_store::customs::imported_batch(
        b, p, uscc, province, recorded,
    ))
}

fn batch_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BatchRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

/// What a cross-check did, and the refusals for batches of a submission under *reject*.
pub(crate) type Outcome = coldtrace_store::customs::Reconciled;

/// Cross-checks the declarations numbered in `scope` (every declaration and imported batch when `None`) and
/// brings the customs findings in line: opens each that should be open (a dismissed one is not opened again),
/// updates the message of one still open, and resolves each open one of the scope that no longer holds. A finding
/// about a batch in `refusable` under a rule the province rejects is answered as a refusal instead.
pub(crate) fn cross_check(
    c: &Connection,
    now_ms: i64,
    checks: &CheckPolicy,
    scope: Option<&BTreeSet<String>>,
    refusable: &HashSet<Uuid>,
) -> Result<Outcome> {
    if CUSTOMS_RULES.iter().all(|r| checks.of(*r) == Policy::Off) {
        return Ok(Outcome::default());
    }
    let mut declarations: Vec<Declaration> = Vec::new();
    let mut batches: Vec<ImportedBatch> = Vec::new();
    let latest = Latest::load(c)?;
    match scope {
        None => {
            let mut s = c.prepare("SELECT body FROM customs_declarations")?;
            for body in s.query_map([], |r| r.get::<_, String>(0))? {
                declarations.push(serde_json::from_str(&body?)?);
            }
            let mut s = c.prepare(&format!("{BATCHES} ORDER BY b.seq"))?;
            for r in s.query_map([], batch_row)? {
                batches.push(imported(r?, &latest)?);
            }
        }
        Some(numbers) => {
            for no in numbers {
                let body: Option<String> = c
                    .prepare_cached(
                        "SELECT body FROM customs_declarations WHERE declaration_no = ?1",
                    )?
                    .query_row([no], |r| r.get(0))
                    .optional()?;
                if let Some(body) = body {
                    declarations.push(serde_json::from_str(&body)?);
                }
                let sql = format!(
                    "{BATCHES} AND json_extract(b.body, '$.declaration_no') = ?1 ORDER BY b.seq"
                );
                let mut s = c.prepare_cached(&sql)?;
                for r in s.query_map([no], batch_row)? {
                    batches.push(imported(r?, &latest)?);
                }
            }
        }
    }
    let feed = Feed {
        c,
        certificates: Default::default(),
        covered: Default::default(),
        enterprises: Default::default(),
    };
    let limits = Limits {
        tolerance_percent: checks.windows.customs_tolerance_percent,
        unrecorded_days: checks.windows.customs_days,
    };
    let found = customs::cross_check(
        &declarations,
        &batches,
        &feed,
        limits,
        coldtrace_domain::time::day_at(now_ms),
    );
    Ok(coldtrace_store::customs::reconcile(
        &mut Findings(c),
        found,
        checks,
        scope,
        refusable,
        now_ms,
    )?)
}

/// The findings table, for [`coldtrace_store::customs::reconcile`].
struct Findings<'c>(&'c Connection);

impl coldtrace_store::customs::CustomsFindings for Findings<'_> {
    type Id = String;

    fn update_open(&mut self, f: &customs::CustomsFinding) -> StoreResult<u64> {
        let c = self.0;
        run(|| {
            Ok(c.prepare_cached(
                "UPDATE findings SET message = ?2, rule = ?3, enterprise = ?4, province = ?5, batch = ?6
                 WHERE subject = ?1 AND status = 'open'
                   AND (message, rule, enterprise, province, batch) IS NOT (?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                f.subject,
                f.message,
                f.rule.as_str(),
                f.enterprise.map(|e| e.to_string()).unwrap_or_default(),
                f.province,
                f.batch.map(|b| b.to_string())
            ])? as u64)
        })
    }

    fn open_or_dismissed(&mut self, subject: &str) -> StoreResult<bool> {
        let c = self.0;
        run(|| {
            Ok(c.prepare_cached(
                "SELECT 1 FROM findings WHERE subject = ?1 AND status IN ('open', 'dismissed')",
            )?
            .exists([subject])?)
        })
    }

    fn open(&mut self, f: &customs::CustomsFinding, now_ms: i64) -> StoreResult<()> {
        let c = self.0;
        run(|| {
            c.prepare_cached(
                "INSERT INTO findings (id, rule, subject, status, enterprise, province, batch, movement, message,
                    opened_at, declaration)
                 VALUES (?1, ?2, ?3, 'open', ?4, ?5, ?6, NULL, ?7, ?8, ?9)",
            )?
            .execute(params![
                Uuid::now_v7().to_string(),
                f.rule.as_str(),
                f.subject,
                // Declared goods of an unregistered consignee are nobody's ledger yet.
                f.enterprise.map(|e| e.to_string()).unwrap_or_default(),
                f.province,
                f.batch.map(|b| b.to_string()),
                f.message,
                now_ms,
                f.declaration
            ])?;
            Ok(())
        })
    }

    fn open_in_scope(
        &mut self,
        scope: Option<&BTreeSet<String>>,
    ) -> StoreResult<Vec<(String, String, String)>> {
        let c = self.0;
        run(|| {
            let mut out = Vec::new();
            let mut collect = |sql: &str, arg: Option<&str>| -> Result<()> {
                let mut s = c.prepare_cached(sql)?;
                let args: Vec<&str> = arg.into_iter().collect();
                for r in s.query_map(rusqlite::params_from_iter(args), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })? {
                    out.push(r?);
                }
                Ok(())
            };
            match scope {
                None => collect(
                    "SELECT id, subject, rule FROM findings WHERE status = 'open' AND declaration IS NOT NULL",
                    None,
                )?,
                Some(numbers) => {
                    for no in numbers {
                        collect(
                            "SELECT id, subject, rule FROM findings WHERE declaration = ?1 AND status = 'open'",
                            Some(no),
                        )?;
                    }
                }
            }
            Ok(out)
        })
    }

    fn resolve(&mut self, id: String, now_ms: i64) -> StoreResult<u64> {
        let c = self.0;
        run(|| {
            Ok(c.prepare_cached(&format!(
                "{} WHERE id = ?2 AND status = 'open'",
                resolve_by_records(1)
            ))?
            .execute(params![now_ms, id])? as u64)
        })
    }
}

/// Adds to a feed's scope the declarations of other batches its news bears on: batches of the same customs
/// offices naming declarations the feed still lacks (the feed now covers a later day), and batches citing one of
/// its certificates.
fn widen(
    c: &Connection,
    declarations: &[Declaration],
    changed: &BTreeSet<String>,
    scope: &mut BTreeSet<String>,
) -> Result<()> {
    let offices: BTreeSet<&str> = changed.iter().filter_map(|n| n.get(..4)).collect();
    for office in offices {
        let mut s = c.prepare_cached(
            "SELECT DISTINCT json_extract(b.body, '$.declaration_no') FROM batches b
             WHERE json_extract(b.body, '$.declaration_no') BETWEEN ?1 AND ?1 || ':'
               AND NOT EXISTS (SELECT 1 FROM customs_declarations d
                               WHERE d.declaration_no = json_extract(b.body, '$.declaration_no'))",
        )?;
        for no in s.query_map([office], |r| r.get::<_, String>(0))? {
            scope.insert(no?);
        }
    }
    let certs: Vec<&String> = declarations
        .iter()
        .filter(|d| changed.contains(d.declaration_no.as_str()))
        .flat_map(|d| d.certificate_nos.iter())
        .collect();
    if !certs.is_empty() {
        let json = serde_json::to_string(&certs)?;
        let mut s = c.prepare_cached(
            "SELECT DISTINCT json_extract(b.body, '$.declaration_no') FROM batches b
             WHERE json_extract(b.body, '$.declaration_no') IS NOT NULL
               AND upper(trim(json_extract(b.body, '$.inspection_cert_no'))) IN (SELECT value FROM json_each(?1))",
        )?;
        for no in s.query_map([json], |r| r.get::<_, String>(0))? {
            scope.insert(no?);
        }
    }
    Ok(())
}

fn stored(row: (String, String, String, i64)) -> Result<StoredDeclaration> {
    let (body, province, by, at) = row;
    Ok(StoredDeclaration {
        record: serde_json::from_str(&body)?,
        province,
        submitted_by: by,
        received_at_ms: at,
    })
}

#[async_trait]
impl CustomsStore for SqliteStore {
    async fn put_declarations(
        &self,
        province: ProvinceCode,
        by: String,
        declarations: Vec<Declaration>,
        checks: CheckPolicy,
        now_ms: i64,
    ) -> StoreResult<CustomsReceipt> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let mut receipt = CustomsReceipt::default();
            let mut scope = BTreeSet::new();
            let mut foreign = coldtrace_domain::ValidationErrors::default();
            for (i, d) in declarations.iter().enumerate() {
                let no = d.declaration_no.as_str().to_string();
                let (fp, body) = encode(d)?;
                let prior: Option<(String, String)> = tx
                    .prepare_cached(
                        "SELECT fp, province FROM customs_declarations WHERE declaration_no = ?1",
                    )?
                    .query_row([&no], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                // A declaration belongs to the feed that sent it first: another province's customs cannot
                // replace it (nor learn whose it is).
                if prior.as_ref().is_some_and(|(_, p)| p != province.as_str()) {
                    foreign.push(
                        format!("declarations[{i}].declaration_no"),
                        "was sent by another customs feed; it can amend it, this one cannot",
                    );
                    continue;
                }
                match prior.map(|(fp, _)| fp) {
                    Some(p) if p == fp => {
                        receipt.unchanged += 1;
                        continue;
                    }
                    Some(_) => receipt.replaced += 1,
                    None => receipt.stored += 1,
                }
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO customs_declarations (declaration_no, province, office, consignee_uscc,
                        declared_on, fp, body, submitted_by, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?
                .execute(params![
                    no,
                    province.as_str(),
                    d.declaration_no.customs_office(),
                    d.consignee_uscc.as_str(),
                    d.declared_on.to_string(),
                    fp,
                    body,
                    by,
                    now_ms
                ])?;
                tx.prepare_cached("DELETE FROM customs_certificates WHERE declaration_no = ?1")?
                    .execute([&no])?;
                for cert in &d.certificate_nos {
                    tx.prepare_cached(
                        "INSERT OR IGNORE INTO customs_certificates (certificate_no, declaration_no) VALUES (?1, ?2)",
                    )?
                    .execute(params![cert, no])?;
                }
                scope.insert(no);
            }
            if !foreign.is_empty() {
                // Dropping the transaction stores nothing of the feed.
                return Err(StoreError::Conflict(foreign).into());
            }
            if !scope.is_empty() {
                let changed = scope.clone();
                widen(&tx, &declarations, &changed, &mut scope)?;
                let o = cross_check(&tx, now_ms, &checks, Some(&scope), &HashSet::new())?;
                receipt.opened = o.report.opened;
                receipt.resolved = o.report.resolved;
            }
            tx.commit()?;
            Ok(receipt)
        })
        .await
    }

    async fn declarations(
        &self,
        filter: DeclarationFilter,
        after: Option<String>,
        limit: u32,
    ) -> StoreResult<Vec<StoredDeclaration>> {
        self.read(move |c| {
            let mut s = c.prepare_cached(
                "SELECT body, province, submitted_by, received_at FROM customs_declarations
                 WHERE (?1 IS NULL OR province = ?1) AND (?2 IS NULL OR consignee_uscc = ?2)
                   AND declaration_no > ?3
                 ORDER BY declaration_no LIMIT ?4",
            )?;
            let rows = s
                .query_map(
                    params![
                        filter.province,
                        filter.consignee,
                        after.unwrap_or_default(),
                        limit
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(stored).collect()
        })
        .await
    }

    async fn declaration(&self, declaration_no: String) -> StoreResult<Option<StoredDeclaration>> {
        self.read(move |c| {
            let row = c
                .prepare_cached(
                    "SELECT body, province, submitted_by, received_at FROM customs_declarations
                     WHERE declaration_no = ?1",
                )?
                .query_row([declaration_no], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()?;
            row.map(stored).transpose()
        })
        .await
    }

    async fn cross_check_customs(
        &self,
        now_ms: i64,
        checks: CheckPolicy,
    ) -> StoreResult<SweepReport> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let o = cross_check(&tx, now_ms, &checks, None, &HashSet::new())?;
            tx.commit()?;
            Ok(o.report)
        })
        .await
    }
}
