package models

import (
	"time"

	"github.com/shopspring/decimal"
)

// Expense is one append-only entry of the expense ledger: a commitment or a payment on a fiche
// action (of the entry date's year), optionally on one of its budget lines, with its split
// across funders; a reversing entry carries the negated amounts and ReversesID.
type Expense struct {
	ID               int64 `gorm:"primaryKey"`
	Departement      string
	ActionID         int64
	BudgetLineID     *int64
	Kind             string
	Amount           decimal.Decimal
	EntryDate        time.Time
	Supplier         string
	Reference        string
	Funder           *string
	StateShare       decimal.Decimal
	DepartementShare decimal.Decimal
	CarryoverShare   decimal.Decimal
	OtherShare       decimal.Decimal
	ReversesID       *int64
	CreatedAt        time.Time
}

// TableName is the SQL table of Expense.
func (Expense) TableName() string { return "expenses" }

// IndicatorValue is one declaration of a declared indicator's value for a period (a year
// "2020" or a month "2020-06"), for the whole département (TerritoryID nil) or one territory.
type IndicatorValue struct {
	ID          int64 `gorm:"primaryKey"`
	Departement string
	IndicatorID int64
	Period      string
	TerritoryID *int64
	Value       decimal.Decimal
	Source      string
	Comment     string
	DeclaredAt  time.Time
}

// TableName is the SQL table of IndicatorValue.
func (IndicatorValue) TableName() string { return "indicator_values" }
