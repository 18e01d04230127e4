//! The customs cross-check (海关数据比对) on PostgreSQL: the declarations and imported batches in scope are
//! loaded, the domain's pure [`coldtrace_domain::customs::cross_check`] says which findings should be open, and
//! the findings table is brought in line, as the SQLite store does; and the customs feeds (海关数据) it runs on.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use coldtrace_domain::checks::{CUSTOMS_RULES, CheckPolicy, Policy};
use coldtrace_domain::customs::{self, CertificateOwner, Declaration, ImportedBatch, Limits};
use coldtrace_domain::{Batch, Product, ProvinceCode, ValidationErrors};
use coldtrace_store::writer::encode;
use coldtrace_store::{
    CustomsReceipt, CustomsStore, DeclarationFilter, StoreError, StoredDeclaration, SweepReport,
};
use tokio::runtime::Handle;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::ledger::{PgLedger, RESOLVE_BY_RECORDS};
use crate::{Error, PgStore, Result};

type StoreResult<T> = coldtrace_store::Result<T>;

/// The first version of a record in `table` (following `corrects` back; at most 100 steps).
pub(crate) fn root(l: &PgLedger<'_>, table: &str, mut id: Uuid) -> Result<Uuid> {
    let sql = match table {
        "products" => "SELECT corrects FROM products WHERE id = $1",
        "enterprises" => "SELECT corrects FROM enterprises WHERE id = $1",
        _ => return Err(Error::Config(format!("no corrections in {table}"))),
    };
    for _ in 0..100 {
        match l.value::<Uuid>(sql, &[&id])? {
            Some(up) => id = up,
            None => break,
        }
    }
    Ok(id)
}

const BATCHES: &str = "SELECT b.body, p.body, e.uscc, e.province, b.recorded_at
    FROM batches b JOIN products p ON p.id = b.product LEFT JOIN enterprises e ON e.id = b.owner
    WHERE b.declaration_no IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM batches c WHERE c.corrects = b.id)";

/// Products and enterprises as last corrected, by their first version's id.
struct Latest {
    products: HashMap<Uuid, String>,
    usccs: HashMap<Uuid, String>,
}

