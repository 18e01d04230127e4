//! The ownership rules inside the submission transaction: who has a stake in a stored record, whether a
//! correction names one the writer may correct, and whether a batch named by a movement is one the writer may use.

use coldtrace_domain::BatchRef;
use coldtrace_domain::ownership::{self, BatchReach, Stake};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::Tx;
use crate::{Result, StoreError, parse_uuid};

impl Tx<'_> {
    /// The owner (and its province) of a stored record, for the correction rule; `None` when there is none.
    pub(super) fn stake(&mut self, table: &str, id: Uuid) -> Result<Option<Stake>> {
        let sql = match table {
            "enterprises" => "SELECT id, province FROM enterprises WHERE id = ?1",
            "products" => "SELECT owner, owner_province FROM products WHERE id = ?1",
            "batches" => "SELECT owner, NULL FROM batches WHERE id = ?1",
            "documents" => "SELECT owner, NULL FROM documents WHERE id = ?1",
            "movements" => {
                "SELECT (SELECT id FROM ids WHERE n = holder), holder_province FROM movements
                 WHERE id = unhex(replace(?1, '-', ''))"
            }
            _ => return Err(StoreError::Task(format!("no ownership for {table}")).into()),
        };
        let row: Option<(String, Option<String>)> = self
            .tx
            .prepare_cached(sql)?
            .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((owner, province)) = row else {
            return Ok(None);
        };
        let owner = parse_uuid(&owner)?;
        let province = match province {
            Some(p) if !p.is_empty() => Some(p),
            _ => self.province_of(owner)?,
        };
        Ok(Some(Stake { owner, province }))
    }

    /// A correction must name a stored record the writer may correct; an unknown record and another tenant's
    /// get the same answer.
    pub(super) fn check_corrects(
        &mut self,
        table: &str,
        at: &str,
        corrects: Option<Uuid>,
    ) -> Result<()> {
        if let Some(c) = corrects {
            let allowed = match self.stake(table, c)? {
                Some(st) => ownership::may_correct(&self.writer, &st),
                None => false,
            };
            if !allowed {
                self.problems.invalid.push(
                    format!("{at}.corrects"),
                    format!("no record {c} of yours to correct"),
                );
            }
        }
        Ok(())
    }

    /// The USCC of a registered enterprise.
    pub(super) fn uscc_of(&mut self, e: Uuid) -> Result<Option<String>> {
        Ok(self
            .tx
            .prepare_cached("SELECT uscc FROM enterprises WHERE id = ?1 ORDER BY seq DESC LIMIT 1")?
            .query_row([e.to_string()], |r| r.get(0))
            .optional()?)
    }

    /// Whether the enterprise `to` was shipped the batch (a shipment, sale or return names its USCC), by
    /// `from` when given.
    pub(super) fn shipped(&mut self, batch: Uuid, to: Uuid, from: Option<Uuid>) -> Result<bool> {
        let Some(uscc) = self.uscc_of(to)? else {
            return Ok(false);
        };
        let from = from.map(|f| f.to_string());
        Ok(self
            .tx
            .prepare_cached(
                "SELECT 1 FROM movements WHERE batch = (SELECT n FROM ids WHERE id = ?1)
                   AND counterparty IN (SELECT n FROM counterparties WHERE uscc = ?2)
                   AND kind IN ('ship', 'sell', 'return')
                   AND (?3 IS NULL OR holder = (SELECT n FROM ids WHERE id = ?3)) LIMIT 1",
            )?
            .query_row(params![batch.to_string(), uscc, from], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Whether the batch is owned by the enterprise.
    pub(super) fn owns(&mut self, batch: Uuid, e: Uuid) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached("SELECT 1 FROM batches WHERE id = ?1 AND owner = ?2")?
            .query_row([batch.to_string(), e.to_string()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Whether the writer may record against a stored batch (see [`ownership::may_use_batch`]).
    pub(super) fn may_use(&mut self, batch: Uuid) -> Result<bool> {
        let owner: Option<String> = self
            .tx
            .prepare_cached("SELECT owner FROM batches WHERE id = ?1")?
            .query_row([batch.to_string()], |r| r.get(0))
            .optional()?;
        let Some(owner) = owner else {
            return Ok(false);
        };
        let coldtrace_domain::Writer::Enterprise(e) = self.writer else {
            return Ok(ownership::may_use_batch(
                &self.writer,
                &BatchReach::default(),
            ));
        };
        let owner = parse_uuid(&owner)?;
        if owner == e {
            return Ok(true);
        }
        let held = self.granted.contains(&(batch, e))
            || self
                .tx
                .prepare_cached(
                    "SELECT 1 FROM batch_access WHERE batch = (SELECT n FROM ids WHERE id = ?1)
                       AND enterprise = (SELECT n FROM ids WHERE id = ?2)",
                )?
                .query_row([batch.to_string(), e.to_string()], |_| Ok(()))
                .optional()?
                .is_some();
        let shipped_to = !held && self.shipped(batch, e, None)?;
        Ok(ownership::may_use_batch(
            &self.writer,
            &BatchReach {
                owner,
                held,
                shipped_to,
            },
        ))
    }

    /// The batch a record names, if the writer may use it. An unknown batch and one the writer may not use get
    /// the same answer.
    pub(super) fn resolve(&mut self, owner: Uuid, r: &BatchRef, at: &str) -> Result<Option<Uuid>> {
        if let Some(id) = self.resolved.get(&(owner, r.clone())) {
            return Ok(Some(*id));
        }
        let found: Option<String> = match r {
            BatchRef::Id(id) => Some(id.to_string()),
            BatchRef::BatchNo(no) => self
                .tx
                .prepare_cached("SELECT id FROM batches WHERE owner = ?1 AND batch_no = ?2 ORDER BY seq DESC LIMIT 1")?
                .query_row(params![owner.to_string(), no], |r| r.get(0))
                .optional()?,
            BatchRef::Code(c) => self
                .tx
                .prepare_cached("SELECT batch_id FROM trace_codes WHERE key = ?1")?
                .query_row([&c.key], |r| r.get(0))
                .optional()?,
        };
        let usable = match found {
            Some(s) => {
                let id = parse_uuid(&s)?;
                if self.may_use(id)? { Some(id) } else { None }
            }
            None => None,
        };
        match usable {
            Some(id) => {
                self.resolved.insert((owner, r.clone()), id);
                Ok(Some(id))
            }
            None => {
                let (field, what) = match r {
                    BatchRef::Id(id) => (
                        "batch_id",
                        format!("no batch {id} that you own, hold or were shipped"),
                    ),
                    BatchRef::BatchNo(no) => {
                        ("batch_no", format!("you have no batch numbered {no:?}"))
                    }
                    BatchRef::Code(c) => (
                        "trace_code",
                        format!(
                            "no batch that you own, hold or were shipped carries the code {:?}",
                            c.value
                        ),
                    ),
                };
                self.problems.invalid.push(format!("{at}.{field}"), what);
                Ok(None)
            }
        }
    }

    pub(super) fn grant(&mut self, batch: Uuid, enterprise: Uuid) -> Result<()> {
        if !self.granted.insert((batch, enterprise)) {
            return Ok(());
        }
        let Some(p) = self.province_of(enterprise)? else {
            return Ok(());
        };
        let batch = crate::movements::n_for(self.tx, &mut self.ns, batch)?;
        let enterprise = crate::movements::n_for(self.tx, &mut self.ns, enterprise)?;
        self.tx
            .prepare_cached(
                "INSERT OR IGNORE INTO batch_access (batch, enterprise, province) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![batch, enterprise, p])?;
        Ok(())
    }
}
