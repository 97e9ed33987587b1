package models

import (
	"time"

	"github.com/shopspring/decimal"
)

// Convention is a State–département contract (CALPAE) over several years.
type Convention struct {
	ID          int64 `gorm:"primaryKey"`
	Departement string
	Name        string
	PeriodStart int
	PeriodEnd   int
	SignedOn    time.Time
}

// TableName is the SQL table of Convention.
func (Convention) TableName() string { return "conventions" }

// ConventionYear is one year of a convention with the State support it fixes.
type ConventionYear struct {
	ID                 int64 `gorm:"primaryKey"`
	Departement        string
	ConventionID       int64
	Year               int
	StateSupport       decimal.Decimal
	DepartementSupport decimal.NullDecimal
}

// TableName is the SQL table of ConventionYear.
func (ConventionYear) TableName() string { return "convention_years" }

// Amendment is an avenant to a convention.
type Amendment struct {
	ID           int64 `gorm:"primaryKey"`
	Departement  string
	ConventionID int64
	Year         int
	Number       int
	SignedOn     time.Time
	Amount       decimal.NullDecimal
}

// TableName is the SQL table of Amendment.
func (Amendment) TableName() string { return "amendments" }

// FundingLine is a Chorus imputation (State credit line) for one year.
type FundingLine struct {
	ID          int64 `gorm:"primaryKey"`
	Departement string
	Year        int
	Chorus      string
	Label       string
	Theme       string
	Prenotified decimal.Decimal
	Carryover   decimal.Decimal
	Position    int
	Version     int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TableName is the SQL table of FundingLine.
func (FundingLine) TableName() string { return "funding_lines" }

// Action is a fiche action for one year with its Annexe 3 figures and, when the fiche
// prints one, the totals row of its own budget table (Sheet*).
type Action struct {
	ID               int64 `gorm:"primaryKey"`
	Departement      string
	Year             int
	Code             string
	Title            string
	Category         string
	FundingLineID    int64
	Budget           decimal.Decimal
	StateShare       decimal.Decimal
	DepartementShare decimal.Decimal
	Valuation        decimal.Decimal
	Carryover        decimal.Decimal
	OtherFunders     decimal.Decimal
	SheetAmount      decimal.NullDecimal
	SheetState       decimal.NullDecimal
	SheetDepartement decimal.NullDecimal
	SheetOther       decimal.NullDecimal
	Position         int
	Version          int
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// TableName is the SQL table of Action.
func (Action) TableName() string { return "actions" }

// BudgetLine is a poste of a fiche's budget.
type BudgetLine struct {
	ID               int64 `gorm:"primaryKey"`
	Departement      string
	ActionID         int64
	Label            string
	Amount           decimal.Decimal
	StateShare       decimal.Decimal
	DepartementShare decimal.Decimal
	OtherShare       decimal.Decimal
	Position         int
	Version          int
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// TableName is the SQL table of BudgetLine.
func (BudgetLine) TableName() string { return "budget_lines" }

// Indicator is the definition of a national or departmental indicator of a fiche.
type Indicator struct {
	ID          int64 `gorm:"primaryKey"`
	Departement string
	Code        string
	ActionCode  string
	Scope       string
	Label       string
	Unit        string
	Method      string
	Params      string // a JSON object, e.g. {"threshold_days":30}
	Position    int
	Version     int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TableName is the SQL table of Indicator.
func (Indicator) TableName() string { return "indicators" }

// IndicatorTarget is an indicator's target for one year.
type IndicatorTarget struct {
	ID          int64 `gorm:"primaryKey"`
	Departement string
	IndicatorID int64
	Year        int
	Value       decimal.Decimal
	Comparator  string
	Note        string
}

// TableName is the SQL table of IndicatorTarget.
func (IndicatorTarget) TableName() string { return "indicator_targets" }
