package indicators_test

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/budget"
	"parcours/services/indicators"
	"parcours/services/servicetest"
)

func ptr[T any](v T) *T { return &v }

func seeded(t *testing.T, registry *indicators.Registry) (*indicators.Service, *gorm.DB, context.Context) {
	t.Helper()
	db := servicetest.NewDB(t)
	doc, err := budget.Convention2020()
	require.NoError(t, err)
	ctx := servicetest.As(servicetest.Admin47)
	_, err = budget.Seed(ctx, db, doc)
	require.NoError(t, err)
	return indicators.New(db, registry), db, ctx
}

func TestSeededDefinitionsAndTargets(t *testing.T) {
	svc, _, ctx := seeded(t, nil)
	ind, err := svc.Get(ctx, "3.1.new_entrants_oriented_1_month")
	require.NoError(t, err)
	assert.Equal(t, "national", ind.Scope)
	assert.Equal(t, "computed", ind.Method)
	assert.Equal(t, map[string]float64{"threshold_days": 30}, ind.Params)

	for code, days := range map[string]float64{
		"4.2.first_appointments_2_weeks": 14, "4.2.first_contracts_2_months": 60,
		"4.3.first_appointments_2_weeks": 14, "4.3.first_contracts_2_months": 60,
	} {
		ind, err := svc.Get(ctx, code)
		require.NoError(t, err, code)
		assert.Equal(t, days, ind.Params["threshold_days"], code)
	}
	for _, code := range []string{"3.1.new_entrants", "4.2.first_appointments", "4.2.first_contracts", "4.3.first_appointments", "4.3.first_contracts"} {
		_, err := svc.Get(ctx, code)
		assert.NoError(t, err, code)
	}

	delay, err := svc.Get(ctx, "3.1.orientation_delay_days")
	require.NoError(t, err)
	var days []string
	for _, tg := range delay.Targets {
		days = append(days, tg.Value.String()+" "+tg.Comparator)
	}
	assert.Equal(t, []string{"90 lte", "60 lte", "30 lte"}, days, "3/2/1 months for 2019/2020/2021")

	global, err := svc.Get(ctx, "4.1.people_accompanied")
	require.NoError(t, err)
	require.Len(t, global.Targets, 1)
	assert.Equal(t, "490", global.Targets[0].Value.String())

	eviction, err := svc.Get(ctx, "6.2.eviction_order_rate")
	require.NoError(t, err)
	assert.Equal(t, "lt", eviction.Targets[0].Comparator, "below 50 %")
}

func TestReportUsesTheRegistry(t *testing.T) {
	registry := indicators.NewRegistry()
	var asked indicators.Query
	registry.Register("3.1.new_entrants_oriented_1_month", func(_ context.Context, _ *gorm.DB, q indicators.Query) (decimal.NullDecimal, error) {
		asked = q
		return decimal.NewNullDecimal(decimal.NewFromInt(42)), nil
	})
	svc, _, ctx := seeded(t, registry)

	rep, err := svc.Report(ctx, indicators.ReportFilter{Year: 2020, ActionCode: "3.1"})
	require.NoError(t, err)
	require.Len(t, rep.Rows, 5)
	byCode := map[string]indicators.ReportRow{}
	for _, r := range rep.Rows {
		assert.Equal(t, "3.1", r.ActionCode)
		byCode[r.Code] = r
	}
	assert.Equal(t, "42", byCode["3.1.new_entrants_oriented_1_month"].Value.Decimal.String())
	assert.Equal(t, indicators.Query{Departement: "47", Year: 2020, Params: map[string]float64{"threshold_days": 30}}, asked)
	assert.False(t, byCode["3.1.new_entrants"].Value.Valid, "not registered: no value")
	require.NotNil(t, byCode["3.1.orientation_delay_days"].Target)
	assert.Equal(t, "60", byCode["3.1.orientation_delay_days"].Target.Value.String(), "2 months in 2020")
	assert.Nil(t, byCode["3.1.new_entrants"].Target)

	all, err := svc.Report(ctx, indicators.ReportFilter{Year: 2020})
	require.NoError(t, err)
	assert.Len(t, all.Rows, 77)

	assert.Panics(t, func() { registry.Register("3.1.new_entrants_oriented_1_month", nil) })
}

