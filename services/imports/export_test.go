package imports

// WithSizes returns a copy of s that cuts files into chunks of chunkRows rows for the
// workers and batches of batchRows valid rows for the database, so that tests of a few rows
// go through many of each.
func (s *Service) WithSizes(chunkRows, batchRows int) *Service {
	c := *s
	c.sizes = sizes{chunkRows: chunkRows, batchRows: batchRows}
	return &c
}
