//! Movements (出入库 / 流向): every time goods are received, shipped, sold, transformed, destroyed, sealed or
//! returned. The trace follows them.

use uuid::Uuid;

use crate::batch::{BatchRef, parse_batch_ref};
use crate::error::{ValidationErrors, optional_text, path, required_text};
use crate::id::Uscc;
use crate::person::{Handler, HandlerDraft};
use crate::quantity::Quantity;
use crate::time::EventTime;

/// What happened to the goods.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// 入库: goods arrive at the holder from the counterparty.
    Receive,
    /// 出库: goods leave the holder for the counterparty.
    Ship,
    /// 销售: goods sold, to a business (counterparty) or to consumers.
    Sell,
    /// 加工: inputs consumed, outputs produced.
    Transform,
    /// 销毁
    Destroy,
    /// 封存: goods sealed in place; the quantity stays on hand but may not move.
    Seal,
    /// 退货: goods sent back to the counterparty.
    Return,
}

impl MovementKind {
    pub const ALL: [MovementKind; 7] = [
        Self::Receive,
        Self::Ship,
        Self::Sell,
        Self::Transform,
        Self::Destroy,
        Self::Seal,
        Self::Return,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Receive => "receive",
            Self::Ship => "ship",
            Self::Sell => "sell",
            Self::Transform => "transform",
            Self::Destroy => "destroy",
            Self::Seal => "seal",
            Self::Return => "return",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Receive => "入库",
            Self::Ship => "出库",
            Self::Sell => "销售",
            Self::Transform => "加工",
            Self::Destroy => "销毁",
            Self::Seal => "封存",
            Self::Return => "退货",
        }
    }
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.label_zh() == s)
            .or(match s {
                "进货" | "收货" | "采购" => Some(Self::Receive),
                "发货" | "调拨" => Some(Self::Ship),
                "零售" | "出售" => Some(Self::Sell),
                _ => None,
            })
            .ok_or_else(|| format!("{s:?} is not a movement kind (receive, ship, sell, transform, destroy, seal, return)"))
    }
    /// Whether the kind needs a named counterparty.
    pub fn needs_counterparty(self) -> bool {
        matches!(self, Self::Receive | Self::Ship | Self::Return)
    }
}

/// The other side of a movement. A counterparty need not be registered (that is a ledger-check finding).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct Counterparty {
    pub uscc: Option<Uscc>,
    pub name: String,
}

impl Counterparty {
    /// The counterparty's node in the trace ([`crate::party`]): by USCC when it has one, else by name.
    pub fn party_key(&self) -> uuid::Uuid {
        match &self.uscc {
            Some(u) => crate::party::by_uscc(u),
            None => crate::party::by_name(&self.name),
        }
    }
}

/// One input or output of a transformation.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct Line {
    pub batch: BatchRef,
    pub quantity: Quantity,
}

/// Movement (出入库记录): one event in a holder's ledger.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Movement {
    pub id: Uuid,
    pub kind: MovementKind,
    /// The enterprise whose ledger this is.
    pub holder: Uuid,
    /// The batch moved; `None` only for a transformation, which names its inputs and outputs.
    pub batch: Option<BatchRef>,
    pub quantity: Quantity,
    pub counterparty: Option<Counterparty>,
    pub at: EventTime,
    /// Storage location (存放位置): cold store, room, rack.
    pub location: Option<String>,
    pub handlers: Vec<Handler>,
    pub inputs: Vec<Line>,
    pub outputs: Vec<Line>,
    pub note: Option<String>,
    pub corrects: Option<Uuid>,
}

/// A transformation line as submitted.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineDraft {
    pub batch_id: Option<Uuid>,
    pub batch_no: Option<String>,
    pub trace_code: Option<String>,
    pub quantity: Option<Quantity>,
}

/// A movement as submitted.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MovementDraft {
    pub id: Option<Uuid>,
    pub kind: Option<String>,
    pub batch_id: Option<Uuid>,
    pub batch_no: Option<String>,
    /// Any trace code of the batch, as scanned.
    pub trace_code: Option<String>,
    pub quantity: Option<Quantity>,
    pub counterparty_uscc: Option<String>,
    pub counterparty_name: Option<String>,
    /// RFC 3339 with offset.
    pub at: Option<EventTime>,
    pub location: Option<String>,
    #[serde(default)]
    pub handlers: Vec<HandlerDraft>,
    #[serde(default)]
    pub inputs: Vec<LineDraft>,
    #[serde(default)]
    pub outputs: Vec<LineDraft>,
    pub note: Option<String>,
    pub corrects: Option<Uuid>,
}

