//! Raw bearer strings through `dangerous::decode_unverified` and the verifier.
//!
//! Invariants:
//! * neither panics, whatever the string;
//! * both apply the same structural rules: the display decoder refuses a string exactly when
//!   the verifier refuses it for its structure, with the same error;
//! * a decoded header and claim set are JSON objects.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scopegate_fuzz::token::fixture;
use scopegate_token::VerifyError;
use scopegate_token::dangerous::decode_unverified;

fuzz_target!(|data: &[u8]| {
    // An `Authorization` header that is not text never reaches the token crate.
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };

    let decoded = decode_unverified(token);
    let verified = fixture().verifier.verify(token);

    match (&decoded, &verified) {
        (Err(shown), Err(VerifyError::Decode(refused))) => {
            assert_eq!(shown.to_string(), refused.to_string());
        }
        (Err(shown), _) => {
            panic!("decode_unverified refused ({shown}); the verifier said {verified:?}")
        }
        (Ok(_), Err(VerifyError::Decode(refused))) => {
            panic!("the verifier refused the structure ({refused}) that decode_unverified accepted")
        }
        (Ok(_), _) => {}
    }

    if let Ok(unverified) = decoded {
        assert!(unverified.header.is_object());
        assert!(unverified.claims.is_object());
    }
    if let Err(error) = verified {
        // Every refusal renders; messages are what the API logs.
        let _ = error.to_string();
    }
});
