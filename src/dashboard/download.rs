//! Human-facing CSV downloads (the dashboard tables, the tag statistics, the concordance):
//! written with the `csv` crate, prefixed with a UTF-8 byte-order mark (Excel on a Chinese
//! Windows reads a file without one in the ANSI code page, GBK, and shows mojibake), and with
//! every text cell that a spreadsheet would run as a formula (`= + - @`, tab, carriage
//! return first) guarded by a leading `'` (the OWASP advice). Numbers are left alone: `-0.5`
//! is a number to Excel, not a formula.
//!
//! Machine-facing CSV (the corpus export's Hugging Face `metadata.csv`) has neither: a BOM
//! renames its first column for `datasets`, and a guard would change the transcripts.

use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::AppResult;

/// The UTF-8 byte-order mark.
pub const BOM: &str = "\u{FEFF}";

/// `cell`, with a `'` in front when a spreadsheet would read it as a formula.
pub fn guard(cell: &str) -> std::borrow::Cow<'_, str> {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let number = cell.parse::<f64>().is_ok_and(f64::is_finite);
    if formula && !number {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// A CSV download being written.
pub struct HumanCsv {
    w: csv::Writer<Vec<u8>>,
}

impl HumanCsv {
    /// A download with its header row.
    pub fn new(header: &[&str]) -> anyhow::Result<Self> {
        let mut w = csv::Writer::from_writer(BOM.as_bytes().to_vec());
        w.write_record(header)?;
        Ok(Self { w })
    }

    /// Appends one row, every cell guarded.
    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) -> anyhow::Result<()> {
        self.w
            .write_record(cells.into_iter().map(|c| guard(c.as_ref()).into_owned()))?;
        Ok(())
    }

    /// The bytes written.
    pub fn into_bytes(self) -> anyhow::Result<Vec<u8>> {
        self.w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The download as a response, `attachment; filename="<name>.csv"`.
    pub fn into_response(self, name: &str) -> AppResult<Response> {
        let bytes = self.into_bytes()?;
        Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.csv\""),
                ),
            ],
            bytes,
        )
            .into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_guarded_numbers_and_text_are_not() {
        assert_eq!(guard("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(guard("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(guard("+1+1"), "'+1+1");
        assert_eq!(guard("-2+3"), "'-2+3");
        assert_eq!(guard("-0.5"), "-0.5");
        assert_eq!(guard("桂柳话"), "桂柳话");
        let mut c = HumanCsv::new(&["a", "b"]).unwrap();
        c.row(["=1+1", "x,y"]).unwrap();
        assert_eq!(
            String::from_utf8(c.into_bytes().unwrap()).unwrap(),
            "\u{FEFF}a,b\n'=1+1,\"x,y\"\n"
        );
    }
}
