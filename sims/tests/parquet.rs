//! Parquet exports (feature `parquet`): read back, they hold the same rows as the CSVs.
#![cfg(feature = "parquet")]
#![allow(clippy::unwrap_used)]

use arrow_array::{Array, UInt64Array};
use dfc_sims::scenario::Scenario;
use dfc_sims::{bundled, output, run, Fidelity};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

#[test]
fn parquet_files_match_the_report() {
    let mut s = Scenario::from_toml(bundled("market-day").unwrap()).unwrap();
    s.days = 2;
    let out = run(&s, 4, Fidelity::Fast, |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    output::write_all(dir.path(), &out.report, &out.days, &out.segment_names).unwrap();
    let read = |name: &str| {
        let f = std::fs::File::open(dir.path().join(name)).unwrap();
        ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .build()
            .unwrap()
            .map(|b| b.unwrap())
            .collect::<Vec<_>>()
    };
    let daily = read("daily.parquet");
    let rows: usize = daily.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 2);
    let segs = read("segments_daily.parquet");
    let rows: usize = segs.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 2 * s.segments.len());
    let made: u64 = segs
        .iter()
        .map(|b| {
            let c = b
                .column_by_name("payments_made")
                .unwrap()
                .as_any()
                .downcast_ref::<UInt64Array>()
                .unwrap();
            (0..c.len()).map(|i| c.value(i)).sum::<u64>()
        })
        .sum();
    assert_eq!(made, out.report.payments.completed);
}
