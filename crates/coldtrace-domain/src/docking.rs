//! The docking protocol (对接协议), version 1: what a provincial platform sends the national command platform and
//! what comes back. `docs/docking.md` is the specification; these types are its wire shape.
//!
//! Only the key information the national role needs crosses (minimum necessary): enterprises in short form (no
//! contacts, no people), batches with their native codes and the keys that survive a border, processing lineage,
//! flows that cross a province border, incidents, and receipts and acknowledgements of notices.

use uuid::Uuid;

/// The protocol version this build speaks.
pub const VERSION: &str = "1";

/// Messages in one upload, at most.
pub const MAX_MESSAGES: usize = 500;
/// Characters in a name, product, batch number or other text field of a message, at most.
pub const MAX_TEXT: usize = 200;
/// Items in a list of a message (codes, batches, holders), at most.
pub const MAX_ITEMS: usize = 1_000;

/// A province's upload: messages in its sequence order (`POST /docking/v1/messages`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    /// Protocol version, `"1"`.
    pub version: String,
    /// The sending province (GB/T 2260 two digits); must match the client credentials.
    pub province: String,
    pub messages: Vec<Envelope>,
}

/// One message with its identity and place in the province's sequence.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Envelope {
    /// Message id: a resubmitted message with the same id takes effect once.
    pub id: Uuid,
    /// Per-province sequence, from 1, without gaps.
    pub seq: u64,
    /// When the province recorded it (Unix milliseconds).
    pub recorded_at_ms: i64,
    #[serde(flatten)]
    pub body: Message,
}

/// What a message says.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    Enterprise(EnterpriseShort),
    Batch(BatchFacts),
    Derivation(Derivation),
    /// Goods leaving the province (the seller's record).
    Outflow(BorderFlow),
    /// Goods entering the province (the buyer's record).
    Inflow(BorderFlow),
    Incident(IncidentReport),
    /// A notice reached the provincial platform and is stored there.
    NoticeReceived {
        notice: Uuid,
    },
    NoticeAck(NoticeAck),
}

/// A field of a message that the domain's rules refuse: its path inside the message and the reason.
pub type MessageProblem = (String, String);

struct Check(Vec<MessageProblem>);

impl Check {
    fn text(&mut self, field: &str, v: &str) {
        if v.chars().count() > MAX_TEXT {
            self.0.push((
                field.into(),
                format!("is longer than {MAX_TEXT} characters"),
            ));
        }
    }
    fn opt_text(&mut self, field: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.text(field, v);
        }
    }
    /// A list of texts: its length and each item.
    fn texts(&mut self, field: &str, v: &[String]) {
        self.items(field, v.len());
        for (i, t) in v.iter().enumerate() {
            self.text(&format!("{field}[{i}]"), t);
        }
    }
    fn uscc(&mut self, field: &str, v: Option<&str>) {
        if let Some(u) = v
            && let Err(e) = crate::Uscc::parse_overridden(u)
        {
            self.0.push((field.into(), e.to_string()));
        }
    }
    fn quantity(&mut self, field: &str, q: i64) {
        if q < 0 {
            self.0.push((field.into(), "must not be negative".into()));
        }
    }
    fn items(&mut self, field: &str, n: usize) {
        if n > MAX_ITEMS {
            self.0
                .push((field.into(), format!("has more than {MAX_ITEMS} items")));
        }
    }
    fn flow(&mut self, f: &BorderFlow) {
        for (name, v) in [
            ("movement", &f.movement),
            ("batch", &f.batch),
            ("product", &f.product),
            ("seller_name", &f.seller_name),
            ("buyer_name", &f.buyer_name),
            ("unit", &f.unit),
        ] {
            self.text(name, v);
        }
        self.opt_text("other_province", f.other_province.as_deref());
        self.uscc("seller_uscc", f.seller_uscc.as_deref());
        self.uscc("buyer_uscc", f.buyer_uscc.as_deref());
        self.quantity("quantity_milli", f.quantity_milli);
    }
}

