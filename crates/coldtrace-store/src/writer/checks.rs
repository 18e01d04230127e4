//! The ledger checks inside the submission transaction ([`coldtrace_domain::checks`]): each movement stored is
//! checked for its time, and each lot it touched for stock conservation and time order once the whole
//! submission is in. A rule under *reject* refuses the submission naming the field; under *flag* it opens a
//! finding (or updates the open one about the same thing), and a lot or movement found right again resolves its
//! finding.

use coldtrace_domain::checks::{self, Policy, Rule, Violation};
use coldtrace_domain::{Movement, MovementKind};
use uuid::Uuid;

use super::Tx;
use crate::Result;

/// An imported batch's papers as the checks see them.
#[derive(Debug, Clone)]
pub(super) struct Papers {
    /// What it lacks (四不得), in the notice's words; empty when it has them all.
    pub missing: Vec<&'static str>,
    /// The day of its latest nucleic-acid report (00:00 UTC+8, milliseconds).
    pub nucleic_acid_on: Option<i64>,
}

/// Where a transformation's line is: its list (`inputs`, `outputs`) and its place there.
type LinePlace = (&'static str, usize);

impl Tx<'_> {
    /// Records a broken rule under the province's policy.
    fn violation(
        &mut self,
        v: Violation,
        enterprise: Uuid,
        batch: Option<Uuid>,
        movement: Option<Uuid>,
    ) -> Result<()> {
        let policy = self.checks.of(v.rule);
        self.violation_as(v, enterprise, batch, movement, policy)
    }

    /// Records a broken rule under the given policy.
    fn violation_as(
        &mut self,
        v: Violation,
        enterprise: Uuid,
        batch: Option<Uuid>,
        movement: Option<Uuid>,
        policy: Policy,
    ) -> Result<()> {
        match policy {
            Policy::Off => Ok(()),
            Policy::Reject => {
                let msg = v.refusal();
                self.problems.invalid.push(v.field, msg);
                Ok(())
            }
            Policy::Flag => {
                let province = self.province_of(enterprise)?;
                self.l.flag(
                    &v,
                    enterprise,
                    province.as_deref(),
                    batch,
                    movement,
                    self.now,
                )
            }
        }
    }

    /// Closes the open finding about `subject`: later records put it right.
    fn resolve_finding(&mut self, subject: &str) -> Result<()> {
        self.l.resolve(subject, self.now)
    }

    /// The checks of one movement just stored; the lots it touched are checked at the end of the submission.
    pub(super) fn check_movement(
        &mut self,
        i: usize,
        m: &Movement,
        batch: Option<Uuid>,
        sender: Option<Uuid>,
    ) -> Result<()> {
        // Field names are written only for a rule broken: most movements break none.
        let at = || format!("movements[{i}]");
        if let Some(c) = m.corrects {
            // The corrected record's findings about itself are answered by the correction.
            self.resolve_finding(&format!("time:{c}"))?;
            self.resolve_finding(&format!("qty:{c}"))?;
        }
        // A counterparty of the holder's own province, named by USCC, should be registered here.
        if let Some(uscc) = m.counterparty.as_ref().and_then(|c| c.uscc.as_ref())
            && sender.is_none()
        {
            let own = self.province_of(m.holder)?;
            let theirs = coldtrace_domain::docking::province_of_uscc(uscc.as_str());
            if own.is_some() && own.as_deref() == theirs {
                self.violation(
                    Violation {
                        rule: Rule::UnregisteredCounterparty,
                        field: format!("{}.counterparty_uscc", at()),
                        message: format!(
                            "{} ({}) is of this province but not registered on its platform",
                            m.counterparty
                                .as_ref()
                                .map(|c| c.name.as_str())
                                .unwrap_or(""),
                            uscc.as_str()
                        ),
                        subject: format!("party:{}:{}", uscc.as_str(), m.holder),
                    },
                    m.holder,
                    batch,
                    Some(m.id),
                )?;
            }
        }
        // One movement of more than the whole batch.
        // Each quantity with the line it is on (none: the movement's own).
        let mut lines: Vec<(Option<LinePlace>, Uuid, i64)> = batch
            .map(|b| (None, b, m.quantity.milli()))
            .into_iter()
            .collect();
        for (name, ls) in [("inputs", &m.inputs), ("outputs", &m.outputs)] {
            for (j, l) in ls.iter().enumerate() {
                if let coldtrace_domain::BatchRef::Id(b) = l.batch {
                    lines.push((Some((name, j)), b, l.quantity.milli()));
                }
            }
        }
        for (line, b, q) in lines {
            let declared = self.batch_quantity(b)?;
            if let Some(message) = declared.and_then(|d| checks::batch_quantity(q, d)) {
                self.violation(
                    Violation {
                        rule: Rule::BatchQuantity,
                        field: match line {
                            None => format!("{}.quantity", at()),
                            Some((name, j)) => format!("{}.{name}[{j}].quantity", at()),
                        },
                        message,
                        subject: format!("qty:{}", m.id),
                    },
                    m.holder,
                    Some(b),
                    Some(m.id),
                )?;
            }
        }
        if let Some(message) = checks::future(m.at.millis(), self.now) {
            self.violation(
                Violation {
                    rule: Rule::FutureTime,
                    field: format!("{}.at", at()),
                    message,
                    subject: format!("future:{}", m.id),
                },
                m.holder,
                batch,
                Some(m.id),
            )?;
        }
        // A receipt from a registered sender is not recorded before the sender's shipment, and answers the
        // sender's shipments found in transit.
        if m.kind == MovementKind::Receive
            && let (Some(b), Some(sender)) = (batch, sender)
        {
            self.l.resolve_in_transit(b, sender, m.holder, self.now)?;
            let shipped = self.l.first_shipment(b, sender, m.holder)?;
            if let Some(message) =
                shipped.and_then(|s| checks::receipt_before_shipment(m.at.millis(), s))
            {
                self.violation(
                    Violation {
                        rule: Rule::TimeOrder,
                        field: format!("{}.at", at()),
                        message,
                        subject: format!("time:{}", m.id),
                    },
                    m.holder,
                    batch,
                    Some(m.id),
                )?;
            }
        }
        // 四不得: imported goods are not sold, processed or moved on without their papers.
        // Each batch moved on with the input it is (none: the movement's own batch).
        let moved_on: Vec<(Option<usize>, Uuid)> = match (m.kind, batch) {
            (MovementKind::Ship | MovementKind::Sell, Some(b)) => vec![(None, b)],
            (MovementKind::Transform, _) => m
                .inputs
                .iter()
                .enumerate()
                .filter_map(|(j, l)| match l.batch {
                    coldtrace_domain::BatchRef::Id(b) => Some((Some(j), b)),
                    _ => None,
                })
                .collect(),
            _ => vec![],
        };
        for (input, b) in moved_on {
            let field = || match input {
                None => format!("{}.batch_id", at()),
                Some(j) => format!("{}.inputs[{j}].batch_id", at()),
            };
            let Some(papers) = self.papers(b)? else {
                continue;
            };
            if !papers.missing.is_empty() {
                self.violation(
                    Violation {
                        rule: Rule::FourNots,
                        field: field(),
                        message: format!(
                            "imported goods moved on without: {}",
                            papers.missing.join(", ")
                        ),
                        subject: format!("fournots:{b}:{}", m.holder),
                    },
                    m.holder,
                    Some(b),
                    Some(m.id),
                )?;
            }
            let max_age = self.checks.windows.nucleic_acid_ms();
            if let Some(message) = papers
                .nucleic_acid_on
                .and_then(|on| checks::stale_nucleic_acid(on, m.at.millis(), max_age))
            {
                self.violation(
                    Violation {
                        rule: Rule::StaleNucleicAcid,
                        field: field(),
                        message,
                        subject: format!("nat:{b}:{}", m.holder),
                    },
                    m.holder,
                    Some(b),
                    Some(m.id),
                )?;
            }
        }
        let mut lots: Vec<Uuid> = batch.into_iter().collect();
        for l in m.inputs.iter().chain(&m.outputs) {
            if let coldtrace_domain::BatchRef::Id(b) = l.batch {
                lots.push(b);
            }
        }
        let outflow = matches!(
            m.kind,
            MovementKind::Ship | MovementKind::Sell | MovementKind::Return | MovementKind::Destroy
        ) || m.kind == MovementKind::Transform;
        for b in &lots {
            let key = (*b, m.holder);
            if !self.lots_touched.contains_key(&key) {
                // The lot's balance before this submission, to tell a write that makes it worse.
                let before = self.l.lot_stock(*b, m.holder)?.0.balance();
                self.lots_touched.insert(key, (i, m.id, before));
            } else if outflow && let Some(t) = self.lots_touched.get_mut(&key) {
                // The movement named is the last one that took goods out of the lot.
                (t.0, t.1) = (i, m.id);
            }
        }
        if let Some(c) = m.corrects {
            // A correction takes something away: the lots of both records are counted again from the records.
            let mut affected: Vec<(Uuid, Uuid)> = lots.iter().map(|b| (*b, m.holder)).collect();
            if let (Some(b), Some(cp)) = (batch, sender) {
                affected.push((b, cp));
            }
            affected.extend(self.l.lots_of_movement(c)?);
            for (b, h) in affected {
                self.l.recount_lot(b, h)?;
            }
        } else {
            self.add_to_lots(m, batch, sender)?;
        }
        Ok(())
    }

    /// A batch's declared quantity (thousandths), read once per submission.
    fn batch_quantity(&mut self, batch: Uuid) -> Result<Option<i64>> {
        if let Some(q) = self.batch_quantities.get(&batch) {
            return Ok(*q);
        }
        let q = self.l.batch_record(batch)?.map(|b| b.quantity.milli());
        self.batch_quantities.insert(batch, q);
        Ok(q)
    }

    /// An imported batch's papers (四不得, the latest nucleic-acid report); `None` for domestic goods.
    fn papers(&mut self, batch: Uuid) -> Result<Option<Papers>> {
        // A submission moves the same batch many times (a day's sales): ask the store once per batch.
        if let Some(m) = self.papers.get(&batch) {
            return Ok(m.clone());
        }
        let m = self.papers_stored(batch)?;
        self.papers.insert(batch, m.clone());
        Ok(m)
    }

    fn papers_stored(&mut self, batch: Uuid) -> Result<Option<Papers>> {
        let imported = match self.l.import_marks(batch)? {
            Some((declaration, origin)) => {
                declaration.is_some() || origin.is_some_and(|o| !o.eq_ignore_ascii_case("CN"))
            }
            None => false,
        };
        if !imported {
            return Ok(None);
        }
        let kinds: Vec<coldtrace_domain::DocumentKind> = self
            .l
            .document_kinds(batch)?
            .iter()
            .filter_map(|k| coldtrace_domain::DocumentKind::parse(k).ok())
            .collect();
        let has_code = self.l.has_trace_code(batch)?;
        // The latest current report: a corrected one no longer counts.
        let latest = self.l.latest_nucleic_acid(batch)?;
        let nucleic_acid_on = latest.and_then(|d| {
            d.parse::<jiff::civil::Date>()
                .ok()?
                .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
                .ok()
                .map(|z| z.timestamp().as_millisecond())
        });
        Ok(Some(Papers {
            missing: checks::four_nots_missing(&kinds, has_code),
            nucleic_acid_on,
        }))
    }

    /// An enterprise was registered: the findings that it was not are answered.
    pub(super) fn registered(&mut self, uscc: &str) -> Result<()> {
        self.l.resolve_unregistered(uscc, self.now)
    }

    /// A document was stored for a batch: its open 四不得 findings are looked at again at the end.
    pub(super) fn papers_added(&mut self, batch: Uuid) {
        self.papers.remove(&batch);
        self.papers_changed.insert(batch);
    }

    /// Stock conservation and time order of every lot the submission touched.
    pub(super) fn check_lots(&mut self) -> Result<()> {
        for b in std::mem::take(&mut self.papers_changed) {
            let papers = self.papers(b)?;
            // A newer nucleic-acid report answers the stale-report findings of moves it covers.
            if let Some(on) = papers.as_ref().and_then(|p| p.nucleic_acid_on) {
                let max_age = self.checks.windows.nucleic_acid_ms();
                // Against the holder's latest move of the batch, whatever order the moves were recorded in.
                let open = self.l.stale_nucleic_acid_findings(b)?;
                for (subject, at) in open {
                    if checks::stale_nucleic_acid(on, at, max_age).is_none() {
                        self.resolve_finding(&subject)?;
                    }
                }
            }
            if papers.is_some_and(|p| p.missing.is_empty()) {
                let subjects = self.l.open_subjects(Rule::FourNots.as_str(), b)?;
                for s in subjects {
                    self.resolve_finding(&s)?;
                }
            }
        }
        let lots = std::mem::take(&mut self.lots_touched);
        let keys: Vec<(Uuid, Uuid)> = lots.keys().copied().collect();
        // A lot that moved since its dormant finding was opened is no longer dormant (a backdated record or a
        // correction that leaves the last movement where it was changes nothing; the sweep sees seals). The
        // finding's subject ends with the last movement it was opened for.
        self.l.resolve_dormant(&keys, self.now)?;
        self.l.prefetch_lots(&keys)?;
        for ((batch, holder), (i, mv, before)) in lots {
            let (stock, first_in, first_out) = self.l.lot_stock(batch, holder)?;
            let subject = format!("stock:{batch}:{holder}");
            match checks::stock(&stock) {
                Some(message) => {
                    // A write that leaves a short lot less short (a late receipt) is never refused: the finding
                    // stays open until the lot balances.
                    let policy = match self.checks.of(Rule::StockConservation) {
                        Policy::Reject if stock.balance() >= before => Policy::Flag,
                        p => p,
                    };
                    self.violation_as(
                        Violation {
                            rule: Rule::StockConservation,
                            field: format!("movements[{i}].quantity"),
                            message,
                            subject,
                        },
                        holder,
                        Some(batch),
                        Some(mv),
                        policy,
                    )?
                }
                None => self.resolve_finding(&subject)?,
            }
            let subject = format!("time:lot:{batch}:{holder}");
            match first_in
                .zip(first_out)
                .and_then(|(fin, fout)| checks::sent_before_arrival(fout, fin))
            {
                Some(message) => self.violation(
                    Violation {
                        rule: Rule::TimeOrder,
                        field: format!("movements[{i}].at"),
                        message,
                        subject,
                    },
                    holder,
                    Some(batch),
                    Some(mv),
                )?,
                None => self.resolve_finding(&subject)?,
            }
        }
        Ok(())
    }
}
