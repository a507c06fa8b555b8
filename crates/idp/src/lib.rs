//! Development OAuth 2.0 authorization server at Okta's org-server paths.