impl Message {
    /// Checks a received message with the domain's parsers: USCCs well formed, quantities not negative, text
    /// and lists within bounds. Answers every problem with its field inside the message.
    pub fn check(&self) -> Vec<MessageProblem> {
        let mut c = Check(Vec::new());
        match self {
            Message::Enterprise(e) => {
                c.uscc("uscc", Some(&e.uscc));
                c.text("name", &e.name);
                c.text("kind", &e.kind);
                // Empty when a foreign system does not say; the province then comes from the USCC.
                if !e.region.is_empty() && crate::RegionCode::parse(&e.region).is_err() {
                    c.0.push(("region".into(), "is not a GB/T 2260 region code".into()));
                }
            }
            Message::Batch(b) => {
                // A foreign system may not know the owner of a batch (its inflow names it); empty is "unknown".
                c.uscc(
                    "owner_uscc",
                    Some(b.owner_uscc.as_str()).filter(|u| !u.is_empty()),
                );
                for (name, v) in [
                    ("batch", &b.batch),
                    ("product", &b.product),
                    ("batch_no", &b.batch_no),
                    ("unit", &b.unit),
                ] {
                    c.text(name, v);
                }
                for (name, v) in [
                    ("gtin", &b.gtin),
                    ("origin_country", &b.origin_country),
                    ("inspection_cert_no", &b.inspection_cert_no),
                    ("declaration_no", &b.declaration_no),
                    ("port_of_entry", &b.port_of_entry),
                    ("import_date", &b.import_date),
                ] {
                    c.opt_text(name, v.as_deref());
                }
                c.items("codes", b.codes.len());
                for (i, code) in b.codes.iter().enumerate() {
                    c.text(&format!("codes[{i}].scheme"), &code.scheme);
                    if code.value.chars().count() > 512 {
                        c.0.push((
                            format!("codes[{i}].value"),
                            "is longer than 512 characters".into(),
                        ));
                    }
                }
                c.quantity("quantity_milli", b.quantity_milli);
            }
            Message::Derivation(d) => {
                c.uscc("holder_uscc", Some(&d.holder_uscc));
                c.texts("inputs", &d.inputs);
                c.texts("outputs", &d.outputs);
            }
            Message::Outflow(f) | Message::Inflow(f) => c.flow(f),
            Message::Incident(i) => {
                c.text("kind", &i.kind);
                c.text("subject", &i.subject);
                c.text("positive_at", &i.positive_at);
                c.texts("batches", &i.batches);
            }
            Message::NoticeReceived { .. } => {}
            Message::NoticeAck(a) => {
                c.text("by", &a.by);
                if a.note.as_deref().is_some_and(|n| n.chars().count() > 2_000) {
                    c.0.push(("note".into(), "is longer than 2000 characters".into()));
                }
                c.items("holders", a.holders.len());
                for (i, h) in a.holders.iter().enumerate() {
                    c.uscc(&format!("holders[{i}].uscc"), h.uscc.as_deref());
                    for (name, v) in [
                        ("name", &h.name),
                        ("batch_no", &h.batch_no),
                        ("product", &h.product),
                        ("unit", &h.unit),
                    ] {
                        c.text(&format!("holders[{i}].{name}"), v);
                    }
                    c.opt_text(&format!("holders[{i}].region"), h.region.as_deref());
                    c.quantity(&format!("holders[{i}].on_hand_milli"), h.on_hand_milli);
                }
            }
        }
        c.0
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Enterprise(_) => "enterprise",
            Self::Batch(_) => "batch",
            Self::Derivation(_) => "derivation",
            Self::Outflow(_) => "outflow",
            Self::Inflow(_) => "inflow",
            Self::Incident(_) => "incident",
            Self::NoticeReceived { .. } => "notice_received",
            Self::NoticeAck(_) => "notice_ack",
        }
    }
}

/// An enterprise in short form: no address, no contact, no people.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct EnterpriseShort {
    pub uscc: String,
    pub name: String,
    pub kind: String,
    /// GB/T 2260 six digits.
    pub region: String,
}