impl Latest {
    fn load(l: &PgLedger<'_>) -> Result<Self> {
        let chain = |sql: &str| -> Result<HashMap<Uuid, String>> {
            let mut root_of: HashMap<Uuid, Uuid> = HashMap::new();
            let mut latest = HashMap::new();
            // (id, corrects, value) of every correction, in the order stored.
            for r in l.rows(sql, &[])? {
                let (id, corrects, value): (Uuid, Uuid, String) = (r.get(0), r.get(1), r.get(2));
                let root = root_of.get(&corrects).copied().unwrap_or(corrects);
                root_of.insert(id, root);
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

fn unreadable(e: serde_json::Error) -> Error {
    Error::Unreadable(format!("stored record: {e}"))
}

fn imported(r: &Row, latest: &Latest) -> Result<ImportedBatch> {
    let (body, product, uscc, province, recorded): (
        String,
        String,
        Option<String>,
        Option<String>,
        i64,
    ) = (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
    let b: Batch = serde_json::from_str(&body).map_err(unreadable)?;
    let product = latest.products.get(&b.product).unwrap_or(&product);
    let p: Product = serde_json::from_str(product).map_err(unreadable)?;
    let uscc = latest.usccs.get(&b.owner).cloned().or(uscc);
    Ok(coldtrace_store::customs::imported_batch(
        b, p, uscc, province, recorded,
    ))
}

/// What the cross-check reads of the feed beyond the declarations in scope, with what it read kept.
struct Feed<'l, 'a> {
    l: &'l PgLedger<'a>,
    certificates: RefCell<HashMap<String, Vec<CertificateOwner>>>,
    covered: RefCell<HashMap<String, Option<jiff::civil::Date>>>,
    enterprises: RefCell<HashMap<String, Option<(Uuid, String)>>>,
}

impl customs::Feed for Feed<'_, '_> {
    fn certificate(&self, no: &str) -> Vec<CertificateOwner> {
        if let Some(v) = self.certificates.borrow().get(no) {
            return v.clone();
        }
        let v: Vec<CertificateOwner> = self
            .l
            .rows(
                "SELECT d.declaration_no, d.consignee_uscc FROM customs_certificates c
                 JOIN customs_declarations d ON d.declaration_no = c.declaration_no WHERE c.certificate_no = $1",
                &[&no],
            )
            .map(|rows| {
                rows.iter()
                    .map(|r| CertificateOwner {
                        declaration_no: r.get(0),
                        consignee_uscc: r.get(1),
                    })
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
            .l
            .value(
                "SELECT MAX(declared_on) FROM customs_declarations WHERE office = $1",
                &[&office],
            )
            .unwrap_or(None);
        let v = v.and_then(|d| d.parse().ok());
        self.covered.borrow_mut().insert(office.to_string(), v);
        v
    }

    fn enterprise(&self, uscc: &str) -> Option<(Uuid, String)> {
        if let Some(v) = self.enterprises.borrow().get(uscc) {
            return v.clone();
        }
        // The current version with this USCC, then its first version's id: keys, movements and findings name an
        // enterprise by that id, whatever its corrections (a corrected USCC included).
        let v = self
            .l
            .row(
                "SELECT e.id, e.province FROM enterprises e WHERE e.uscc = $1
                   AND NOT EXISTS (SELECT 1 FROM enterprises n WHERE n.corrects = e.id)
                 ORDER BY e.seq DESC LIMIT 1",
                &[&uscc],
            )
            .unwrap_or(None)
            .and_then(|r| {
                let (id, province): (Uuid, String) = (r.get(0), r.get(1));
                Some((root(self.l, "enterprises", id).ok()?, province))
            });
        self.enterprises
            .borrow_mut()
            .insert(uscc.to_string(), v.clone());
        v
    }
}

/// What a cross-check did, and the refusals for batches of a submission under *reject*.
pub(crate) type Outcome = coldtrace_store::customs::Reconciled;

/// Cross-checks the declarations numbered in `scope` (every declaration and imported batch when `None`) and
/// brings the customs findings in line: opens each that should be open (a dismissed one is not opened again),
/// updates the message of one still open, and resolves each open one of the scope that no longer holds. A finding
/// about a batch in `refusable` under a rule the province rejects is answered as a refusal instead.
pub(crate) fn cross_check(
    l: &PgLedger<'_>,
    now_ms: i64,
    checks: &CheckPolicy,
    scope: Option<&BTreeSet<String>>,
    refusable: &HashSet<Uuid>,
) -> StoreResult<Outcome> {
    if CUSTOMS_RULES.iter().all(|r| checks.of(*r) == Policy::Off) {
        return Ok(Outcome::default());
    }
    let mut declarations: Vec<Declaration> = Vec::new();
    let mut batches: Vec<ImportedBatch> = Vec::new();
    let latest = Latest::load(l)?;
    match scope {
        None => {
            for r in l.rows("SELECT body FROM customs_declarations", &[])? {
                declarations.push(serde_json::from_str(r.get(0)).map_err(unreadable)?);
            }
            for r in l.rows(&format!("{BATCHES} ORDER BY b.seq"), &[])? {
                batches.push(imported(&r, &latest)?);
            }
        }
        Some(numbers) => {
            for no in numbers {
                let body: Option<String> = l.value(
                    "SELECT body FROM customs_declarations WHERE declaration_no = $1",
                    &[no],
                )?;
                if let Some(body) = body {
                    declarations.push(serde_json::from_str(&body).map_err(unreadable)?);
                }
                for r in l.rows(
                    &format!("{BATCHES} AND b.declaration_no = $1 ORDER BY b.seq"),
                    &[no],
                )? {
                    batches.push(imported(&r, &latest)?);
                }
            }
        }
    }
    let feed = Feed {
        l,
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
    coldtrace_store::customs::reconcile(&mut Findings(l), found, checks, scope, refusable, now_ms)
}

/// The findings table, for [`coldtrace_store::customs::reconcile`].
struct Findings<'l, 'a>(&'l PgLedger<'a>);

impl coldtrace_store::customs::CustomsFindings for Findings<'_, '_> {
    type Id = Uuid;

    fn update_open(&mut self, f: &customs::CustomsFinding) -> StoreResult<u64> {
        Ok(self.0.exec(
            "UPDATE findings SET message = $2, rule = $3, enterprise = $4, province = $5, batch = $6
             WHERE subject = $1 AND status = 'open'
               AND (message, rule, enterprise, province, batch) IS DISTINCT FROM ($2, $3, $4, $5, $6)",
            &[
                &f.subject,
                &f.message,
                &f.rule.as_str(),
                &f.enterprise.map(|e| e.to_string()).unwrap_or_default(),
                &f.province,
                &f.batch,
            ],
        )?)
    }

    fn open_or_dismissed(&mut self, subject: &str) -> StoreResult<bool> {
        Ok(self
            .0
            .row(
                "SELECT 1 FROM findings WHERE subject = $1 AND status IN ('open', 'dismissed')",
                &[&subject],
            )?
            .is_some())
    }

    fn open(&mut self, f: &customs::CustomsFinding, now_ms: i64) -> StoreResult<()> {
        self.0.exec(
            "INSERT INTO findings (id, rule, subject, status, enterprise, province, batch, movement, message,
                opened_at, declaration)
             VALUES ($1, $2, $3, 'open', $4, $5, $6, NULL, $7, $8, $9)",
            &[
                &Uuid::now_v7(),
                &f.rule.as_str(),
                &f.subject,
                // Declared goods of an unregistered consignee are nobody's ledger yet.
                &f.enterprise.map(|e| e.to_string()).unwrap_or_default(),
                &f.province,
                &f.batch,
                &f.message,
                &now_ms,
                &f.declaration,
            ],
        )?;
        Ok(())
    }

    fn open_in_scope(
        &mut self,
        scope: Option<&BTreeSet<String>>,
    ) -> StoreResult<Vec<(Uuid, String, String)>> {
        let rows = match scope {
            None => self.0.rows(
                "SELECT id, subject, rule FROM findings WHERE status = 'open' AND declaration IS NOT NULL",
                &[],
            )?,
            Some(numbers) => {
                let numbers: Vec<&String> = numbers.iter().collect();
                self.0.rows(
                    "SELECT id, subject, rule FROM findings WHERE declaration = ANY($1) AND status = 'open'",
                    &[&numbers],
                )?
            }
        };
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    fn resolve(&mut self, id: Uuid, now_ms: i64) -> StoreResult<u64> {
        Ok(self.0.exec(
            &format!("{RESOLVE_BY_RECORDS} WHERE id = $2 AND status = 'open'"),
            &[&now_ms, &id],
        )?)
    }
}

/// Adds to a feed's scope the declarations of other batches its news bears on: batches of the same customs
/// offices naming declarations the feed still lacks (the feed now covers a later day), and batches citing one of
/// its certificates.
fn widen(
    l: &PgLedger<'_>,
    declarations: &[Declaration],
    changed: &BTreeSet<String>,
    scope: &mut BTreeSet<String>,
) -> Result<()> {
    let offices: BTreeSet<&str> = changed.iter().filter_map(|n| n.get(..4)).collect();
    for office in offices {
        for r in l.rows(
            "SELECT DISTINCT b.declaration_no FROM batches b
             WHERE starts_with(b.declaration_no, $1)
               AND NOT EXISTS (SELECT 1 FROM customs_declarations d WHERE d.declaration_no = b.declaration_no)",
            &[&office],
        )? {
            scope.insert(r.get(0));
        }
    }
    let certs: Vec<&String> = declarations
        .iter()
        .filter(|d| changed.contains(d.declaration_no.as_str()))
        .flat_map(|d| d.certificate_nos.iter())
        .collect();
    if !certs.is_empty() {
        for r in l.rows(
            "SELECT DISTINCT declaration_no FROM batches
             WHERE declaration_no IS NOT NULL AND upper(trim(inspection_cert_no)) = ANY($1)",
            &[&certs],
        )? {
            scope.insert(r.get(0));
        }
    }
    Ok(())
}

fn stored(r: &Row) -> Result<StoredDeclaration> {
    Ok(StoredDeclaration {
        record: serde_json::from_str(r.get(0)).map_err(unreadable)?,
        province: r.get(1),
        submitted_by: r.get(2),
        received_at_ms: r.get(3),
    })
}

/// Stores one customs feed and cross-checks what it bears on, in one transaction under the submission lock.
fn put_blocking(
    mut writer: crate::Writer,
    province: ProvinceCode,
    by: String,
    declarations: Vec<Declaration>,
    checks: CheckPolicy,
    now_ms: i64,
) -> StoreResult<CustomsReceipt> {
    let rt = Handle::current();
    let tx = rt.block_on(crate::begin_locked(&mut writer.client))?;
    let l = PgLedger::open(&tx, rt.clone(), None);
    let mut receipt = CustomsReceipt::default();
    let mut scope = BTreeSet::new();
    let mut foreign = ValidationErrors::default();
    for (i, d) in declarations.iter().enumerate() {
        let no = d.declaration_no.as_str().to_string();
        let (fp, body) = encode(d)?;
        let prior: Option<(String, String)> = l
            .row(
                "SELECT fp, province FROM customs_declarations WHERE declaration_no = $1",
                &[&no],
            )?
            .map(|r| (r.get(0), r.get(1)));
        // A declaration belongs to the feed that sent it first: another province's customs cannot replace it
        // (nor learn whose it is).
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
        l.exec(
            "INSERT INTO customs_declarations (declaration_no, province, office, consignee_uscc, declared_on, fp,
                body, submitted_by, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (declaration_no) DO UPDATE SET province = EXCLUDED.province, office = EXCLUDED.office,
                consignee_uscc = EXCLUDED.consignee_uscc, declared_on = EXCLUDED.declared_on, fp = EXCLUDED.fp,
                body = EXCLUDED.body, submitted_by = EXCLUDED.submitted_by, received_at = EXCLUDED.received_at",
            &[
                &no,
                &province.as_str(),
                &d.declaration_no.customs_office(),
                &d.consignee_uscc.as_str(),
                &d.declared_on.to_string(),
                &fp,
                &body,
                &by,
                &now_ms,
            ],
        )?;
        l.exec(
            "DELETE FROM customs_certificates WHERE declaration_no = $1",
            &[&no],
        )?;
        for cert in &d.certificate_nos {
            l.exec(
                "INSERT INTO customs_certificates (certificate_no, declaration_no) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
                &[cert, &no],
            )?;
        }
        scope.insert(no);
    }
    if !foreign.is_empty() {
        // Dropping the transaction stores nothing of the feed.
        return Err(StoreError::Conflict(foreign));
    }
    if !scope.is_empty() {
        let changed = scope.clone();
        widen(&l, &declarations, &changed, &mut scope)?;
        let o = cross_check(&l, now_ms, &checks, Some(&scope), &HashSet::new())?;
        receipt.opened = o.report.opened;
        receipt.resolved = o.report.resolved;
    }
    drop(l);
    rt.block_on(tx.commit()).map_err(Error::from)?;
    Ok(receipt)
}

#[async_trait]
impl CustomsStore for PgStore {
    async fn put_declarations(
        &self,
        province: ProvinceCode,
        by: String,
        declarations: Vec<Declaration>,
        checks: CheckPolicy,
        now_ms: i64,
    ) -> StoreResult<CustomsReceipt> {
        let writer = self.writer().await?;
        tokio::task::spawn_blocking(move || {
            put_blocking(writer, province, by, declarations, checks, now_ms)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn declarations(
        &self,
        filter: DeclarationFilter,
        after: Option<String>,
        limit: u32,
    ) -> StoreResult<Vec<StoredDeclaration>> {
        let c = self.client().await?;
        Ok(c.query(
            "SELECT body, province, submitted_by, received_at FROM customs_declarations
             WHERE ($1::TEXT IS NULL OR province = $1) AND ($2::TEXT IS NULL OR consignee_uscc = $2)
               AND declaration_no COLLATE \"C\" > $3
             ORDER BY declaration_no COLLATE \"C\" LIMIT $4",
            &[
                &filter.province,
                &filter.consignee,
                &after.unwrap_or_default(),
                &i64::from(limit),
            ],
        )
        .await
        .map_err(Error::from)?
        .iter()
        .map(stored)
        .collect::<Result<_>>()?)
    }

    async fn declaration(&self, declaration_no: String) -> StoreResult<Option<StoredDeclaration>> {
        let c = self.client().await?;
        Ok(c.query_opt(
            "SELECT body, province, submitted_by, received_at FROM customs_declarations
             WHERE declaration_no = $1",
            &[&declaration_no],
        )
        .await
        .map_err(Error::from)?
        .map(|r| stored(&r))
        .transpose()?)
    }

    async fn cross_check_customs(
        &self,
        now_ms: i64,
        checks: CheckPolicy,
    ) -> StoreResult<SweepReport> {
        let mut writer = self.writer().await?;
        tokio::task::spawn_blocking(move || -> StoreResult<SweepReport> {
            let rt = Handle::current();
            let tx = rt.block_on(crate::begin_locked(&mut writer.client))?;
            let l = PgLedger::open(&tx, rt.clone(), None);
            let o = cross_check(&l, now_ms, &checks, None, &HashSet::new())?;
            drop(l);
            rt.block_on(tx.commit()).map_err(Error::from)?;
            Ok(o.report)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}