fn positive(at: &str, q: Option<Quantity>, e: &mut ValidationErrors) -> Option<Quantity> {
    match q {
        None => {
            e.push(path(at, "quantity"), "is required");
            None
        }
        Some(q) if q.is_zero() => {
            e.push(path(at, "quantity"), "must be greater than zero");
            None
        }
        Some(q) => Some(q),
    }
}

impl MovementDraft {
    pub fn parse(&self, at: &str, holder: Uuid) -> Result<Movement, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let f = |n: &str| path(at, n);
        let kind = e.take(
            &f("kind"),
            required_text(&self.kind, 16).and_then(|k| MovementKind::parse(&k)),
        );
        let time = match self.at {
            Some(t) => Some(t),
            None => {
                e.push(f("at"), "is required");
                None
            }
        };
        let location = e.take(&f("location"), optional_text(&self.location, 200));
        let note = e.take(&f("note"), optional_text(&self.note, 1000));
        let cp_name = e.take(
            &f("counterparty_name"),
            optional_text(&self.counterparty_name, 200),
        );
        let cp_uscc = e.take(
            &f("counterparty_uscc"),
            optional_text(&self.counterparty_uscc, 18).and_then(|u| {
                u.map(|u| Uscc::parse(&u).map_err(|x| x.to_string()))
                    .transpose()
            }),
        );
        let counterparty = match (cp_name.flatten(), cp_uscc.flatten()) {
            (Some(name), uscc) => Some(Counterparty { uscc, name }),
            (None, Some(u)) => Some(Counterparty {
                name: u.to_string(),
                uscc: Some(u),
            }),
            (None, None) => None,
        };
        if let Some(k) = kind
            && k.needs_counterparty()
            && counterparty.is_none()
            && !e.0.iter().any(|x| x.field.starts_with(&f("counterparty")))
        {
            e.push(
                f("counterparty_name"),
                format!("is required for {}", k.as_str()),
            );
        }
        let mut handlers = Vec::new();
        for (i, h) in self.handlers.iter().enumerate() {
            if let Some(h) = h.parse(&format!("{}[{i}]", f("handlers")), &mut e) {
                handlers.push(h);
            }
        }
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        let (batch, quantity) = if kind == Some(MovementKind::Transform) {
            if self.batch_id.is_some() || self.batch_no.is_some() || self.trace_code.is_some() {
                e.push(
                    f("batch_id"),
                    "a transformation names its batches in inputs and outputs",
                );
            }
            for (list, name, out) in [
                (&self.inputs, "inputs", &mut inputs),
                (&self.outputs, "outputs", &mut outputs),
            ] {
                if list.is_empty() {
                    e.push(f(name), "a transformation needs at least one");
                }
                for (i, l) in list.iter().enumerate() {
                    let la = format!("{}[{i}]", f(name));
                    let b = parse_batch_ref(&la, l.batch_id, &l.batch_no, &l.trace_code, &mut e);
                    let q = positive(&la, l.quantity, &mut e);
                    if let (Some(batch), Some(quantity)) = (b, q) {
                        out.push(Line { batch, quantity });
                    }
                }
            }
            (None, Some(self.quantity.unwrap_or(Quantity::ZERO)))
        } else {
            if !self.inputs.is_empty() || !self.outputs.is_empty() {
                e.push(f("inputs"), "only a transformation has inputs and outputs");
            }
            let b = parse_batch_ref(at, self.batch_id, &self.batch_no, &self.trace_code, &mut e);
            (b, positive(at, self.quantity, &mut e))
        };
        if !e.is_empty() {
            return Err(e);
        }
        Ok(Movement {
            id: self.id.unwrap_or_else(Uuid::now_v7),
            kind: kind.expect("checked"),
            holder,
            batch,
            quantity: quantity.expect("checked"),
            counterparty,
            at: time.expect("checked"),
            location: location.flatten(),
            handlers,
            inputs,
            outputs,
            note: note.flatten(),
            corrects: self.corrects,
        })
    }
}
