package api_test

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"parcours/api"
)

// The router and openapi.yaml describe the same routes, no more, no less.
func TestRoutesAndSpecAgree(t *testing.T) {
	h := newHarness(t)
	doc, _ := loadSpec(t)

	var routed []string
	for _, r := range h.router.Routes() {
		routed = append(routed, api.RouteKey(r.Method, r.Path))
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	sort.Strings(routed)
	sort.Strings(documented)
	for _, r := range routed {
		assert.True(t, slices.Contains(documented, r), "route %s is missing from openapi.yaml", r)
	}
	for _, d := range documented {
		assert.True(t, slices.Contains(routed, d), "openapi.yaml documents %s, which no route serves", d)
	}
	assert.Contains(t, routed, "GET /api/v1/territories/{code}")
}

// Every /api/v1 operation declares bearer security and the roles it admits; public ones
// declare none.
func TestSpecDeclaresSecurity(t *testing.T) {
	doc, _ := loadSpec(t)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if strings.HasPrefix(path, "/api/v1/") || strings.HasPrefix(path, "/dashboard") {
				if assert.NotNil(t, op.Security, name) {
					assert.NotEmpty(t, *op.Security, "%s must require bearerAuth", name)
				}
				assert.Contains(t, op.Extensions, "x-roles", name)
				assert.Contains(t, op.Responses.Map(), "401", name)
			} else if op.Security != nil {
				assert.Empty(t, *op.Security, "%s is public", name)
			}
			assert.NotEmpty(t, op.OperationID, name)
			assert.Contains(t, op.Responses.Map(), "400", "%s: a malformed query string is a 400 on every route", name)
		}
	}
	assert.Contains(t, doc.Components.SecuritySchemes, "bearerAuth")
}
