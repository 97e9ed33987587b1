package export

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"parcours/services/expenses"
	"parcours/services/money"
)

// LedgerPrefix names the download of the expense ledger (see LedgerFilename).
const LedgerPrefix = "ecritures"

// ledgerHeader is the header row of the ledger CSV: the fields of an entry in the JSON list,
// the shares flattened.
var ledgerHeader = []string{"id", "action_code", "budget_line_id", "kind", "amount", "date", "supplier", "reference",
	"funder", "state_share", "departement_share", "carryover_share", "other_share", "reverses_id"}

// LedgerCSV writes the expense ledger as RFC 4180 CSV one entry at a time, as the entries
// are read: UTF-8 without a byte-order mark, comma-separated, the header row first. Money is
// written "1234.50" (negative on a reversal), dates "2020-09-25"; an absent budget line,
// funder (a split amount) or reversed entry is an empty field. It holds one record, whatever
// the number of entries.
type LedgerCSV struct {
	w      *csv.Writer
	record []string
}

// NewLedgerCSV writes the header row to w and returns the writer of the entries. The rows
// are buffered by the csv.Writer: give it a large bufio.Writer to write in large chunks
// (csv.NewWriter reuses a *bufio.Writer of 4 KiB or more instead of adding its own).
func NewLedgerCSV(w io.Writer) (*LedgerCSV, error) {
	l := &LedgerCSV{w: csv.NewWriter(w), record: make([]string, len(ledgerHeader))}
	if err := l.w.Write(ledgerHeader); err != nil {
		return nil, fmt.Errorf("ledger csv: %w", err)
	}
	return l, nil
}

// Write writes the row of entry e.
func (l *LedgerCSV) Write(e expenses.Expense) error {
	r := l.record
	r[0], r[1], r[2], r[3] = strconv.FormatInt(e.ID, 10), e.ActionCode, optID(e.BudgetLineID), e.Kind
	r[4], r[5], r[6], r[7] = money.String(e.Amount), e.Date.Format(time.DateOnly), e.Supplier, e.Reference
	r[8] = ""
	if e.Funder != nil {
		r[8] = *e.Funder
	}
	r[9], r[10] = money.String(e.Shares.State), money.String(e.Shares.Departement)
	r[11], r[12], r[13] = money.String(e.Shares.Carryover), money.String(e.Shares.Other), optID(e.ReversesID)
	if err := l.w.Write(r); err != nil {
		return fmt.Errorf("ledger csv: entry %d: %w", e.ID, err)
	}
	return nil
}

// Flush writes the buffered rows to the underlying writer.
func (l *LedgerCSV) Flush() error {
	l.w.Flush()
	if err := l.w.Error(); err != nil {
		return fmt.Errorf("ledger csv: %w", err)
	}
	return nil
}

// LedgerFilename is the download name of the ledger of departement, "ecritures-47.csv".
func LedgerFilename(departement string) string {
	return withExt(LedgerPrefix+"-"+safeName(departement), "csv")
}

// optID writes an optional id, "" when absent.
func optID(id *int64) string {
	if id == nil {
		return ""
	}
	return strconv.FormatInt(*id, 10)
}