func TestCreateAndUpdateDefinitions(t *testing.T) {
	svc, db, ctx := seeded(t, nil)
	in := indicators.Input{ActionCode: ptr("4.4"), Scope: ptr("departmental"), Label: ptr("Allocations versées"),
		Unit: ptr("amount"), Method: ptr("computed"),
		Targets: &[]indicators.Target{{Year: 2021, Value: decimal.NewFromInt(200000), Comparator: "lte"}}}
	ind, err := svc.Create(ctx, "4.4.allocations_paid", in)
	require.NoError(t, err)
	assert.Equal(t, 1, ind.Version)
	assert.Len(t, ind.Targets, 1)
	assert.Empty(t, ind.Params)

	_, err = svc.Create(ctx, "4.4.allocations_paid", in)
	assert.ErrorIs(t, err, services.ErrConflict)

	updated, err := svc.Update(ctx, "4.4.allocations_paid", 1, indicators.Input{
		Params:  &map[string]float64{"threshold_days": 45},
		Targets: &[]indicators.Target{{Year: 2020, Value: decimal.NewFromInt(50000), Comparator: "lte"}, {Year: 2021, Value: decimal.NewFromInt(150000), Comparator: "lte"}},
	})
	require.NoError(t, err)
	assert.Equal(t, 2, updated.Version)
	assert.Equal(t, "Allocations versées", updated.Label)
	assert.Equal(t, float64(45), updated.Params["threshold_days"])
	require.Len(t, updated.Targets, 2)
	assert.Equal(t, "150000", updated.Targets[1].Value.String(), "targets were replaced")

	_, err = svc.Update(ctx, "4.4.allocations_paid", 1, indicators.Input{Label: ptr("x")})
	assert.ErrorIs(t, err, services.ErrPreconditionFailed)
	_, err = svc.Update(ctx, "9.9.none", services.AnyVersion, indicators.Input{Label: ptr("x")})
	assert.ErrorIs(t, err, services.ErrNotFound)

	var n int64
	require.NoError(t, db.Table("audit_events").Where("resource = 'indicator' AND resource_id = '4.4.allocations_paid'").Count(&n).Error)
	assert.Equal(t, int64(2), n)
}

func TestDefinitionRules(t *testing.T) {
	svc, _, ctx := seeded(t, nil)
	valid := func() indicators.Input {
		return indicators.Input{ActionCode: ptr("4.4"), Scope: ptr("national"), Label: ptr("x"), Unit: ptr("count"), Method: ptr("declared")}
	}
	tests := []struct {
		name   string
		code   string
		in     func() indicators.Input
		fields []string
	}{
		{"empty", "4.4.x", func() indicators.Input { return indicators.Input{} }, []string{"action_code", "label", "scope", "unit", "method"}},
		{"code of another fiche", "4.3.x", valid, []string{"code"}},
		{"code not snake case", "4.4.Bad-Name", valid, []string{"code"}},
		{"enums", "4.4.x", func() indicators.Input {
			in := valid()
			in.Scope, in.Unit, in.Method = ptr("regional"), ptr("euros"), ptr("guessed")
			return in
		}, []string{"scope", "unit", "method"}},
		{"targets", "4.4.x", func() indicators.Input {
			in := valid()
			in.Targets = &[]indicators.Target{{Year: 1999, Comparator: "eq"}, {Year: 2020, Comparator: "about"}, {Year: 2020, Comparator: "eq"}}
			in.Params = &map[string]float64{"Bad": 1, "threshold_days": -1}
			return in
		}, []string{"targets[0].year", "targets[1].comparator", "targets[2].year", "params.Bad", "params.threshold_days"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.Create(ctx, tt.code, tt.in())
			var verr *services.ValidationError
			require.ErrorAs(t, err, &verr)
			var got []string
			for _, f := range verr.Fields {
				got = append(got, f.Field)
			}
			assert.ElementsMatch(t, tt.fields, got)
		})
	}
	in := valid()
	in.ActionCode = ptr("7.7")
	_, err := svc.Create(ctx, "7.7.x", in)
	var verr *services.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, "action_code", verr.Fields[0].Field, "the fiche must exist")
}
