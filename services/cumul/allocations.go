package cumul

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/money"
)

// EnvelopeError refuses an allocation that would take the year's total past the envelope:
// it says how much is left. errors.Is(err, services.ErrConflict) holds.
type EnvelopeError struct {
	Year      int
	Budget    decimal.Decimal // the amount of the year's budget line
	Allocated decimal.Decimal // what the year's allocations already charged to it
	Requested decimal.Decimal // the allocation refused
}

// Remaining is what is left of the envelope.
func (e *EnvelopeError) Remaining() decimal.Decimal { return e.Budget.Sub(e.Allocated) }

func (e *EnvelopeError) Error() string {
	return fmt.Sprintf("an allocation of %s € would take the %d envelope (%s €) past its amount: %s € left",
		money.String(e.Requested), e.Year, money.String(e.Budget), money.String(e.Remaining()))
}

// Is makes errors.Is(err, services.ErrConflict) true for an *EnvelopeError.
func (e *EnvelopeError) Is(target error) bool { return target == services.ErrConflict }

// Allocate records the allocation of one month of agreement id and audits it.
// Administrators and agents (of the beneficiary's territory; else services.ErrNotFound)
// allocate. The month must be one the agreement covers, not after the current month, and not
// start after the reopening of the person's unemployment rights; one allocation per agreement
// and month (a *services.DuplicateError). Without a given rSa, the engine computes it from the
// parameters in force on the first day of the month. The allocation is charged to the
// envelope of the month's year, whose budget line is locked: an allocation that would take the
// year's total past the line's amount is an *EnvelopeError, and two requests can never both
// take what is left. A year without envelope is a *services.ValidationError naming month.
func (s *Service) Allocate(ctx context.Context, id int64, in AllocationInput) (Allocation, error) {
	p, err := caller(ctx, "record cumul allocations", caseworkers...)
	if err != nil {
		return Allocation{}, err
	}
	var v services.Validator
	in.check(&v)
	if err := v.Err(); err != nil {
		return Allocation{}, err
	}
	var out Allocation
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		a, err := findAgreement(tx, p, id, "SHARE")
		if err != nil {
			return err
		}
		month := *in.Month
		if err := s.checkMonth(a, month); err != nil {
			return err
		}
		row := models.CumulAllocation{Departement: p.Departement, AgreementID: a.ID, Month: month, Wages: *in.Wages}
		if err := rsaOf(tx, a, in, &row); err != nil {
			return err
		}
		if err := charge(tx, a, &row); err != nil {
			return err
		}
		if err := services.Insert(ctx, tx, &row, &row.ID, allocationResource, "the allocation of "+monthString(month)); err != nil {
			return err
		}
		out = allocationOf(row, a.BeneficiaryID)
		return nil
	})
	return out, err
}

// Allocations returns the allocations of agreement id, which the caller must see, by id, one
// keyset page at a time, and audits the read of each one returned.
func (s *Service) Allocations(ctx context.Context, id int64, page services.PageRequest) (services.Page[Allocation], error) {
	p, err := caller(ctx, "read cumul allocations", caseworkers...)
	if err != nil {
		return services.Page[Allocation]{}, err
	}
	var v services.Validator
	after := services.AfterID(&v, page)
	if err := v.Err(); err != nil {
		return services.Page[Allocation]{}, err
	}
	var out services.Page[Allocation]
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		a, err := findAgreement(tx, p, id, "")
		if err != nil {
			return err
		}
		var rows []models.CumulAllocation
		if err := tx.Where("agreement_id = ? AND id > ?", id, after).Order("id").Limit(page.Limit + 1).Find(&rows).Error; err != nil {
			return fmt.Errorf("read the allocations of agreement %d: %w", id, err)
		}
		items := make([]Allocation, len(rows))
		for i, r := range rows {
			items[i] = allocationOf(r, a.BeneficiaryID)
		}
		out, err = services.AuditedPage(ctx, tx, allocationResource, items, page.Limit, func(al Allocation) int64 { return al.ID })
		return err
	})
	return out, err
}

