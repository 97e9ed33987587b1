package expenses

import (
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parcours/models"
	"parcours/services"
	"parcours/services/money"
)

// fiche is the fiche action of a year an entry belongs to, with its Annexe 3 funder shares.
type fiche struct {
	ID               int64
	Code             string
	Year             int
	StateShare       decimal.Decimal
	DepartementShare decimal.Decimal
	Carryover        decimal.Decimal
	OtherFunders     decimal.Decimal
}

// weights are the fiche's proportions, in the order of Funders.
func (f fiche) weights() []decimal.Decimal {
	return []decimal.Decimal{f.StateShare, f.DepartementShare, f.Carryover, f.OtherFunders}
}

func (f fiche) name() string { return ficheName(f.Code, f.Year) }

const ficheColumns = "id, code, year, state_share, departement_share, carryover, other_funders"

// lockFiche reads fiche code of year and locks its row until the transaction ends, so that
// the entries of one fiche are checked one at a time. A fiche the département does not have
// that year is a field error on action_code.
func lockFiche(tx *gorm.DB, departement, code string, year int) (fiche, error) {
	var f fiche
	err := tx.Table("actions").Select(ficheColumns).Clauses(clause.Locking{Strength: "UPDATE"}).
		Where("departement = ? AND year = ? AND code = ?", departement, year, code).Take(&f).Error
	if isNotFound(err) {
		return f, fieldError("action_code", fmt.Sprintf("no fiche action %s in %d, the year of the date", code, year))
	}
	if err != nil {
		return f, fmt.Errorf("lock fiche %s: %w", ficheName(code, year), err)
	}
	return f, nil
}

// lineWeights returns the funder proportions of budget line id, which must be a line of f:
// its State, département and other shares (a line has no carry-over column), or f's own when
// the line's shares are all zero.
func lineWeights(tx *gorm.DB, departement string, id int64, f fiche) ([]decimal.Decimal, error) {
	var line models.BudgetLine
	err := tx.Where("departement = ? AND id = ?", departement, id).Take(&line).Error
	if isNotFound(err) {
		return nil, fieldError("budget_line_id", fmt.Sprintf("no budget line %d", id))
	}
	if err != nil {
		return nil, fmt.Errorf("read budget line %d: %w", id, err)
	}
	if line.ActionID != f.ID {
		return nil, fieldError("budget_line_id", fmt.Sprintf("budget line %d is not a line of fiche %s", id, f.name()))
	}
	weights := []decimal.Decimal{line.StateShare, line.DepartementShare, decimal.Zero, line.OtherShare}
	if line.StateShare.Add(line.DepartementShare).Add(line.OtherShare).IsZero() {
		return f.weights(), nil
	}
	return weights, nil
}

// attribute splits amount across funders: all of it to funder when one is named, else in the
// proportions of weights with the largest-remainder method.
func attribute(amount decimal.Decimal, funder *string, weights []decimal.Decimal) (Shares, error) {
	parts := make([]decimal.Decimal, len(Funders))
	for i := range parts {
		parts[i] = decimal.Zero
	}
	if funder != nil {
		for i, name := range Funders {
			if name == *funder {
				parts[i] = amount
			}
		}
	} else {
		var err error
		parts, err = money.Split(amount, weights)
		if errors.Is(err, money.ErrNoWeights) {
			return Shares{}, fieldError("funder", "is required: neither the budget line nor the fiche has funder shares to split the amount by")
		}
		if err != nil {
			return Shares{}, fmt.Errorf("split %s: %w", amount, err)
		}
	}
	return Shares{State: parts[0], Departement: parts[1], Carryover: parts[2], Other: parts[3]}, nil
}

// lockEntry reads ledger entry id of departement with its fiche, locking the fiche's row.
func lockEntry(tx *gorm.DB, departement string, id int64) (models.Expense, fiche, error) {
	var row models.Expense
	err := tx.Where("departement = ? AND id = ?", departement, id).Take(&row).Error
	if isNotFound(err) {
		return row, fiche{}, errNotFound(fmt.Sprintf("expense %d", id))
	}
	if err != nil {
		return row, fiche{}, fmt.Errorf("read expense %d: %w", id, err)
	}
	var f fiche
	if err := tx.Table("actions").Select(ficheColumns).Clauses(clause.Locking{Strength: "UPDATE"}).
		Where("id = ?", row.ActionID).Take(&f).Error; err != nil {
		return row, f, fmt.Errorf("lock the fiche of expense %d: %w", id, err)
	}
	var reversedBy int64
	if err := tx.Raw(`SELECT coalesce(max(id), 0) FROM expenses WHERE reverses_id = ?`, id).Row().Scan(&reversedBy); err != nil {
		return row, f, fmt.Errorf("look for the reversal of expense %d: %w", id, err)
	}
	if reversedBy != 0 {
		return row, f, fmt.Errorf("expense %d was already reversed by expense %d: %w", id, reversedBy, services.ErrConflict)
	}
	return row, f, nil
}

// coverage are the net commitments and payments of a fiche and of one of its lines.
type coverage struct {
	Committed, Paid         decimal.Decimal
	LineCommitted, LinePaid decimal.Decimal
}

// coverageSQL sums the ledger of fiche @action, and of its budget line @line (0: none).
const coverageSQL = `SELECT
	coalesce(sum(amount) FILTER (WHERE kind = 'commitment'), 0) AS committed,
	coalesce(sum(amount) FILTER (WHERE kind = 'payment'), 0) AS paid,
	coalesce(sum(amount) FILTER (WHERE kind = 'commitment' AND budget_line_id = @line), 0) AS line_committed,
	coalesce(sum(amount) FILTER (WHERE kind = 'payment' AND budget_line_id = @line), 0) AS line_paid
FROM expenses WHERE action_id = @action`

// refusal turns a broken coverage rule, described by what, into the error to answer.
type refusal func(what string) error

func paymentRefused(what string) error { return fieldError("amount", what) }

func reversalRefused(what string) error {
	return fmt.Errorf("%s; reverse those payments first: %w", what, services.ErrConflict)
}

// checkCovered enforces the coverage rule (see the package comment) on f and line, after the
// entry just written: payments, net of reversals, within commitments.
func checkCovered(tx *gorm.DB, f fiche, line *int64, refuse refusal) error {
	lineID := int64(0)
	if line != nil {
		lineID = *line
	}
	var c coverage
	if err := tx.Raw(coverageSQL, map[string]any{"action": f.ID, "line": lineID}).Scan(&c).Error; err != nil {
		return fmt.Errorf("sum the ledger of fiche %s: %w", f.name(), err)
	}
	if c.Paid.GreaterThan(c.Committed) {
		return refuse(fmt.Sprintf("the payments of fiche %s would come to %s, beyond its commitments of %s",
			f.name(), money.String(c.Paid), money.String(c.Committed)))
	}
	if line != nil && c.LinePaid.GreaterThan(c.LineCommitted) {
		return refuse(fmt.Sprintf("the payments on budget line %d would come to %s, beyond the commitments on that line of %s",
			lineID, money.String(c.LinePaid), money.String(c.LineCommitted)))
	}
	return nil
}

func fieldError(field, message string) error {
	return &services.ValidationError{Fields: []services.FieldError{{Field: field, Message: message}}}
}
