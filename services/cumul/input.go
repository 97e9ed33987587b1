package cumul

import (
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"parcours/services"
	"parcours/services/money"
)

// Sectors and contract types of an agreement: the two sectors in tension the scheme serves
// (agriculture and the agri-food industry), under a seasonal or fixed-term contract.
var (
	Sectors       = []string{"agriculture", "agrifood"}
	ContractTypes = []string{"seasonal", "fixed_term"}
)

// Limits of the inputs.
const (
	maxEmployer      = 200
	maxHouseholdSize = 20
)

// maxWeeklyHours is the absolute maximum working week of French labour law (60 hours, Code du
// travail L. 3121-21).
var maxWeeklyHours = decimal.NewFromInt(60)

// AgreementInput records an agreement; every field is required. Dates are calendar dates at
// midnight UTC; Hours are working hours per week.
type AgreementInput struct {
	BeneficiaryID *int64
	Employer      *string
	SIRET         *string
	Sector        *string
	ContractType  *string
	StartsOn      *time.Time
	EndsOn        *time.Time
	Hours         *decimal.Decimal
}

// Validate checks the input's own rules; those that read the database are the service's.
func (in AgreementInput) Validate(bool) error {
	var v services.Validator
	in.check(&v)
	return v.Err()
}

func (in AgreementInput) check(v *services.Validator) {
	v.Check(in.BeneficiaryID != nil, "beneficiary_id", "is required")
	v.Check(in.BeneficiaryID == nil || *in.BeneficiaryID > 0, "beneficiary_id", "must be a positive id")
	services.CheckText(v, "employer", in.Employer, maxEmployer)
	v.Check(in.SIRET != nil, "siret", "is required")
	if in.SIRET != nil {
		_, err := NormaliseSIRET(*in.SIRET)
		v.Check(err == nil, "siret", errText(err))
	}
	oneOf(v, "sector", in.Sector, Sectors)
	oneOf(v, "contract_type", in.ContractType, ContractTypes)
	v.Check(in.StartsOn != nil, "starts_on", "is required")
	v.Check(in.EndsOn != nil, "ends_on", "is required")
	if in.StartsOn != nil && in.EndsOn != nil {
		v.Check(!in.EndsOn.Before(*in.StartsOn), "ends_on", "must not be before starts_on")
	}
	v.Check(in.Hours != nil, "hours", "is required")
	if in.Hours != nil {
		v.Check(in.Hours.IsPositive() && !in.Hours.GreaterThan(maxWeeklyHours), "hours", "must be the working hours per week, more than 0 and at most 60")
		v.Check(in.Hours.Equal(in.Hours.Truncate(2)), "hours", "must have at most two decimals")
	}
}

// AgreementChange closes an agreement early (EndsOn, earlier than the recorded end) or records
// the day the person's unemployment rights reopened (ReopenedOn; ClearReopened forgets a date
// recorded by mistake). Nil fields stay as they are.
type AgreementChange struct {
	EndsOn        *time.Time
	ReopenedOn    *time.Time
	ClearReopened bool
}

// Validate checks the change's own rules: there are none without the agreement.
func (AgreementChange) Validate(bool) error { return nil }

// AllocationInput records the allocation of one month of an agreement. Month (its first day)
// and Wages are required. Without RSAWithoutWages, the engine computes it from the rSa
// parameters in force on the first day of the month and the household: HouseholdSize (the
// beneficiary's when nil), HousingAid (false when nil) and OtherResources (0 when nil), which
// must not be given with RSAWithoutWages.
type AllocationInput struct {
	Month           *time.Time
	Wages           *decimal.Decimal
	RSAWithoutWages *decimal.Decimal
	HouseholdSize   *int
	HousingAid      *bool
	OtherResources  *decimal.Decimal
}

// Validate checks the input's own rules.
func (in AllocationInput) Validate(bool) error {
	var v services.Validator
	in.check(&v)
	return v.Err()
}

func (in AllocationInput) check(v *services.Validator) {
	v.Check(in.Month != nil, "month", "is required")
	v.Check(in.Month == nil || in.Month.Day() == 1, "month", `must be a month such as "2020-06"`)
	v.Check(in.Wages != nil, "wages", "is required")
	money.Validate(v, "wages", in.Wages)
	money.Validate(v, "rsa_without_wages", in.RSAWithoutWages)
	money.Validate(v, "other_resources", in.OtherResources)
	v.Check(in.HouseholdSize == nil || (*in.HouseholdSize >= 1 && *in.HouseholdSize <= maxHouseholdSize), "household_size", "must be a whole number from 1 to 20")
	if in.RSAWithoutWages != nil {
		const given = "must not be given with rsa_without_wages: the household only serves to compute it"
		v.Check(in.HouseholdSize == nil, "household_size", given)
		v.Check(in.HousingAid == nil, "housing_aid", given)
		v.Check(in.OtherResources == nil, "other_resources", given)
	}
}

func oneOf(v *services.Validator, field string, value *string, among []string) {
	v.Check(value != nil, field, "is required")
	v.Check(value == nil || slices.Contains(among, *value), field, "must be one of "+strings.Join(among, ", "))
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
