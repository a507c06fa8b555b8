//! Key generation, PKCS#8 round trips, JWK output and thumbprints.

use super::*;

const ALL: [Algorithm; 3] = [Algorithm::Es256, Algorithm::EdDsa, Algorithm::Rs256];

fn b64(text: &str) -> Vec<u8> {
    jws::decode_member(text).unwrap()
}

#[test]
fn thumbprint_matches_the_rfc7638_example() {
    // RFC 7638 §3.1: the example RSA key and its published thumbprint.
    let n = b64(concat!(
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS",
        "oc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65",
        "YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyr",
        "dkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzK",
        "nqDKgw",
    ));
    let jwk = Jwk::new(
        "2011-04-29".into(),
        Algorithm::Rs256,
        PublicMaterial::Rsa { n, e: b64("AQAB") },
    );

    assert_eq!(
        jwk.thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    assert!(VerificationKey::from_jwk(jwk).is_ok());
}

#[test]
fn generated_keys_sign_what_their_public_key_verifies() {
    for alg in ALL {
        let key = SigningKey::generate(alg).unwrap();

        let signature = key.signature(b"message").unwrap();

        assert!(
            key.verification_key().verifies(b"message", &signature),
            "{alg}"
        );
        assert!(
            !key.verification_key().verifies(b"massage", &signature),
            "{alg}"
        );
    }
}

#[test]
fn es256_signatures_are_64_byte_fixed_form() {
    let key = SigningKey::generate(Algorithm::Es256).unwrap();

    let signature = key.signature(b"message").unwrap();

    // RFC 7518 §3.4: R and S as 32-byte big-endian values, not DER.
    assert_eq!(signature.len(), 64);
}

#[test]
fn kid_is_the_thumbprint_and_survives_pkcs8() {
    for alg in ALL {
        let (key, der) = SigningKey::generate_with_pkcs8(alg).unwrap();

        let reread = SigningKey::from_pkcs8(alg, &der).unwrap();

        assert_eq!(key.kid(), key.verification_key().jwk().thumbprint());
        assert_eq!(reread.kid(), key.kid(), "{alg}");
        assert_eq!(key.kid().len(), 43);
    }
}

#[test]
fn pkcs8_of_another_algorithm_is_rejected() {
    let (_, der) = SigningKey::generate_with_pkcs8(Algorithm::EdDsa).unwrap();

    let error = SigningKey::from_pkcs8(Algorithm::Es256, &der).unwrap_err();

    assert!(
        matches!(
            error,
            KeyError::Rejected {
                alg: Algorithm::Es256,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn jwk_has_public_members_only() {
    let expected = [
        (
            Algorithm::Es256,
            vec!["alg", "crv", "kid", "kty", "use", "x", "y"],
        ),
        (
            Algorithm::EdDsa,
            vec!["alg", "crv", "kid", "kty", "use", "x"],
        ),
        (Algorithm::Rs256, vec!["alg", "e", "kid", "kty", "n", "use"]),
    ];
    for (alg, members) in expected {
        let key = SigningKey::generate(alg).unwrap();

        let jwk = serde_json::to_value(key.verification_key().jwk()).unwrap();

        let names: Vec<&String> = jwk.as_object().unwrap().keys().collect();
        assert_eq!(names, members, "{alg}");
        assert_eq!(jwk["alg"], alg.as_str());
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["kid"], key.kid());
    }
}

#[test]
fn rsa_keys_under_2048_bits_are_rejected() {
    let n = vec![0xC5; 128];
    let jwk = Jwk::new(
        "small".into(),
        Algorithm::Rs256,
        PublicMaterial::Rsa {
            n,
            e: vec![1, 0, 1],
        },
    );

    let error = VerificationKey::from_jwk(jwk).unwrap_err();

    assert_eq!(
        error.to_string(),
        "RSA key has 1024 bits; at least 2048 are required"
    );
}

#[test]
fn ec_points_off_the_curve_are_rejected() {
    let material = PublicMaterial::P256 {
        x: vec![1; 32],
        y: vec![2; 32],
    };
    let jwk = Jwk::new("bad".into(), Algorithm::Es256, material);

    let error = VerificationKey::from_jwk(jwk).unwrap_err();

    assert!(
        matches!(
            error,
            KeyError::Rejected {
                alg: Algorithm::Es256,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn modulus_bits_ignores_leading_zeros() {
    assert_eq!(modulus_bits(&[0, 0, 0x80, 0]), 16);
    assert_eq!(modulus_bits(&[0, 1]), 1);
    assert_eq!(modulus_bits(&[0, 0]), 0);
}

#[test]
fn debug_output_shows_no_key_material() {
    let key = SigningKey::generate(Algorithm::Es256).unwrap();

    let shown = format!("{key:?}");

    assert_eq!(
        shown,
        format!("SigningKey {{ kid: {:?}, alg: Es256, .. }}", key.kid())
    );
}

#[test]
fn algorithm_names_are_the_jose_names() {
    for alg in ALL {
        assert_eq!(alg.as_str().parse::<Algorithm>(), Ok(alg));
        assert_eq!(serde_json::to_string(&alg).unwrap(), format!("\"{alg}\""));
    }
    assert_eq!(Algorithm::default(), Algorithm::Es256);
    assert_eq!(
        "es256".parse::<Algorithm>().unwrap_err().to_string(),
        "unknown signing algorithm `es256`; expected `ES256`, `EdDSA` or `RS256`"
    );
}
