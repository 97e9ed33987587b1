package models

import (
	"time"

	"github.com/shopspring/decimal"
)

// CumulScheme is a département's cumul rSa scheme (fiche 4.4): the window agreements must lie
// in, and the fiche action and budget line label whose line, each year, is the envelope of
// the allocations.
type CumulScheme struct {
	ID              int64 `gorm:"primaryKey"`
	Departement     string
	ActionCode      string
	BudgetLineLabel string
	StartsOn        time.Time
	EndsOn          time.Time
	Version         int
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// TableName is the SQL table of CumulScheme.
func (CumulScheme) TableName() string { return "cumul_schemes" }

// RSAParameters are the national rSa amounts in force from ValidFrom until the next row.
type RSAParameters struct {
	ValidFrom              time.Time `gorm:"primaryKey"`
	OnePersonAmount        decimal.Decimal
	FurtherPersonIncrement decimal.Decimal
}

// TableName is the SQL table of RSAParameters.
func (RSAParameters) TableName() string { return "rsa_parameters" }

// RSAHouseholdMultiplier multiplies the one-person amount for a household of HouseholdSize.
type RSAHouseholdMultiplier struct {
	ValidFrom     time.Time `gorm:"primaryKey"`
	HouseholdSize int       `gorm:"primaryKey"`
	Multiplier    decimal.Decimal
}

// TableName is the SQL table of RSAHouseholdMultiplier.
func (RSAHouseholdMultiplier) TableName() string { return "rsa_household_multipliers" }

// RSAHousingRate is the forfait logement rate of a household of HouseholdSize (and, for the
// largest size listed, of larger households).
type RSAHousingRate struct {
	ValidFrom     time.Time `gorm:"primaryKey"`
	HouseholdSize int       `gorm:"primaryKey"`
	Rate          decimal.Decimal
}

// TableName is the SQL table of RSAHousingRate.
func (RSAHousingRate) TableName() string { return "rsa_housing_rates" }

// CumulAgreement is a beneficiary's seasonal or fixed-term contract under the cumul scheme.
type CumulAgreement struct {
	ID                           int64 `gorm:"primaryKey"`
	Departement                  string
	BeneficiaryID                int64
	Employer                     string
	Siret                        string
	Sector                       string
	ContractType                 string
	StartsOn                     time.Time
	EndsOn                       time.Time
	Hours                        decimal.Decimal
	UnemploymentRightsReopenedOn *time.Time
	Version                      int
	CreatedAt                    time.Time
	UpdatedAt                    time.Time
}

// TableName is the SQL table of CumulAgreement.
func (CumulAgreement) TableName() string { return "cumul_agreements" }

// CumulAllocation is what the département paid for one month of an agreement, charged to a
// budget line, with the rSa parameters the engine used when it computed the rSa (else nil).
type CumulAllocation struct {
	ID                  int64 `gorm:"primaryKey"`
	Departement         string
	AgreementID         int64
	BudgetLineID        int64
	Month               time.Time
	Wages               decimal.Decimal
	RSAWithoutWages     decimal.Decimal `gorm:"column:rsa_without_wages"`
	OtherAllocated      decimal.Decimal
	Amount              decimal.Decimal
	ParametersValidFrom *time.Time
	HouseholdSize       *int
	HousingAid          *bool
	OtherResources      decimal.NullDecimal
	OnePersonAmount     decimal.NullDecimal
	Multiplier          decimal.NullDecimal
	HouseholdAmount     decimal.NullDecimal
	HousingRate         decimal.NullDecimal
	HousingDeduction    decimal.NullDecimal
	CreatedAt           time.Time
}

// TableName is the SQL table of CumulAllocation.
func (CumulAllocation) TableName() string { return "cumul_allocations" }
