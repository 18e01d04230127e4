//! Ledger files over HTTP: CSV in GBK and UTF-8, XLSX, errors by row and column, all or nothing, partial.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Ent, TestApp, json};

const HEADER: &str = "日期,类型,品名,品类,原产国,批号,数量,单位,报关单号,检验检疫证明编号,核酸检测报告编号,核酸检测结果,追溯码,对方名称,对方统一社会信用代码,存放位置,经手人\n";

async fn upload(
    app: &TestApp,
    e: &Ent,
    body: Vec<u8>,
    ct: &str,
    query: &str,
) -> (StatusCode, Value) {
    json(
        app.post_file(&format!("/api/v1/ledger{query}"), &e.key, ct, body)
            .await,
    )
    .await
}

#[tokio::test]
async fn a_gbk_csv_ledger_registers_batches_documents_and_movements() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 41).await;
    let cs = app
        .enterprise("120104", "first_station_cold_store", 42)
        .await;
    let csv = format!(
        "{HEADER}2026/3/1 08:30,入库,冷冻去骨牛肉,畜禽肉,BR,L-1,1300,箱,020220261000456789,120100026000001,HS1,阴性,11020201101401,Frigorifico S.A.,,A-01,王伟\n\
         2026/3/2 09:00,出库,冷冻去骨牛肉,畜禽肉,BR,L-1,800,箱,,,,,,首站冷库,{},,李强\n\
         2026/3/3 14:00,销售,冷冻去骨牛肉,畜禽肉,BR,L-1,200,箱,,,,,,某餐厅,,,李强\n",
        cs.uscc
    );
    let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
    let before = app.stats().await;
    let (s, report) = upload(&app, &e, gbk.to_vec(), "text/csv", "").await;
    assert_eq!(s, StatusCode::CREATED, "{report}");
    assert_eq!(report["encoding"], "GBK");
    assert_eq!(report["imported_rows"], 3);
    let after = app.stats().await;
    assert_eq!(after.movements - before.movements, 3);
    assert_eq!(after.batches - before.batches, 1);
    assert_eq!(
        after.documents - before.documents,
        2,
        "inspection certificate and nucleic-acid report"
    );
    let (s, v) = json(app.get("/api/v1/codes/11020201101401", &e.key).await).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["batch"]["declaration_no"], "020220261000456789");
    // The cold store the goods were shipped to can see the batch.
    assert_eq!(
        app.get("/api/v1/codes/11020201101401", &cs.key)
            .await
            .status(),
        StatusCode::OK
    );
    // Importing the same file again stores nothing and says so.
    let (s, again) = upload(&app, &e, gbk.to_vec(), "text/csv", "").await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(again["replayed"], true);
    assert_eq!(app.stats().await, after);
}

#[tokio::test]
async fn row_errors_name_row_and_column_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 43).await;
    let csv = format!(
        "{HEADER}2026-03-01 08:30,入库,冷冻白虾,水产品,EC,S-1,100,kg,020220261000456789,,,,,Acuacultura S.A.,,,\n\
         2026-03-02 08:30,销售,冷冻白虾,水产品,EC,S-1,abc,kg,,,,,,某超市,,,\n\
         2026-03-02,飞走,冷冻白虾,水产品,EC,S-1,10,kg,,,,,,,,,\n\
         2026-03-05 10:00,销售,冷冻白虾,水产品,EC,S-1,5,kg,,,,,,某餐厅,,,\n"
    );
    let before = app.stats().await;
    let (s, report) = upload(&app, &e, csv.clone().into_bytes(), "text/csv", "").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{report}");
    let errors: Vec<(u64, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![(3, "数量".to_string()), (4, "类型".to_string())],
        "{report}"
    );
    assert!(
        report["errors"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("飞走")
    );
    assert_eq!(app.stats().await, before, "all or nothing");
    // Partial: the good rows go in; the bad are reported.
    let (s, report) = upload(&app, &e, csv.into_bytes(), "text/csv", "?partial=true").await;
    assert_eq!(s, StatusCode::CREATED, "{report}");
    assert_eq!(report["imported_rows"], 2);
    assert_eq!(report["rejected_rows"], 2);
    assert_eq!(app.stats().await.movements, before.movements + 2);
    // A bad identifier on a registering row is reported on that row and column.
    let csv = format!(
        "{HEADER}2026-03-01 08:30,入库,冷冻白虾,水产品,EC,S-2,100,kg,02022026100045678,,,,,Acuacultura S.A.,,,\n"
    );
    let (s, report) = upload(&app, &e, csv.into_bytes(), "text/csv", "").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(report["errors"][0]["row"], 2);
    assert_eq!(report["errors"][0]["column"], "报关单号");
    assert!(
        report["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("18"),
        "{report}"
    );
    // A file without the required columns is refused as a whole.
    let (s, report) = upload(&app, &e, "品名,规格\n牛肉,20kg\n".into(), "text/csv", "").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(report["errors"][0]["row"], 0);
    assert!(
        report["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("日期")
    );
}

#[tokio::test]
async fn an_xlsx_ledger_with_english_headers() {
    let app = TestApp::spawn().await;
    let e = app.enterprise("120116", "importer", 44).await;
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let headers = [
        "date",
        "kind",
        "product",
        "category",
        "origin",
        "batch_no",
        "quantity",
        "unit",
        "trace_code",
        "counterparty",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let rows = [
        [
            "2026-03-01 08:00",
            "receive",
            "冷冻三文鱼",
            "aquatic",
            "NO",
            "X-1",
            "500",
            "kg",
            "11020201101501",
            "Mowi ASA",
        ],
        [
            "2026-03-02 08:00",
            "sell",
            "冷冻三文鱼",
            "aquatic",
            "NO",
            "X-1",
            "20",
            "kg",
            "",
            "某超市",
        ],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if c == 6 {
                ws.write_number(r as u32 + 1, c as u16, v.parse::<f64>().unwrap())
                    .unwrap();
            } else {
                ws.write_string(r as u32 + 1, c as u16, *v).unwrap();
            }
        }
    }
    let bytes = wb.save_to_buffer().unwrap();
    let (s, report) = upload(
        &app,
        &e,
        bytes,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "",
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{report}");
    assert_eq!(report["encoding"], "XLSX");
    assert_eq!(report["imported_rows"], 2);
    let (_, v) = json(app.get("/api/v1/codes/11020201101501", &e.key).await).await;
    assert_eq!(v["batch"]["quantity"], 500);
}
