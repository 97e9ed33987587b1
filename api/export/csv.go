package export

import (
	"encoding/csv"
	"fmt"
	"io"

	"parcours/services/budget"
	"parcours/services/money"
)

// WriteCSV writes the Annexe 3 table of y to w as RFC 4180 CSV: UTF-8 without a byte-order
// mark, comma-separated, the header row first and no title rows. Amounts are plain decimals
// with two decimals and a dot ("1936652.00"); the pre-notified cell of an action row is empty.
func WriteCSV(w io.Writer, y budget.Year) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header(y)); err != nil {
		return fmt.Errorf("annexe 3 csv: %w", err)
	}
	record := make([]string, columnCount)
	for _, r := range rows(y) {
		copy(record, r.text[:])
		for i, m := range r.money {
			record[textColumns+i] = ""
			if m.Valid {
				record[textColumns+i] = money.String(m.Decimal)
			}
		}
		if err := cw.Write(record); err != nil {
			return fmt.Errorf("annexe 3 csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("annexe 3 csv: %w", err)
	}
	return nil
}