// charge works out the amount of row, an allocation of agreement a, and charges it to the
// envelope of its year, whose line it locks first: from then on the checks that depend on the
// other allocations (the month still free, what the person's other agreements took, what is
// left of the envelope) run one transaction at a time.
func charge(tx *gorm.DB, a models.CumulAgreement, row *models.CumulAllocation) error {
	line, err := lockEnvelope(tx, row.Departement, row.Month.Year())
	if err != nil {
		return err
	}
	row.BudgetLineID = line.ID
	if err := checkMonthFree(tx, a.ID, row.Month); err != nil {
		return err
	}
	if row.OtherAllocated, err = otherAllocated(tx, a, row.Month); err != nil {
		return err
	}
	row.Amount = Allocate(row.Wages, row.RSAWithoutWages, row.OtherAllocated).Allocation
	return checkEnvelope(tx, line, row.Month.Year(), row.Amount)
}

// checkMonth refuses, naming month, a month agreement a does not cover, one after the current
// month, and one starting after the reopening of the person's unemployment rights.
func (s *Service) checkMonth(a models.CumulAgreement, month time.Time) error {
	var v services.Validator
	reopened, reopenedOn := a.UnemploymentRightsReopenedOn, ""
	if reopened != nil {
		reopenedOn = reopened.Format(time.DateOnly)
	}
	checkFirst(&v, "month",
		rule{month.After(a.EndsOn) || lastOfMonth(month).Before(a.StartsOn),
			fmt.Sprintf("must be a month the agreement covers (%s to %s)", a.StartsOn.Format(time.DateOnly), a.EndsOn.Format(time.DateOnly))},
		rule{month.After(firstOfMonth(s.now().UTC())), "must not be after the current month"},
		rule{reopened != nil && month.After(*reopened), "must not start after the reopening of the unemployment rights (" + reopenedOn + ")"})
	return v.Err()
}

// rsaOf sets the rSa without the wages of row: the one given, or the engine's from the
// parameters in force on the first day of the month and the household (by default the
// beneficiary's size, no housing aid, no other resources), kept with the allocation.
func rsaOf(tx *gorm.DB, a models.CumulAgreement, in AllocationInput, row *models.CumulAllocation) error {
	if in.RSAWithoutWages != nil {
		row.RSAWithoutWages = *in.RSAWithoutWages
		return nil
	}
	params, ok, err := loadParameters(tx, row.Month)
	if err != nil {
		return err
	}
	if !ok {
		return &services.ValidationError{Fields: []services.FieldError{{Field: "rsa_without_wages",
			Message: "is required: no rSa parameters are in force on " + row.Month.Format(time.DateOnly)}}}
	}
	h := Household{HousingAid: in.HousingAid != nil && *in.HousingAid}
	if in.HouseholdSize != nil {
		h.Size = *in.HouseholdSize
	} else if err := tx.Model(&models.Beneficiary{}).Where("id = ?", a.BeneficiaryID).Pluck("household_size", &h.Size).Error; err != nil {
		return fmt.Errorf("read the household of beneficiary %d: %w", a.BeneficiaryID, err)
	}
	if in.OtherResources != nil {
		h.OtherResources = *in.OtherResources
	}
	r := ComputeRSA(params, h)
	row.RSAWithoutWages = r.Amount
	row.ParametersValidFrom, row.HouseholdSize, row.HousingAid = &params.ValidFrom, &h.Size, &h.HousingAid
	row.OtherResources, row.OnePersonAmount = decimal.NewNullDecimal(h.OtherResources), decimal.NewNullDecimal(params.OnePersonAmount)
	row.Multiplier, row.HouseholdAmount = decimal.NewNullDecimal(r.Multiplier), decimal.NewNullDecimal(r.HouseholdAmount)
	row.HousingDeduction = decimal.NewNullDecimal(r.HousingDeduction)
	if h.HousingAid {
		row.HousingRate = decimal.NewNullDecimal(r.HousingRate)
	}
	return nil
}

// envelopeSQL finds the budget line of the scheme's fiche in @year whose label is the
// scheme's, comparing labels with typographic apostrophes read as straight ones; locked FOR
// UPDATE when @lock.
const envelopeSQL = `SELECT bl.*
FROM budget_lines bl
JOIN actions a ON a.id = bl.action_id
JOIN cumul_schemes s ON s.departement = a.departement AND s.action_code = a.code
WHERE a.departement = @departement AND a.year = @year
  AND btrim(replace(bl.label, '’', '''')) = btrim(replace(s.budget_line_label, '’', ''''))
ORDER BY bl.id
LIMIT 1`

