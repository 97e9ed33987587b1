package expenses

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/auth"
)

// ledgerColumns are the columns an entry is read from, with its fiche's code and year; scan
// reads them in this order.
const ledgerColumns = "e.id, e.action_id, a.code AS action_code, a.year, e.budget_line_id, e.kind, e.amount, e.entry_date, " +
	"e.supplier, e.reference, e.funder, e.state_share, e.departement_share, e.carryover_share, e.other_share, e.reverses_id, e.created_at"

// ledger is the query over the entries of departement that f selects (its Page aside), each
// with its fiche.
func ledger(db *gorm.DB, departement string, f Filter) *gorm.DB {
	q := db.Table("expenses e").Select(ledgerColumns).Joins("JOIN actions a ON a.id = e.action_id").
		Where("e.departement = ?", departement)
	if f.ActionCode != "" {
		q = q.Where("a.code = ?", f.ActionCode)
	}
	if f.From != nil {
		q = q.Where("e.entry_date >= ?", f.From.Format(time.DateOnly))
	}
	if f.To != nil {
		q = q.Where("e.entry_date <= ?", f.To.Format(time.DateOnly))
	}
	return q
}

// Export calls each with every entry f selects (f.Page is ignored), by id, as PostgreSQL
// sends the rows (administrators and managers, like List). Nothing is kept once each
// returns, so the memory Export uses does not depend on the number of entries: a ledger of a
// million entries streams through the same few buffers as one of ten. The rows are read by one
// statement in a read-only REPEATABLE READ transaction, one snapshot of the ledger however long
// the export takes. Export returns how many entries it passed to each; an error of each stops
// it and is returned as is. The ledger is not nominative: an export is not audited (as List).
func (s *Service) Export(ctx context.Context, f Filter, each func(Expense) error) (int64, error) {
	p, err := caller(ctx, "export the expense ledger", auth.RoleAdmin, auth.RoleManager)
	if err != nil {
		return 0, err
	}
	var n int64
	err = services.ReadSnapshot(ctx, s.db, func(ctx context.Context) error {
		rows, err := ledger(services.Conn(ctx, s.db), p.Departement, f).Order("e.id").Rows()
		if err != nil {
			return fmt.Errorf("export expenses: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scan(rows)
			if err != nil {
				return fmt.Errorf("export expenses: entry %d: %w", n+1, err)
			}
			if err := each(e); err != nil {
				return err
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("export expenses after %d entries: %w", n, err)
		}
		return nil
	})
	return n, err
}

// scan reads one row of ledgerColumns.
func scan(rows *sql.Rows) (Expense, error) {
	var r models.Expense
	var f fiche
	err := rows.Scan(&r.ID, &r.ActionID, &f.Code, &f.Year, &r.BudgetLineID, &r.Kind, &r.Amount, &r.EntryDate,
		&r.Supplier, &r.Reference, &r.Funder, &r.StateShare, &r.DepartementShare, &r.CarryoverShare, &r.OtherShare, &r.ReversesID, &r.CreatedAt)
	f.ID = r.ActionID
	return present(r, f), err
}
