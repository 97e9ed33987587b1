package expenses

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"parcours/services"
)

// Kinds of ledger entries.
const (
	KindCommitment = "commitment" // engagement: spend promised to a supplier
	KindPayment    = "payment"    // mandat: spend paid, within the commitments
)

// Funders an amount is attributed to, in the order of Shares and of the split.
const (
	FunderState       = "state"
	FunderDepartement = "departement"
	FunderCarryover   = "carryover"
	FunderOther       = "other"
)

// The closed vocabularies of an entry.
var (
	Kinds   = []string{KindCommitment, KindPayment}
	Funders = []string{FunderState, FunderDepartement, FunderCarryover, FunderOther}
)

// Lengths of the text fields, in characters.
const (
	maxSupplier  = 200
	maxReference = 100
)

// Input records a commitment or a payment. Funder and BudgetLineID are optional: without a
// funder the amount is split across funders in the budget line's proportions (or, without a
// line, the fiche's Annexe 3 proportions).
type Input struct {
	ActionCode   *string
	BudgetLineID *int64
	Kind         *string
	Amount       *decimal.Decimal
	Date         *time.Time
	Supplier     *string
	Reference    *string
	Funder       *string
}

// Validate checks the input's own rules, without the database (creating is always true: an
// entry is never changed).
func (in Input) Validate(bool) error {
	var v services.Validator
	in.check(&v, today(time.Now()))
	return v.Err()
}

func (in Input) check(v *services.Validator, today time.Time) {
	services.CheckText(v, "action_code", in.ActionCode, 10)
	checkAmong(v, "kind", in.Kind, Kinds, true)
	checkAmong(v, "funder", in.Funder, Funders, false)
	switch {
	case in.Amount == nil:
		v.Check(false, "amount", "is required")
	default:
		v.Check(in.Amount.IsPositive(), "amount", "must be more than 0.00")
		v.Check(in.Amount.Equal(in.Amount.Truncate(2)), "amount", "must have at most two decimals")
	}
	v.Check(in.Date != nil, "date", "is required")
	checkDate(v, "date", in.Date, today)
	if in.BudgetLineID != nil {
		v.Check(*in.BudgetLineID > 0, "budget_line_id", "must be a positive id")
	}
	services.CheckText(v, "supplier", trimmed(in.Supplier), maxSupplier)
	services.CheckText(v, "reference", trimmed(in.Reference), maxReference)
}

// ReverseInput says how a reversing entry differs from the entry it reverses: its date (the
// reversed entry's by default) and its reference (the reversed entry's by default).
type ReverseInput struct {
	Date      *time.Time
	Reference *string
}

// Validate checks the input's own rules, without the database.
func (in ReverseInput) Validate(bool) error {
	var v services.Validator
	in.check(&v, today(time.Now()))
	return v.Err()
}

func (in ReverseInput) check(v *services.Validator, today time.Time) {
	checkDate(v, "date", in.Date, today)
	if in.Reference != nil {
		services.CheckText(v, "reference", trimmed(in.Reference), maxReference)
	}
}

func checkAmong(v *services.Validator, field string, s *string, among []string, required bool) {
	if s == nil {
		v.Check(!required, field, "is required")
		return
	}
	v.Check(slices.Contains(among, *s), field, "must be one of "+strings.Join(among, ", "))
}

// checkDate refuses a date after today, or outside the years budgets have.
func checkDate(v *services.Validator, field string, d *time.Time, today time.Time) {
	if d == nil {
		return
	}
	v.Check(!d.After(today), field, "must not be after today")
	v.Check(d.Year() >= 2000, field, "must be in 2000 or later")
}

func trimmed(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	return &t
}

// today is the calendar date of now at midnight UTC, the bound of entry dates.
func today(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// ficheName names fiche code of year in messages: "4.4 (2020)".
func ficheName(code string, year int) string { return fmt.Sprintf("%s (%d)", code, year) }
