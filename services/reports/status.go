package reports

import "github.com/shopspring/decimal"

// Status says where an indicator's value stands against its target of the year:
//
//   - StatusNoData without a value (nothing computed or declared yet), target or not;
//   - StatusNoTarget with a value but no target that year;
//   - StatusMet when value comparator target holds (eq: equal, lt: below, lte: at most, gt:
//     above, gte: at least), StatusBehind when it does not.
//
// An unknown comparator cannot be met: StatusBehind.
func Status(value, target decimal.NullDecimal, comparator string) string {
	switch {
	case !value.Valid:
		return StatusNoData
	case !target.Valid:
		return StatusNoTarget
	}
	c := value.Decimal.Cmp(target.Decimal)
	met := map[string]bool{"eq": c == 0, "lt": c < 0, "lte": c <= 0, "gt": c > 0, "gte": c >= 0}[comparator]
	if met {
		return StatusMet
	}
	return StatusBehind
}
