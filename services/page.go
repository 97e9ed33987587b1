package services

// Page limits for keyset pagination.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 500
)

// PageRequest asks for at most Limit items after the keyset position After (empty: from the
// start). The API decodes it from ?limit= and the opaque ?cursor=.
type PageRequest struct {
	Limit int
	After []string
}

// Page is one page of items and the keyset position to continue from (nil on the last page).
type Page[T any] struct {
	Items []T
	Next  []string
}

// PageOf cuts rows fetched with limit+1 to limit and derives the next position from the last
// kept row with key.
func PageOf[T any](rows []T, limit int, key func(T) []string) Page[T] {
	if len(rows) <= limit {
		return Page[T]{Items: rows}
	}
	rows = rows[:limit]
	return Page[T]{Items: rows, Next: key(rows[len(rows)-1])}
}