/// A code as the province prints it.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct NativeCode {
    /// `url`, `issued`, `gs1`, `uscc`, `customs`, `enterprise`.
    pub scheme: String,
    pub value: String,
}

/// A batch with its native codes and the keys that survive a border.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct BatchFacts {
    /// The province's own id for the batch (opaque to the national platform).
    pub batch: String,
    pub codes: Vec<NativeCode>,
    /// Food name.
    pub product: String,
    pub gtin: Option<String>,
    pub batch_no: String,
    /// USCC of the enterprise that registered the batch.
    pub owner_uscc: String,
    pub origin_country: Option<String>,
    /// Inspection and quarantine certificate number (检验检疫证明编号).
    pub inspection_cert_no: Option<String>,
    /// Customs declaration number (报关单号).
    pub declaration_no: Option<String>,
    pub port_of_entry: Option<String>,
    pub import_date: Option<String>,
    pub quantity_milli: i64,
    pub unit: String,
}

/// Processing lineage: input batches consumed, output batches made (加工).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Derivation {
    pub holder_uscc: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub at_ms: i64,
}

/// A flow across a province border, as one side recorded it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct BorderFlow {
    /// The province's own id for the movement.
    pub movement: String,
    /// The province's own id for the batch moved.
    pub batch: String,
    pub product: String,
    pub seller_uscc: Option<String>,
    pub seller_name: String,
    pub buyer_uscc: Option<String>,
    pub buyer_name: String,
    /// The province on the other side (GB/T 2260 two digits), when known.
    pub other_province: Option<String>,
    pub quantity_milli: i64,
    pub unit: String,
    pub at_ms: i64,
}

/// A positive test registered in the province.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct IncidentReport {
    pub incident: Uuid,
    /// `batch_sample`, `person`, `environment`.
    pub kind: String,
    pub subject: String,
    pub positive_at: String,
    /// The province's ids of the batches implicated directly.
    pub batches: Vec<String>,
}

/// A regulator's acknowledgement of a notice, with what the province found.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct NoticeAck {
    pub notice: Uuid,
    /// Who acknowledged (an account, not a person's data).
    pub by: String,
    pub note: Option<String>,
    /// Holders in the province with the notified goods on hand: enterprises only (position, 定位).
    pub holders: Vec<HolderShort>,
}

/// A holder located by a province in answer to a notice.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct HolderShort {
    pub uscc: Option<String>,
    pub name: String,
    pub region: Option<String>,
    pub batch_no: String,
    pub product: String,
    pub on_hand_milli: i64,
    pub unit: String,
}

/// What the national platform answers an upload.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct UploadReceipt {
    /// Messages that took effect now.
    pub accepted: u32,
    /// Messages already received before (no effect).
    pub duplicates: u32,
    /// The next sequence number the national platform expects from this province.
    pub next_seq: u64,
}

/// A notice from the national platform to one province (通报): the goods of this province implicated by an
/// incident elsewhere, with the facts the notice must carry (food name, batch number, quantity, sale date,
/// seller and contact).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Notice {
    pub id: Uuid,
    /// A notice (通报) or a request for detail (the holders of the named batches, answered automatically).
    #[serde(default)]
    pub purpose: Purpose,
    /// National delivery sequence for this province (the cursor a province pulls after).
    pub seq: u64,
    /// The incident at the national platform (the reporting province's incident id).
    pub incident: Uuid,
    pub from_province: String,
    pub to_province: String,
    pub subject: String,
    pub positive_at: String,
    pub created_at_ms: i64,
    pub lines: Vec<NoticeItem>,
}

/// Why the national platform sends a province something.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Goods of the province implicated by an incident: locate them, dispose of them, acknowledge.
    #[default]
    Notice,
    /// A commander asks where the named batches are now: the provincial platform answers with an
    /// acknowledgement carrying the holders with goods on hand, without opening an incident.
    DetailRequest,
}

