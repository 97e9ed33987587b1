package cumul

import (
	"time"

	"github.com/shopspring/decimal"

	"parcours/services/money"
)

// Parameters are the national rSa parameters in force from ValidFrom: the montant forfaitaire
// for one person, the multiplier of each household size listed (the largest listed plus
// FurtherPersonIncrement per person beyond it), and the forfait logement rate of each
// household size listed (the largest listed applies to larger households), a share of the
// montant forfaitaire of that size.
type Parameters struct {
	ValidFrom              time.Time
	OnePersonAmount        decimal.Decimal
	Multipliers            map[int]decimal.Decimal
	FurtherPersonIncrement decimal.Decimal
	HousingRates           map[int]decimal.Decimal
}

// largestAtMost is the largest key of m at most size (0 when none).
func largestAtMost(m map[int]decimal.Decimal, size int) int {
	best := 0
	for k := range m {
		if k <= size && k > best {
			best = k
		}
	}
	return best
}

// Multiplier is the multiplier of the montant forfaitaire for a household of size persons.
func (p Parameters) Multiplier(size int) decimal.Decimal {
	listed := largestAtMost(p.Multipliers, size)
	if listed == 0 {
		return decimal.Zero
	}
	return p.Multipliers[listed].Add(p.FurtherPersonIncrement.Mul(decimal.NewFromInt(int64(size - listed))))
}

// HouseholdAmount is the montant forfaitaire of a household of size persons, rounded to the
// cent: the one-person amount × the multiplier.
func (p Parameters) HouseholdAmount(size int) decimal.Decimal {
	return money.Cents(p.OnePersonAmount.Mul(p.Multiplier(size)))
}

// HousingRate is the forfait logement rate of a household of size persons and the household
// size whose montant forfaitaire it applies to (the largest size listed, at most size).
func (p Parameters) HousingRate(size int) (rate decimal.Decimal, baseSize int) {
	baseSize = largestAtMost(p.HousingRates, size)
	return p.HousingRates[baseSize], baseSize
}

// HousingDeduction is the forfait logement of a household of size persons, rounded to the
// cent: its rate × the montant forfaitaire of the size the rate applies to.
func (p Parameters) HousingDeduction(size int) decimal.Decimal {
	rate, base := p.HousingRate(size)
	if base == 0 {
		return decimal.Zero
	}
	return money.Cents(rate.Mul(p.HouseholdAmount(base)))
}

// Household is what the engine needs to know of a beneficiary's household for a month.
type Household struct {
	Size           int
	HousingAid     bool            // the household receives a housing aid: the forfait logement is deducted
	OtherResources decimal.Decimal // resources counted in the rSa other than the wages of the agreement
}

// RSA is the rSa of a household without the wages, and how it was worked out.
type RSA struct {
	Parameters       Parameters
	Household        Household
	Multiplier       decimal.Decimal
	HouseholdAmount  decimal.Decimal
	HousingRate      decimal.Decimal // zero without housing aid
	HousingDeduction decimal.Decimal // zero without housing aid
	Amount           decimal.Decimal
}

// ComputeRSA is the rSa of household h under p, without the wages: the montant forfaitaire
// of its size, minus the forfait logement when it has a housing aid, minus its other
// resources, never below zero. Each term is rounded to the cent (money.Cents), as the CAF
// publishes them, so the amount is exact to the cent.
func ComputeRSA(p Parameters, h Household) RSA {
	r := RSA{Parameters: p, Household: h, Multiplier: p.Multiplier(h.Size), HouseholdAmount: p.HouseholdAmount(h.Size)}
	if h.HousingAid {
		r.HousingRate, _ = p.HousingRate(h.Size)
		r.HousingDeduction = p.HousingDeduction(h.Size)
	}
	r.Amount = decimal.Max(decimal.Zero, r.HouseholdAmount.Sub(r.HousingDeduction).Sub(h.OtherResources))
	return r
}

// Share is one month of the scheme for one agreement: what the rSa would be with the wages
// counted, and what the département pays because they are not.
type Share struct {
	RSAWithWages decimal.Decimal
	Allocation   decimal.Decimal
}

// Allocate splits the rSa without the wages, rsa, once otherAllocated (what the person's other
// agreements were already allocated for the month) is taken out: the rSa with the wages
// counted is max(0, rsa − otherAllocated − wages), and the allocation what the wages would
// have taken off, max(0, min(wages, rsa − otherAllocated)), rounded to the cent. With no
// other agreement, the allocation is min(wages, rsa).
func Allocate(wages, rsa, otherAllocated decimal.Decimal) Share {
	left := decimal.Max(decimal.Zero, rsa.Sub(otherAllocated))
	return Share{
		RSAWithWages: money.Cents(decimal.Max(decimal.Zero, left.Sub(wages))),
		Allocation:   money.Cents(decimal.Min(wages, left)),
	}
}
