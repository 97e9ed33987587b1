// Package reports turns the contracted budget, the expense ledger and the accruals of the
// case data into what management reads: the spend report per fiche action and funding line,
// and the indicator report with each indicator's status against its target.
package reports

import (
	"time"

	"github.com/shopspring/decimal"

	"parcours/services/indicators"
)

// Flags a spend row may carry.
const (
	FlagOverspendRisk      = "overspend_risk"        // the year-end projection exceeds the budget
	FlagUnderspendRisk     = "underspend_risk"       // the year-end projection is under half the budget
	FlagStateCreditsAtRisk = "state_credits_at_risk" // State credits consumed exceed the State share
)

// Indicator statuses.
const (
	StatusMet      = "met"
	StatusBehind   = "behind"
	StatusNoTarget = "no_target"
	StatusNoData   = "no_data"
)

// SpendFigures are the money columns of a spend row: the contracted budget and what was
// committed, paid, accrued (enrolment and cumul accruals) and so consumed (paid + accrued).
type SpendFigures struct {
	Budget           decimal.Decimal
	StateShare       decimal.Decimal
	DepartementShare decimal.Decimal
	Carryover        decimal.Decimal
	OtherFunders     decimal.Decimal // the Annexe 3 "Autres financeurs": Budget = the four shares
	Committed        decimal.Decimal
	Paid             decimal.Decimal
	Accrued          decimal.Decimal
	Consumed         decimal.Decimal
	Remaining        decimal.Decimal // Budget − Consumed
	StateConsumed    decimal.Decimal // the State's part of what was consumed
	ExecutionRate    decimal.Decimal // Consumed / Budget, 4 decimals; 0 when the budget is 0
	ProjectedYearEnd decimal.Decimal // Consumed scaled linearly from 1 January to AsOf
	Flags            []string
}

// ActionSpend is the spend of one fiche action.
type ActionSpend struct {
	Code        string
	Title       string
	FundingLine string // Chorus code
	SpendFigures
}

// FundingLineSpend is the spend of the actions of one Chorus funding line.
type FundingLineSpend struct {
	Chorus string
	Label  string
	Theme  string
	SpendFigures
}

// Spend is the spend report of a year as of a date.
type Spend struct {
	Year         int
	Departement  string
	AsOf         time.Time
	Actions      []ActionSpend
	FundingLines []FundingLineSpend
	Totals       SpendFigures
}

// IndicatorRow is an indicator with its target for the year, its value (computed or
// declared; invalid when there is none) and its status.
type IndicatorRow struct {
	Code             string
	Action           string
	Scope            string
	Label            string
	Unit             string
	Method           string
	Target           decimal.NullDecimal
	TargetComparator string
	Value            decimal.NullDecimal
	Status           string                     // StatusMet, StatusBehind, StatusNoTarget, StatusNoData
	Params           map[string]float64         // a computed indicator's parameters
	TargetNote       string                     // the target's note; "" without a target
	Declared         []indicators.DeclaredValue // declared indicators: the latest declaration of each period of the year
}

// Indicators is the indicator report of a year.
type Indicators struct {
	Year        int
	Departement string
	Action      string // the fiche the report is limited to; "" for all
	Territory   string // the territory of the values; "" for the whole département
	Rows        []IndicatorRow
}
