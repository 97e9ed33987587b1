package export

import (
	"encoding/csv"
	"fmt"
	"io"

	"github.com/shopspring/decimal"

	"parcours/services/money"
)

// columnKind says what a column holds and how each rendering writes it.
type columnKind int

const (
	textColumn    columnKind = iota // short text, top-aligned
	wrappedColumn                   // long text, wrapped in the XLSX
	moneyColumn                     // euros: "1234.50" in CSV, a number with the euro format in XLSX
	rateColumn                      // a ratio: "0.5123" in CSV, a number with a percent format in XLSX
	numberColumn                    // any other number: as is in CSV, a plain number in XLSX
	columnKinds
)

// column is a column of a table: its French header, its kind and its XLSX width in characters.
type column struct {
	header string
	kind   columnKind
	width  float64
}

// cell is a text, or a number when number is valid; an empty cell has neither.
type cell struct {
	text   string
	number decimal.NullDecimal
}

func textCell(s string) cell                  { return cell{text: s} }
func numberCell(d decimal.Decimal) cell       { return cell{number: decimal.NewNullDecimal(d)} }
func nullableCell(d decimal.NullDecimal) cell { return cell{number: d} }
func textCells(texts ...string) []cell        { return appendTexts(nil, texts...) }
func appendTexts(to []cell, texts ...string) []cell {
	for _, s := range texts {
		to = append(to, textCell(s))
	}
	return to
}

type rowKind int

const (
	actionRow rowKind = iota // a plain row
	subtotalRow
	totalRow
	rowKinds
)

// tableRow is one line of a table, one cell per column.
type tableRow struct {
	kind  rowKind
	cells []cell
}

// table is what both renderings write: a sheet name and title (XLSX only), the columns, and
// the rows under the header.
type table struct {
	sheet   string
	title   string
	columns []column
	rows    []tableRow
}

// header returns the column headers.
func (t table) header() []string {
	out := make([]string, len(t.columns))
	for i, c := range t.columns {
		out[i] = c.header
	}
	return out
}

// csvText writes c as a CSV field of a column of kind k: text as is, money with two decimals
// and a dot, rates with four decimals, other numbers as they are; "" for an empty cell.
func csvText(c cell, k columnKind) string {
	if !c.number.Valid {
		return c.text
	}
	switch k {
	case moneyColumn:
		return money.String(c.number.Decimal)
	case rateColumn:
		return c.number.Decimal.StringFixed(4)
	default:
		return c.number.Decimal.String()
	}
}

// writeCSV writes t to w as RFC 4180 CSV: UTF-8 without a byte-order mark, comma-separated,
// the header row first and no title row; what names the table in errors.
func writeCSV(w io.Writer, t table, what string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.header()); err != nil {
		return fmt.Errorf("%s csv: %w", what, err)
	}
	record := make([]string, len(t.columns))
	for _, r := range t.rows {
		for i, col := range t.columns {
			record[i] = ""
			if i < len(r.cells) {
				record[i] = csvText(r.cells[i], col.kind)
			}
		}
		if err := cw.Write(record); err != nil {
			return fmt.Errorf("%s csv: %w", what, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("%s csv: %w", what, err)
	}
	return nil
}
