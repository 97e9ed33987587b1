package cumul_test

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"

	"parcours/services/cumul"
)

func eur(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// The rSa parameters of 1 April 2019, 2020 and 2021.
var (
	april2019 = cumul.NationalParameters[0]
	april2020 = cumul.NationalParameters[1]
	april2021 = cumul.NationalParameters[2]
)

func TestComputeRSAByDateHouseholdHousingAndResources(t *testing.T) {
	for _, tt := range []struct {
		name       string
		params     cumul.Parameters
		size       int
		housingAid bool
		other      string
		multiplier string
		household  string // the montant forfaitaire of the household
		housing    string // the forfait logement deducted
		rsa        string
	}{
		// 2020-04-01: 564.78 € for one person.
		{"1 person", april2020, 1, false, "0", "1", "564.78", "0.00", "564.78"},
		// 564.78 × 1.5 = 847.17
		{"2 persons", april2020, 2, false, "0", "1.5", "847.17", "0.00", "847.17"},
		// 564.78 × 1.8 = 1016.604 → 1016.60
		{"3 persons", april2020, 3, false, "0", "1.8", "1016.60", "0.00", "1016.60"},
		// 564.78 × 2.1 = 1186.038 → 1186.04
		{"4 persons", april2020, 4, false, "0", "2.1", "1186.04", "0.00", "1186.04"},
		// 2.1 + 0.4: 564.78 × 2.5 = 1411.95
		{"5 persons", april2020, 5, false, "0", "2.5", "1411.95", "0.00", "1411.95"},
		// 2.1 + 2 × 0.4: 564.78 × 2.9 = 1637.862 → 1637.86
		{"6 persons", april2020, 6, false, "0", "2.9", "1637.86", "0.00", "1637.86"},
		// Forfait logement 12 % × 564.78 = 67.7736 → 67.77; 564.78 − 67.77 = 497.01
		{"1 person, housing aid", april2020, 1, true, "0", "1", "564.78", "67.77", "497.01"},
		// 16 % × 847.17 = 135.5472 → 135.55; 847.17 − 135.55 = 711.62
		{"2 persons, housing aid", april2020, 2, true, "0", "1.5", "847.17", "135.55", "711.62"},
		// 16.5 % × 1016.60 = 167.739 → 167.74; 1016.60 − 167.74 = 848.86
		{"3 persons, housing aid", april2020, 3, true, "0", "1.8", "1016.60", "167.74", "848.86"},
		// 3 or more: 16.5 % of the three-person amount, 167.74; 1186.04 − 167.74 = 1018.30
		{"4 persons, housing aid", april2020, 4, true, "0", "2.1", "1186.04", "167.74", "1018.30"},
		// 1637.86 − 167.74 = 1470.12
		{"6 persons, housing aid", april2020, 6, true, "0", "2.9", "1637.86", "167.74", "1470.12"},
		// Other resources come off: 564.78 − 100 = 464.78
		{"other resources", april2020, 1, false, "100.00", "1", "564.78", "0.00", "464.78"},
		// 847.17 − 135.55 − 250.50 = 461.12
		{"housing aid and other resources", april2020, 2, true, "250.50", "1.5", "847.17", "135.55", "461.12"},
		// 497.01 − 600 < 0: no rSa
		{"resources above the rSa", april2020, 1, true, "600.00", "1", "564.78", "67.77", "0.00"},
		// 2019-04-01 (in force in March 2020): 559.74; 12 % × 559.74 = 67.1688 → 67.17; 492.57
		{"March 2020, 1 person, housing aid", april2019, 1, true, "0", "1", "559.74", "67.17", "492.57"},
		// 559.74 × 1.5 = 839.61; 16 % × 839.61 = 134.3376 → 134.34; 705.27
		{"March 2020, 2 persons, housing aid", april2019, 2, true, "0", "1.5", "839.61", "134.34", "705.27"},
		// 559.74 × 1.8 = 1007.532 → 1007.53; 16.5 % × 1007.53 = 166.24245 → 166.24; 841.29
		{"March 2020, 3 persons, housing aid", april2019, 3, true, "0", "1.8", "1007.53", "166.24", "841.29"},
		// 2021-04-01: 565.34; 12 % × 565.34 = 67.8408 → 67.84; 497.50
		{"April 2021, 1 person, housing aid", april2021, 1, true, "0", "1", "565.34", "67.84", "497.50"},
		// 565.34 × 1.8 = 1017.612 → 1017.61; 16.5 % × 1017.61 = 167.90565 → 167.91; 849.70
		{"April 2021, 3 persons, housing aid", april2021, 3, true, "0", "1.8", "1017.61", "167.91", "849.70"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := cumul.ComputeRSA(tt.params, cumul.Household{Size: tt.size, HousingAid: tt.housingAid, OtherResources: eur(tt.other)})
			assert.Equal(t, tt.multiplier, r.Multiplier.String())
			assert.Equal(t, tt.household, r.HouseholdAmount.StringFixed(2))
			assert.Equal(t, tt.housing, r.HousingDeduction.StringFixed(2))
			assert.Equal(t, tt.rsa, r.Amount.StringFixed(2))
		})
	}
}

func TestAllocateWagesAgainstTheRSA(t *testing.T) {
	for _, tt := range []struct {
		name, wages, rsa, other string
		withWages, allocation   string
	}{
		// Wages below the rSa: the rSa keeps 564.78 − 300 = 264.78, the département pays 300.
		{"wages below", "300.00", "564.78", "0", "264.78", "300.00"},
		{"wages equal", "564.78", "564.78", "0", "0.00", "564.78"},
		// Wages above: the rSa would drop to 0, the département pays the whole rSa.
		{"wages above", "1200.00", "564.78", "0", "0.00", "564.78"},
		{"no wages", "0", "564.78", "0", "564.78", "0.00"},
		{"no rSa", "800.00", "0", "0", "0.00", "0.00"},
		// A second employer the same month: 300 already allocated, 264.78 left to neutralise.
		{"other agreement, wages above what is left", "400.00", "564.78", "300.00", "0.00", "264.78"},
		{"other agreement, wages below what is left", "100.00", "564.78", "300.00", "164.78", "100.00"},
		{"other agreements took it all", "100.00", "500.00", "600.00", "0.00", "0.00"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := cumul.Allocate(eur(tt.wages), eur(tt.rsa), eur(tt.other))
			assert.Equal(t, tt.withWages, s.RSAWithWages.StringFixed(2))
			assert.Equal(t, tt.allocation, s.Allocation.StringFixed(2))
		})
	}
}

func TestNormaliseSIRET(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		err      error
	}{
		{"73282932000074", "73282932000074", nil},
		{"732 829 320 00074", "73282932000074", nil},
		{"73282932000075", "", cumul.ErrSIRETKey},
		{"7328293200007", "", cumul.ErrSIRETFormat},
		{"732829320000744", "", cumul.ErrSIRETFormat},
		{"7328293200007A", "", cumul.ErrSIRETFormat},
		{"", "", cumul.ErrSIRETFormat},
		// La Poste's head office passes Luhn; its establishments have a digit sum that is a
		// multiple of 5 instead (3+5+6+1 = 15), which Luhn would refuse.
		{"35600000000048", "35600000000048", nil},
		{"35600000000001", "35600000000001", nil},
		{"35600000049129", "", cumul.ErrSIRETKey}, // digit sum 39, nor Luhn
	} {
		got, err := cumul.NormaliseSIRET(tt.in)
		assert.ErrorIs(t, err, tt.err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}
