// Package cumul records the cumul rSa + seasonal work scheme of fiche 4.4: a beneficiary who
// takes a seasonal or fixed-term contract in agriculture or the agri-food industry keeps the
// rSa on top of the wages until the unemployment rights reopen, and the département pays what
// the wages would have taken off the rSa. It holds the scheme (its window, its fiche and the
// budget line that is each year's envelope), the agreements, the allocation engine over the
// dated national rSa parameters, the monthly allocations charged to the envelope under a lock
// (never past its amount, whatever the concurrency), the envelope and summary reports and the
// cumul indicators. The allocations reach the spend report through services/accruals.
package cumul

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/auth"
	"parcours/services/beneficiaries"
)

// Audited resources.
const (
	agreementResource  = "cumul_agreement"
	allocationResource = "cumul_allocation"
)

// Agreement is an agreement as the service hands it out.
type Agreement struct {
	ID                           int64
	BeneficiaryID                int64
	Employer                     string
	SIRET                        string
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

// UsedParameters are the rSa parameters and household facts the engine computed an
// allocation's rSa with.
type UsedParameters struct {
	ValidFrom        time.Time
	OnePersonAmount  decimal.Decimal
	HouseholdSize    int
	Multiplier       decimal.Decimal
	HouseholdAmount  decimal.Decimal
	HousingAid       bool
	HousingRate      decimal.NullDecimal // only with a housing aid
	HousingDeduction decimal.Decimal
	OtherResources   decimal.Decimal
}

// Allocation is one month of an agreement: the rSa without the wages (given, or computed
// with Parameters), what the person's other agreements were already allocated that month,
// the rSa with the wages counted, and the amount the département pays, charged to the
// budget line BudgetLineID.
type Allocation struct {
	ID              int64
	AgreementID     int64
	BeneficiaryID   int64
	BudgetLineID    int64
	Month           time.Time
	Wages           decimal.Decimal
	RSAWithoutWages decimal.Decimal
	OtherAllocated  decimal.Decimal
	RSAWithWages    decimal.Decimal
	Amount          decimal.Decimal
	Parameters      *UsedParameters // nil when the rSa was given
	CreatedAt       time.Time
}

// Filter narrows Agreements; zero fields do not filter.
type Filter struct {
	BeneficiaryID int64
	Page          services.PageRequest
}

// Service records the agreements and allocations of the caller's département.
type Service struct {
	db  *gorm.DB
	now func() time.Time
}

// New returns a cumul service over db.
func New(db *gorm.DB) *Service { return &Service{db: db, now: time.Now} }

// Roles.
var (
	// caseworkers write and read agreements and allocations (nominative).
	caseworkers = []auth.Role{auth.RoleAdmin, auth.RoleAgent}
	// envelopeReaders read the envelope of a year.
	envelopeReaders = []auth.Role{auth.RoleAdmin, auth.RoleManager, auth.RoleAgent}
	// aggregateReaders read the summary of the allocations.
	aggregateReaders = []auth.Role{auth.RoleAdmin, auth.RoleManager}
)

// caller returns the principal in ctx if it has one of roles.
func caller(ctx context.Context, what string, roles ...auth.Role) (auth.Principal, error) {
	p, err := services.Caller(ctx)
	if err == nil && !p.HasRole(roles...) {
		err = fmt.Errorf("role %s may not %s: %w", p.Role, what, services.ErrForbidden)
	}
	return p, err
}

// visibleBeneficiaries is the query of the ids of the beneficiaries p may see.
func visibleBeneficiaries(tx *gorm.DB, p auth.Principal) (*gorm.DB, error) {
	return beneficiaries.Visible(tx.Session(&gorm.Session{NewDB: true}).Table("beneficiaries b").Select("b.id"), p)
}

// firstOfMonth is the first day of d's month.
func firstOfMonth(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// lastOfMonth is the last day of d's month.
func lastOfMonth(d time.Time) time.Time { return firstOfMonth(d).AddDate(0, 1, -1) }

// monthString writes a month as the API does, "2020-06".
func monthString(d time.Time) string { return d.Format("2006-01") }
