//! The ownership rules inside the submission transaction: who has a stake in a stored record, whether a
//! correction names one the writer may correct, and whether a batch named by a movement is one the writer may use.

use coldtrace_domain::BatchRef;
use coldtrace_domain::ownership::{self, BatchReach, Stake};
use uuid::Uuid;

use super::{RecordKind, Tx};
use crate::Result;

impl Tx<'_> {
    /// The owner (and its province) of a stored record, for the correction rule; `None` when there is none.
    pub(super) fn stake(&mut self, kind: RecordKind, id: Uuid) -> Result<Option<Stake>> {
        let Some((owner, province)) = self.l.stake(kind, id)? else {
            return Ok(None);
        };
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
        kind: RecordKind,
        at: &str,
        corrects: Option<Uuid>,
    ) -> Result<()> {
        if let Some(c) = corrects {
            let allowed = match self.stake(kind, c)? {
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

    /// Whether the enterprise `to` was shipped the batch (a shipment, sale or return names its USCC), by
    /// `from` when given.
    pub(super) fn shipped(&mut self, batch: Uuid, to: Uuid, from: Option<Uuid>) -> Result<bool> {
        let Some(uscc) = self.l.enterprise_uscc(to)? else {
            return Ok(false);
        };
        self.l.shipped_to(batch, &uscc, from)
    }

    /// Whether the batch is owned by the enterprise.
    pub(super) fn owns(&mut self, batch: Uuid, e: Uuid) -> Result<bool> {
        Ok(self.l.batch_owner(batch)? == Some(e))
    }

    /// Whether the writer may record against a stored batch (see [`ownership::may_use_batch`]).
    pub(super) fn may_use(&mut self, batch: Uuid) -> Result<bool> {
        let Some(owner) = self.l.batch_owner(batch)? else {
            return Ok(false);
        };
        let coldtrace_domain::Writer::Enterprise(e) = self.writer else {
            return Ok(ownership::may_use_batch(
                &self.writer,
                &BatchReach::default(),
            ));
        };
        if owner == e {
            return Ok(true);
        }
        let held = self.granted.contains(&(batch, e)) || self.l.has_access(batch, e)?;
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
        let found = match r {
            BatchRef::Id(id) => Some(*id),
            BatchRef::BatchNo(no) => self.l.latest_numbered(owner, no)?,
            BatchRef::Code(c) => self.l.code_holder(&c.key)?.map(|(b, _)| b),
        };
        let usable = match found {
            Some(id) if self.may_use(id)? => Some(id),
            _ => None,
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
        self.l.grant(batch, enterprise, &p)
    }
}