/// One implicated batch in the receiving province.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct NoticeItem {
    /// The receiving province's own id for the batch.
    pub batch: String,
    pub codes: Vec<NativeCode>,
    pub food_name: String,
    pub batch_no: String,
    pub quantity_milli: i64,
    pub unit: String,
    /// When the goods entered the province (RFC 3339), if they did.
    pub sale_date: Option<String>,
    pub seller: Option<String>,
    pub seller_uscc: Option<String>,
    pub buyer: Option<String>,
    /// How the batch is related to the positive test: `positive`, `upstream`, `downstream`.
    pub relation: String,
    /// The lowest confidence of the cross-province links on the way (1.0 when all are confirmed or exact).
    pub confidence: f64,
}

/// The sequence number gap answer (`409`): what the national platform expects next.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct SequenceGap {
    pub expected_seq: u64,
    pub got_seq: u64,
}

/// Province of a USCC holder: characters 3-8 are the registering authority's GB/T 2260 region.
pub fn province_of_uscc(uscc: &str) -> Option<&str> {
    let p = uscc.get(2..4)?;
    p.bytes().all(|b| b.is_ascii_digit()).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_wire_shape_is_flat_and_tagged() {
        let e = Envelope {
            id: Uuid::nil(),
            seq: 7,
            recorded_at_ms: 1,
            body: Message::NoticeReceived {
                notice: Uuid::nil(),
            },
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "notice_received");
        assert_eq!(v["seq"], 7);
        let back: Envelope = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }

    /// Every message kind survives the flattened envelope (no field of a body may collide with the envelope's).
    #[test]
    fn every_message_kind_round_trips_in_an_envelope() {
        let flow = BorderFlow {
            movement: "m".into(),
            batch: "b".into(),
            product: "p".into(),
            seller_uscc: Some("s".into()),
            seller_name: "sn".into(),
            buyer_uscc: None,
            buyer_name: "bn".into(),
            other_province: Some("32".into()),
            quantity_milli: 5,
            unit: "kg".into(),
            at_ms: 9,
        };
        let bodies = vec![
            Message::Enterprise(EnterpriseShort {
                uscc: "u".into(),
                name: "n".into(),
                kind: "importer".into(),
                region: "120116".into(),
            }),
            Message::Batch(BatchFacts {
                batch: "b".into(),
                codes: vec![NativeCode {
                    scheme: "issued".into(),
                    value: "32000000000001".into(),
                }],
                product: "p".into(),
                gtin: None,
                batch_no: "n".into(),
                owner_uscc: "u".into(),
                origin_country: Some("BR".into()),
                inspection_cert_no: Some("c".into()),
                declaration_no: None,
                port_of_entry: None,
                import_date: None,
                quantity_milli: 1,
                unit: "kg".into(),
            }),
            Message::Derivation(Derivation {
                holder_uscc: "u".into(),
                inputs: vec!["a".into()],
                outputs: vec!["b".into()],
                at_ms: 3,
            }),
            Message::Outflow(flow.clone()),
            Message::Inflow(flow),
            Message::Incident(IncidentReport {
                incident: Uuid::nil(),
                kind: "batch_sample".into(),
                subject: "s".into(),
                positive_at: "2026-11-06T09:00:00+08:00".into(),
                batches: vec!["b".into()],
            }),
            Message::NoticeReceived {
                notice: Uuid::nil(),
            },
            Message::NoticeAck(NoticeAck {
                notice: Uuid::nil(),
                by: "r".into(),
                note: None,
                holders: vec![],
            }),
        ];
        for (i, body) in bodies.into_iter().enumerate() {
            let e = Envelope {
                id: Uuid::now_v7(),
                seq: i as u64 + 1,
                recorded_at_ms: 42,
                body,
            };
            let text = serde_json::to_string(&e).unwrap();
            let back: Envelope = serde_json::from_str(&text)
                .unwrap_or_else(|err| panic!("{} does not read back: {err}", e.body.kind()));
            assert_eq!(back, e);
        }
    }

    #[test]
    fn uscc_province_is_read_from_the_region_part() {
        assert_eq!(province_of_uscc("91320100MA1XXXXX0X"), Some("32"));
        assert_eq!(province_of_uscc("9"), None);
    }
}
