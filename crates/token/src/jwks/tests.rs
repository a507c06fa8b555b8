//! Writing and reading JWK Sets.

use serde_json::json;

use super::*;
use crate::keys::SigningKey;

fn key(alg: Algorithm) -> Arc<VerificationKey> {
    Arc::clone(SigningKey::generate(alg).unwrap().verification_key())
}

fn document(keys: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({ "keys": keys })).unwrap()
}

#[test]
fn round_trips_keys_of_every_algorithm() {
    let keys = vec![
        key(Algorithm::Es256),
        key(Algorithm::EdDsa),
        key(Algorithm::Rs256),
    ];
    let jwks = Jwks::new(keys.clone());

    let reread = Jwks::from_json(&serde_json::to_vec(&jwks).unwrap()).unwrap();

    let kids = |set: &[Arc<VerificationKey>]| -> Vec<(String, Algorithm)> {
        set.iter()
            .map(|k| (k.kid().to_owned(), k.algorithm()))
            .collect()
    };
    assert_eq!(kids(reread.keys()), kids(&keys));
    assert!(reread.find(keys[1].kid()).is_some());
}

#[test]
fn skips_keys_it_cannot_use() {
    let usable = serde_json::to_value(key(Algorithm::Es256).jwk()).unwrap();
    let mut for_encryption = serde_json::to_value(key(Algorithm::Es256).jwk()).unwrap();
    for_encryption["use"] = json!("enc");
    let mut without_kid = serde_json::to_value(key(Algorithm::EdDsa).jwk()).unwrap();
    without_kid.as_object_mut().unwrap().remove("kid");
    let mut rs384 = serde_json::to_value(key(Algorithm::Rs256).jwk()).unwrap();
    rs384["alg"] = json!("RS384");
    let p384 = json!({"kty": "EC", "crv": "P-384", "kid": "p384", "x": "AA", "y": "AA"});

    let jwks = Jwks::from_json(&document(json!([
        for_encryption,
        without_kid,
        rs384,
        p384,
        usable.clone()
    ])))
    .unwrap();

    assert_eq!(jwks.keys().len(), 1);
    assert_eq!(jwks.keys()[0].kid(), usable["kid"]);
}

#[test]
fn infers_the_algorithm_from_the_key_type_when_alg_is_absent() {
    let mut jwk = serde_json::to_value(key(Algorithm::EdDsa).jwk()).unwrap();
    jwk.as_object_mut().unwrap().remove("alg");

    let jwks = Jwks::from_json(&document(json!([jwk]))).unwrap();

    assert_eq!(jwks.keys()[0].algorithm(), Algorithm::EdDsa);
}

#[test]
fn refuses_a_document_publishing_a_private_key() {
    let mut jwk = serde_json::to_value(key(Algorithm::Es256).jwk()).unwrap();
    jwk["d"] = json!("c2VjcmV0");

    let error = Jwks::from_json(&document(json!([jwk]))).unwrap_err();

    assert_eq!(
        error.to_string(),
        "JWKS key 0 publishes the private member `d`"
    );
}

#[test]
fn refuses_an_alg_that_contradicts_the_key_type() {
    let mut jwk = serde_json::to_value(key(Algorithm::Es256).jwk()).unwrap();
    jwk["alg"] = json!("RS256");
    let kid = jwk["kid"].as_str().unwrap().to_owned();

    let error = Jwks::from_json(&document(json!([jwk]))).unwrap_err();

    assert_eq!(
        error.to_string(),
        format!("JWKS key `{kid}` declares `alg` `RS256` for a key of type `EC`")
    );
}

#[test]
fn refuses_a_repeated_kid() {
    let one = serde_json::to_value(key(Algorithm::Es256).jwk()).unwrap();
    let mut two = serde_json::to_value(key(Algorithm::Es256).jwk()).unwrap();
    two["kid"] = one["kid"].clone();

    let error = Jwks::from_json(&document(json!([one, two]))).unwrap_err();

    assert!(matches!(error, JwksError::DuplicateKid { .. }), "{error}");
}

#[test]
fn refuses_broken_documents() {
    let cases: [(&[u8], &str); 4] = [
        (b"{}", "JWKS has no `keys` array"),
        (br#"{"keys":{}}"#, "JWKS has no `keys` array"),
        (
            br#"{"keys":[1]}"#,
            "JWKS key 0: member `keys` must be an object",
        ),
        (br#"{"keys":[],"keys":[]}"#, "JWKS: duplicate member `keys`"),
    ];
    for (text, message) in cases {
        let error = Jwks::from_json(text).unwrap_err();

        assert_eq!(error.to_string(), message);
    }
}

#[test]
fn refuses_a_usable_key_with_broken_material() {
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": "AAAA"});

    let error = Jwks::from_json(&document(json!([jwk]))).unwrap_err();

    assert!(
        matches!(error, JwksError::InvalidKey { ref kid, .. } if kid == "k"),
        "{error}"
    );
}

#[test]
fn strips_leading_zeros_from_rsa_moduli() {
    let mut jwk = serde_json::to_value(key(Algorithm::Rs256).jwk()).unwrap();
    let kid = jwk["kid"].as_str().unwrap().to_owned();
    let mut n = crate::jws::decode_member(jwk["n"].as_str().unwrap()).unwrap();
    n.insert(0, 0);
    jwk["n"] = json!(crate::jws::encode(&n));

    let jwks = Jwks::from_json(&document(json!([jwk]))).unwrap();

    assert_eq!(jwks.keys()[0].jwk().thumbprint(), kid);
}
