//! The documented docking schema is the one the code speaks.

#[test]
fn the_committed_docking_schema_matches_the_wire_types() {
    let generated =
        serde_json::to_string_pretty(&coldtrace_api::openapi::docking_schema()).unwrap() + "\n";
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/docking-v1.schema.json"
    );
    if std::env::var_os("COLDTRACE_WRITE_SCHEMAS").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/docking-v1.schema.json is out of date: run `COLDTRACE_WRITE_SCHEMAS=1 cargo test -p coldtrace-api --test it schema`"
    );
    let v: serde_json::Value = serde_json::from_str(&committed).unwrap();
    for t in [
        "Upload",
        "Envelope",
        "Message",
        "BatchFacts",
        "BorderFlow",
        "Notice",
        "NoticeItem",
        "UploadReceipt",
        "SequenceGap",
    ] {
        assert!(v["$defs"][t].is_object(), "{t} is not defined");
    }
}
