//! Access-token claims, signing keys, JWKS publication and verification.
