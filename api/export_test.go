package api

// PartnerScopes exposes the route → scope table to the tests of package api_test.
var PartnerScopes = partnerScopes
