//! The key directory: creation, reloading, rotation, pruning and repair.

use std::os::unix::fs::PermissionsExt as _;

use crate::clock::ManualClock;

use super::*;

const HOUR: Duration = Duration::from_secs(3600);

struct Fixture {
    _root: tempfile::TempDir,
    dir: PathBuf,
    clock: Arc<ManualClock>,
}

impl Fixture {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("state").join("keys");
        let start = NumericDate::from_unix_seconds(1_769_590_000).unwrap();
        Self {
            _root: root,
            dir,
            clock: Arc::new(ManualClock::new(start)),
        }
    }

    fn open(&self, algorithm: Algorithm) -> Result<KeyStore, KeyStoreError> {
        let config = KeyStoreConfig {
            algorithm,
            max_token_lifetime: HOUR,
        };
        KeyStore::open(&self.dir, config, self.clock.clone())
    }

    fn mode(&self, name: &str) -> u32 {
        std::fs::metadata(self.dir.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    }

    fn files(&self) -> Vec<String> {
        let mut names = files::list(&self.dir).unwrap();
        names.sort();
        names
    }
}

fn kids(jwks: &Jwks) -> Vec<String> {
    jwks.keys().iter().map(|key| key.kid().to_owned()).collect()
}

#[test]
fn first_open_creates_a_private_directory_and_one_key() {
    let fixture = Fixture::new();

    let store = fixture.open(Algorithm::Es256).unwrap();

    let kid = store.active().kid;
    assert_eq!(
        fixture.files(),
        [format!("{kid}.json"), format!("{kid}.pk8")]
    );
    assert_eq!(
        std::fs::metadata(&fixture.dir)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    assert_eq!(fixture.mode(&format!("{kid}.pk8")), 0o600);
    assert_eq!(fixture.mode(&format!("{kid}.json")), 0o600);
    assert_eq!(kids(&store.jwks()), [kid]);
}

#[test]
fn reopening_keeps_the_same_active_key() {
    let fixture = Fixture::new();
    let first = fixture.open(Algorithm::EdDsa).unwrap().active();

    let second = fixture.open(Algorithm::EdDsa).unwrap().active();

    assert_eq!(second, first);
    assert_eq!(fixture.files().len(), 2);
}

#[test]
fn rotation_publishes_both_keys_and_signers_follow_the_new_one() {
    let fixture = Fixture::new();
    let store = fixture.open(Algorithm::Es256).unwrap();
    let signer = store.signer();
    let old = store.active();
    fixture.clock.advance(Duration::from_secs(10));

    let new = store.rotate().unwrap();

    assert_ne!(new.kid, old.kid);
    assert_eq!(signer.kid(), new.kid);
    assert_eq!(kids(&store.jwks()), [new.kid.clone(), old.kid.clone()]);
    let listed = store.list();
    let retired_at = fixture.clock.now();
    assert_eq!(listed[0].kid, old.kid);
    assert_eq!(listed[0].retired_at, Some(retired_at));
    assert_eq!(
        listed[0].published_until,
        Some(retired_at.saturating_add(HOUR))
    );
    assert!(!listed[0].active && listed[1].active);
}

#[test]
fn a_retired_key_leaves_when_its_last_token_has_expired() {
    let fixture = Fixture::new();
    let store = fixture.open(Algorithm::Es256).unwrap();
    let keys = store.verification_keys();
    let old = store.active().kid;
    store.rotate().unwrap();

    fixture.clock.advance(HOUR - Duration::from_secs(1));
    let just_before = (kids(&store.jwks()).len(), keys.find(&old).is_some());
    fixture.clock.advance(Duration::from_secs(1));
    let at_expiry = (kids(&store.jwks()).len(), keys.find(&old).is_some());

    assert_eq!(just_before, (2, true));
    assert_eq!(at_expiry, (1, false));
    assert_eq!(
        fixture.files().len(),
        4,
        "files stay until the next open, rotate or reload"
    );
    store.reload().unwrap();
    assert_eq!(fixture.files().len(), 2);
}

#[test]
fn retirement_survives_a_restart() {
    let fixture = Fixture::new();
    let store = fixture.open(Algorithm::Es256).unwrap();
    store.rotate().unwrap();
    let before = store.list();
    drop(store);
    fixture.clock.advance(Duration::from_secs(600));

    let reopened = fixture.open(Algorithm::Es256).unwrap();

    assert_eq!(reopened.list(), before);
}

#[test]
fn an_interrupted_rotation_is_repaired_on_open() {
    let fixture = Fixture::new();
    let store = fixture.open(Algorithm::Es256).unwrap();
    let old = store.active();
    fixture.clock.advance(Duration::from_secs(5));
    let new = store.rotate().unwrap();
    drop(store);
    // As if the process died before recording the old key's retirement.
    let old_meta = KeyMeta {
        kid: old.kid.clone(),
        alg: old.algorithm,
        created_at: old.created_at,
        retired_at: None,
    };
    let path = fixture.dir.join(format!("{}.json", old.kid));
    files::write_atomic(&path, &serde_json::to_vec(&old_meta).unwrap()).unwrap();
    fixture.clock.advance(Duration::from_secs(5));

    let reopened = fixture.open(Algorithm::Es256).unwrap();

    assert_eq!(reopened.active().kid, new.kid);
    let listed = reopened.list();
    assert_eq!(listed[0].kid, old.kid);
    assert_eq!(listed[0].retired_at, Some(fixture.clock.now()));
}

#[test]
fn a_new_algorithm_in_the_configuration_rotates() {
    let fixture = Fixture::new();
    let old = fixture.open(Algorithm::Es256).unwrap().active();

    let store = fixture.open(Algorithm::Rs256).unwrap();

    assert_eq!(store.active().algorithm, Algorithm::Rs256);
    let algorithms: Vec<Algorithm> = store.jwks().keys().iter().map(|k| k.algorithm()).collect();
    assert_eq!(algorithms, [Algorithm::Rs256, Algorithm::Es256]);
    assert_eq!(store.list()[0].kid, old.kid);
}

#[test]
fn refuses_a_private_key_readable_by_others() {
    let fixture = Fixture::new();
    let kid = fixture.open(Algorithm::Es256).unwrap().active().kid;
    let path = fixture.dir.join(format!("{kid}.pk8"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

    let error = fixture.open(Algorithm::Es256).unwrap_err();

    assert_eq!(
        error.to_string(),
        format!(
            "private key `{}` has mode 644; it must be 600",
            path.display()
        )
    );
}

#[test]
fn refuses_metadata_whose_private_key_is_missing() {
    let fixture = Fixture::new();
    let kid = fixture.open(Algorithm::Es256).unwrap().active().kid;
    let path = fixture.dir.join(format!("{kid}.pk8"));
    std::fs::remove_file(&path).unwrap();

    let error = fixture.open(Algorithm::Es256).unwrap_err();

    assert_eq!(
        error.to_string(),
        format!("key `{kid}` has no private key file `{}`", path.display())
    );
}

#[test]
fn refuses_a_key_file_that_does_not_match_its_kid() {
    let fixture = Fixture::new();
    let kid = fixture.open(Algorithm::Es256).unwrap().active().kid;
    let (other, der) = SigningKey::generate_with_pkcs8(Algorithm::Es256).unwrap();
    files::write_atomic(&fixture.dir.join(format!("{kid}.pk8")), &der).unwrap();

    let error = fixture.open(Algorithm::Es256).unwrap_err();

    let KeyStoreError::KidMismatch { thumbprint, .. } = &error else {
        panic!("expected a kid mismatch, got {error}");
    };
    assert_eq!(thumbprint, other.kid());
}

#[test]
fn ignores_files_that_are_not_keys() {
    let fixture = Fixture::new();
    let kid = fixture.open(Algorithm::Es256).unwrap().active().kid;
    for name in ["notes.txt", "a b.json", ".x.json.tmp", "orphan.pk8"] {
        std::fs::write(fixture.dir.join(name), b"{}").unwrap();
    }

    let store = fixture.open(Algorithm::Es256).unwrap();

    assert_eq!(store.active().kid, kid);
}

#[test]
fn kids_are_plain_base64url() {
    assert!(is_kid("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"));
    for stem in ["", "..", "a/b", "a b", "é", &"x".repeat(129)] {
        assert!(!is_kid(stem), "{stem}");
    }
}

#[test]
fn a_signer_from_one_key_signs_with_it() {
    let key = SigningKey::generate(Algorithm::EdDsa).unwrap();
    let kid = key.kid().to_owned();

    let signer = Signer::from_key(key);

    assert_eq!((signer.kid(), signer.algorithm()), (kid, Algorithm::EdDsa));
}
