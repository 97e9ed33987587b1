package services

// AnyVersion, given as the expected version of an optimistic update, skips the version
// check (the client sent If-Match: *).
const AnyVersion = 0
