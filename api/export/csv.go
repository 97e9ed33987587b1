package export

import (
	"io"

	"parcours/services/budget"
)

// WriteCSV writes the Annexe 3 table of y to w as RFC 4180 CSV: UTF-8 without a byte-order
// mark, comma-separated, the header row first and no title rows. Amounts are plain decimals
// with two decimals and a dot ("1936652.00"); the pre-notified cell of an action row is empty.
func WriteCSV(w io.Writer, y budget.Year) error {
	return writeCSV(w, annexe3Table(y), "annexe 3")
}
