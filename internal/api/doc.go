// Package api holds the wire types of the mlopsd HTTP/JSON API. The control
// plane and the Go client both use these types, so a field is declared once
// and both sides agree on its JSON name by construction.
//
// Conventions (see DESIGN.md):
//   - objects are addressed /v1/environments/{env}/{kind}/{name}; an
//     environment itself is /v1/environments/{name};
//   - every object has Metadata (client-chosen name, server uid, generation,
//     opaque etag), a Spec the user declares and a Status the system observes;
//   - writes take an Idempotency-Key header and updates take If-Match;
//   - errors are an Error body {code, message, field}.
package api
