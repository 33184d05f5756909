//! Parquet copies of `daily.csv` and `segments_daily.csv` for analysts' tools (feature
//! `parquet`). Amounts are exact decimals (precision 38, scale 2), counts unsigned integers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Decimal128Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

use super::OutputError;
use crate::metrics::{DayRow, FailReason, Report};
use crate::scenario::DECIMALS;

fn err(path: &Path) -> impl Fn(String) -> OutputError + '_ {
    move |reason| OutputError::Csv {
        path: path.to_path_buf(),
        reason,
    }
}

/// A column of counts.
fn counts(name: &str, v: Vec<u64>) -> (Field, ArrayRef) {
    (
        Field::new(name, DataType::UInt64, false),
        Arc::new(UInt64Array::from(v)),
    )
}

/// A column of amounts in minor units, written as decimals.
fn amounts(name: &str, v: Vec<u64>) -> Result<(Field, ArrayRef), String> {
    let scale = i8::try_from(DECIMALS).map_err(|e| e.to_string())?;
    let a = Decimal128Array::from(v.into_iter().map(i128::from).collect::<Vec<_>>())
        .with_precision_and_scale(38, scale)
        .map_err(|e| e.to_string())?;
    Ok((
        Field::new(name, DataType::Decimal128(38, scale), false),
        Arc::new(a),
    ))
}

fn text(name: &str, v: Vec<String>) -> (Field, ArrayRef) {
    (
        Field::new(name, DataType::Utf8, false),
        Arc::new(StringArray::from(v)),
    )
}

fn write_batch(path: &Path, cols: Vec<(Field, ArrayRef)>) -> Result<(), OutputError> {
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = cols.into_iter().unzip();
    let schema = Arc::new(Schema::new(fields));
    let batch =
        RecordBatch::try_new(Arc::clone(&schema), arrays).map_err(|e| err(path)(e.to_string()))?;
    let file = std::fs::File::create(path).map_err(|source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut w = ArrowWriter::try_new(file, schema, None).map_err(|e| err(path)(e.to_string()))?;
    w.write(&batch).map_err(|e| err(path)(e.to_string()))?;
    w.close().map_err(|e| err(path)(e.to_string()))?;
    Ok(())
}

/// Writes `daily.parquet` and `segments_daily.parquet` into `dir`.
pub fn write(dir: &Path, report: &Report, days: &[DayRow]) -> Result<Vec<PathBuf>, OutputError> {
    let p = dir.join("daily.parquet");
    let col = |f: fn(&DayRow) -> u64| days.iter().map(f).collect::<Vec<u64>>();
    let mut cols = vec![
        counts("day", col(|d| d.day)),
        counts("online_payments", col(|d| d.online_payments)),
        counts("offline_payments", col(|d| d.offline_payments)),
    ];
    let a = |name: &str, f: fn(&DayRow) -> u64| amounts(name, col(f)).map_err(err(&p));
    cols.push(a("online_value", |d| d.online_value_units)?);
    cols.push(a("offline_value", |d| d.offline_value_units)?);
    cols.push(counts("failed_total", col(|d| d.failed.values().sum())));
    for r in FailReason::ALL {
        cols.push(counts(
            &format!("failed_{}", r.name()),
            days.iter()
                .map(|d| d.failed.get(&r).copied().unwrap_or(0))
                .collect(),
        ));
    }
    cols.push(counts("settled", col(|d| d.settled)));
    cols.push(counts(
        "double_spend_attempts",
        col(|d| d.double_spend_attempts),
    ));
    cols.push(counts(
        "double_spends_caught",
        col(|d| d.double_spends_caught),
    ));
    cols.push(a("double_spend_loss", |d| d.double_spend_loss_units)?);
    cols.push(a("unsettled_value", |d| d.unsettled_value_units)?);
    cols.push(a("pending_change", |d| d.pending_change_units)?);
    cols.push(a("supply", |d| d.supply_units)?);
    write_batch(&p, cols)?;

    let q = dir.join("segments_daily.parquet");
    let (mut day, mut segment, mut kind, mut members) = (vec![], vec![], vec![], vec![]);
    let (mut att, mut made, mut recv) = (vec![], vec![], vec![]);
    let (mut sent, mut got, mut bal) = (vec![], vec![], vec![]);
    for d in days {
        for (i, seg) in report.segments.iter().enumerate() {
            let s = d.segments.get(i).copied().unwrap_or_default();
            day.push(d.day);
            segment.push(seg.name.clone());
            kind.push(seg.kind.clone());
            members.push(seg.members);
            att.push(s.attempted);
            made.push(s.made);
            recv.push(s.received);
            sent.push(s.sent_units);
            got.push(s.received_units);
            bal.push(d.balance_units_by_segment.get(i).copied().unwrap_or(0));
        }
    }
    let cols = vec![
        counts("day", day),
        text("segment", segment),
        text("kind", kind),
        counts("members", members),
        counts("payments_attempted", att),
        counts("payments_made", made),
        counts("payments_received", recv),
        amounts("value_sent", sent).map_err(err(&q))?,
        amounts("value_received", got).map_err(err(&q))?,
        amounts("balance_total", bal).map_err(err(&q))?,
    ];
    write_batch(&q, cols)?;
    Ok(vec![p, q])
}