// findEnvelope reads the envelope line of year, locked FOR UPDATE when lock; ok is false when
// the year has none (no scheme, no fiche that year, or no such line).
func findEnvelope(tx *gorm.DB, departement string, year int, lock bool) (line models.BudgetLine, ok bool, err error) {
	query := envelopeSQL
	if lock {
		query += " FOR UPDATE OF bl"
	}
	var rows []models.BudgetLine
	if err := tx.Raw(query, map[string]any{"departement": departement, "year": year}).Scan(&rows).Error; err != nil {
		return line, false, fmt.Errorf("read the cumul envelope of %d: %w", year, err)
	}
	if len(rows) == 0 {
		return line, false, nil
	}
	return rows[0], true, nil
}

// lockEnvelope reads and locks the envelope line of year: allocations of that year are
// charged one transaction at a time. A year without envelope is a validation error on month.
func lockEnvelope(tx *gorm.DB, departement string, year int) (models.BudgetLine, error) {
	line, ok, err := findEnvelope(tx, departement, year, true)
	if err != nil || ok {
		return line, err
	}
	return line, &services.ValidationError{Fields: []services.FieldError{{Field: "month",
		Message: fmt.Sprintf("has no envelope: the convention has no cumul budget line for %d", year)}}}
}

// allocatedOn sums the allocations charged to budget line id.
func allocatedOn(tx *gorm.DB, id int64) (decimal.Decimal, error) {
	var sum decimal.Decimal
	if err := tx.Raw(`SELECT coalesce(sum(amount), 0) FROM cumul_allocations WHERE budget_line_id = ?`, id).Scan(&sum).Error; err != nil {
		return sum, fmt.Errorf("sum the allocations of budget line %d: %w", id, err)
	}
	return sum, nil
}

// checkEnvelope refuses amount when it would take what line's year already allocated past the
// line's amount.
func checkEnvelope(tx *gorm.DB, line models.BudgetLine, year int, amount decimal.Decimal) error {
	allocated, err := allocatedOn(tx, line.ID)
	if err != nil {
		return err
	}
	if allocated.Add(amount).GreaterThan(line.Amount) {
		return &EnvelopeError{Year: year, Budget: line.Amount, Allocated: allocated, Requested: amount}
	}
	return nil
}

// checkMonthFree refuses a second allocation of agreement id for month, naming the first.
func checkMonthFree(tx *gorm.DB, id int64, month time.Time) error {
	var ids []int64
	if err := tx.Model(&models.CumulAllocation{}).Where("agreement_id = ? AND month = ?", id, month).Pluck("id", &ids).Error; err != nil {
		return fmt.Errorf("look for the allocation of %s: %w", monthString(month), err)
	}
	if len(ids) > 0 {
		return &services.DuplicateError{Resource: allocationResource, ExistingID: ids[0], Reason: "the agreement's allocation of " + monthString(month)}
	}
	return nil
}

// otherAllocated sums what the person's other agreements were allocated for month.
func otherAllocated(tx *gorm.DB, a models.CumulAgreement, month time.Time) (decimal.Decimal, error) {
	var sum decimal.Decimal
	err := tx.Raw(`SELECT coalesce(sum(al.amount), 0) FROM cumul_allocations al
		JOIN cumul_agreements ag ON ag.id = al.agreement_id
		WHERE ag.beneficiary_id = ? AND al.agreement_id <> ? AND al.month = ?`, a.BeneficiaryID, a.ID, month).Scan(&sum).Error
	if err != nil {
		return sum, fmt.Errorf("sum the person's other allocations of %s: %w", monthString(month), err)
	}
	return sum, nil
}

func allocationOf(r models.CumulAllocation, beneficiaryID int64) Allocation {
	out := Allocation{ID: r.ID, AgreementID: r.AgreementID, BeneficiaryID: beneficiaryID, BudgetLineID: r.BudgetLineID,
		Month: r.Month, Wages: r.Wages, RSAWithoutWages: r.RSAWithoutWages, OtherAllocated: r.OtherAllocated,
		RSAWithWages: Allocate(r.Wages, r.RSAWithoutWages, r.OtherAllocated).RSAWithWages, Amount: r.Amount, CreatedAt: r.CreatedAt}
	if r.ParametersValidFrom != nil {
		out.Parameters = &UsedParameters{ValidFrom: *r.ParametersValidFrom, OnePersonAmount: r.OnePersonAmount.Decimal,
			HouseholdSize: deref(r.HouseholdSize), Multiplier: r.Multiplier.Decimal, HouseholdAmount: r.HouseholdAmount.Decimal,
			HousingAid: deref(r.HousingAid), HousingRate: r.HousingRate, HousingDeduction: r.HousingDeduction.Decimal,
			OtherResources: r.OtherResources.Decimal}
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
