package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCompareFindsEveryMismatch feeds compare the cases the load must catch: an
// acknowledged write missing, a refused or unanswered write present (its row, its audit row,
// its key), and the exact case.
func TestCompareFindsEveryMismatch(t *testing.T) {
	acked := &write{kind: "orientation", requestID: "o1", key: "o1", status: 201, entityID: 11}
	refused := &write{kind: "orientation", requestID: "o2", key: "o2", status: 503}
	lost := &write{kind: "orientation", requestID: "o3", key: "o3", status: 0}
	attended := &write{kind: "attendance", requestID: "a1", status: 200, target: 7, value: "present"}
	set := func(v ...string) map[string]bool {
		m := map[string]bool{}
		for _, s := range v {
			m[s] = true
		}
		return m
	}
	writes := []*write{acked, refused, lost, attended}
	for _, tc := range []struct {
		name                  string
		kind                  string
		found, audited, keys  map[string]bool
		wantProblems, wantAck int
	}{
		{"exact", "orientation", set("11"), set("o1", "a1"), set("o1"), 0, 1},
		{"acknowledged row missing", "orientation", set(), set("o1"), set("o1"), 1, 1},
		{"acknowledged audit row and key missing", "orientation", set("11"), set(), set(), 2, 1},
		{"unacknowledged write present", "orientation", set("11", "12"), set("o1", "o2"), set("o1", "o3"), 3, 1},
		{"attendance exact", "attendance", set("7:present:2"), set("a1"), set(), 0, 1},
		{"attendance with another value", "attendance", set("7:excused:2"), set("a1"), set(), 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := compare(tc.kind, writes, tc.found, tc.audited, tc.keys)
			assert.Len(t, c.problems, tc.wantProblems, "%v", c.problems)
			assert.Equal(t, tc.wantAck, c.acked)
		})
	}
}
