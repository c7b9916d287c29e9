//! How sign-in guessing is limited without letting an attacker lock the owner out.
//!
//! Every attempt is counted before its password is hashed, on these keys (see
//! [`gatehouse_storage::ThrottlePolicy`] for how a key counts and locks):
//!
//! - **account and address** (`acct-ip:`): the hard lock. Five failures lock that account
//!   *for that address* (an IPv6 /64), for 30 s doubling to 15 minutes. An attacker
//!   guessing from one address locks only themselves out.
//! - **address** (`ip:`): twenty failures from one address, over any accounts, lock the
//!   address (password spraying from one place); many people may share an address.
//! - **account** (`acct:`): the account-wide rate, from all addresses together. It never
//!   escalates: past ten failures, one more guess is let through every 40 s, so the whole
//!   internet gets about 100 guesses an hour at one account. It slows, it does not lock.
//! - **known device** (`device:`): a browser that has signed in to the account before
//!   carries a signed cookie naming the account. Its attempts skip the three keys above and
//!   count on their own key, so neither an attacker on the same address nor one spending
//!   the account-wide rate keeps the owner out.
//!
//! A name that belongs to no account is counted exactly like one that does, so locks and
//! delays say nothing about which accounts exist.
//!
//! Argon2 work is bounded too: attempts that are likely guesses (an unknown account, or a
//! key that has failed recently) may use only half of the hashing slots and never wait for
//! one; when those are busy they are answered 429 at once, so an attacker's queue never
//! stands in front of real sign-ins.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, header};
use gatehouse_storage::ThrottlePolicy;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::AuthorizeState;

/// The per-account, per-address hard lock.
pub const ACCOUNT_ADDRESS: ThrottlePolicy = ThrottlePolicy {
    free: 5,
    leak_secs: 12 * 60,
    base_lock_secs: 30,
    max_lock_secs: 15 * 60,
};

/// The per-address lock, over all accounts.
pub const ADDRESS: ThrottlePolicy = ThrottlePolicy {
    free: 20,
    leak_secs: 3 * 60,
    base_lock_secs: 30,
    max_lock_secs: 15 * 60,
};

/// The account-wide rate: 10 guesses at once, then one every 40 s (100 in the first hour,
/// 90 an hour after that), never a longer wait.
pub const ACCOUNT: ThrottlePolicy = ThrottlePolicy {
    free: 10,
    leak_secs: 40,
    base_lock_secs: 40,
    max_lock_secs: 40,
};

/// Failures from one known device.
pub const KNOWN_DEVICE: ThrottlePolicy = ACCOUNT_ADDRESS;

/// How long a known-device cookie lasts; each sign-in renews it.
pub const KNOWN_DEVICE_TTL: i64 = 180 * 24 * 60 * 60;

/// The longest username the sign-in form looks at. Longer names cannot exist, so they are
/// refused before anything is counted against the account or hashed.
pub const MAX_USERNAME_BYTES: usize = 256;

/// The hashing budget of sign-in attempts.
#[derive(Clone)]
pub struct HashSlots {
    /// Every password verification holds one (argon2id holds 19 MiB each).
    all: Arc<Semaphore>,
    /// Likely guesses also hold one of these, and never wait for either.
    suspect: Arc<Semaphore>,
}

/// A held hashing slot.
pub struct HashPermit {
    _all: OwnedSemaphorePermit,
    _suspect: Option<OwnedSemaphorePermit>,
}

impl HashSlots {
    pub fn new(slots: usize) -> Self {
        let slots = slots.max(2);
        Self {
            all: Arc::new(Semaphore::new(slots)),
            suspect: Arc::new(Semaphore::new(slots / 2)),
        }
    }

    /// A slot for a likely guess, now or never.
    pub fn try_suspect(&self) -> Option<HashPermit> {
        let suspect = self.suspect.clone().try_acquire_owned().ok()?;
        let all = self.all.clone().try_acquire_owned().ok()?;
        Some(HashPermit {
            _all: all,
            _suspect: Some(suspect),
        })
    }

    /// A slot for an attempt that is probably the owner's: waits up to `wait`. Suspects
    /// hold at most half the slots and never queue, so this waits only for real sign-ins.
    pub async fn acquire(&self, wait: std::time::Duration) -> Option<HashPermit> {
        let all = tokio::time::timeout(wait, self.all.clone().acquire_owned())
            .await
            .ok()?
            .ok()?;
        Some(HashPermit {
            _all: all,
            _suspect: None,
        })
    }
}

/// The cookie that marks a browser as one that has signed in to an account before.
#[derive(Debug, Clone)]
pub struct DeviceCookie {
    pub name: &'static str,
    pub secure: bool,
}

impl DeviceCookie {
    pub fn for_issuer(https: bool) -> Self {
        if https {
            Self {
                name: "__Host-gatehouse-device",
                secure: true,
            }
        } else {
            Self {
                name: "gatehouse-device",
                secure: false,
            }
        }
    }

    pub fn set(&self, value: &str) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{}={value}; Path=/; Max-Age={KNOWN_DEVICE_TTL}; HttpOnly; SameSite=Lax{secure}",
            self.name
        ))
        .ok()
    }

    /// The values of the request's known-device cookies (one per account signed in from
    /// this browser would need several cookies; one is kept, the latest account's).
    pub fn read<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.name)
            .map(|(_, value)| value)
            .filter(|v| v.len() <= 2048)
    }
}

impl AuthorizeState {
    /// The device id of this browser's known-device cookie, if it proves an earlier
    /// sign-in to the account `user_id`.
    pub(crate) async fn known_device(&self, headers: &HeaderMap, user_id: &str) -> Option<String> {
        let token = self.device_cookie.read(headers)?;
        let keys = self.oidc.verification_keys(token).await;
        let (sub, jti) = self
            .oidc
            .minter
            .verify_known_device(&keys, token, self.oidc.now())
            .ok()?;
        (sub == user_id).then_some(jti)
    }

    /// A fresh known-device cookie for `user_id`, if one can be signed.
    pub(crate) async fn known_device_cookie(&self, user_id: &str) -> Option<HeaderValue> {
        let token = self
            .oidc
            .minter
            .known_device(
                &*self.oidc.signing_keys().await,
                user_id,
                KNOWN_DEVICE_TTL,
                self.oidc.now(),
            )
            .map_err(|e| tracing::warn!(error = %e, "known-device cookie not issued"))
            .ok()?;
        self.device_cookie.set(&token)
    }
}

/// The throttle keys of one sign-in attempt.
pub struct SignInKeys {
    pub keys: Vec<(String, &'static ThrottlePolicy)>,
    /// The key a successful sign-in clears outright (this address, or device, proved itself).
    pub clear: String,
}

impl SignInKeys {
    /// `account` is the normalised username; `device` the known-device id, if the browser
    /// proved an earlier sign-in to that account; `bucket` the client's address bucket.
    pub fn new(account: &str, bucket: &str, device: Option<&str>) -> Self {
        match device {
            Some(d) => {
                let key = format!("device:{d}");
                Self {
                    keys: vec![(key.clone(), &KNOWN_DEVICE)],
                    clear: key,
                }
            }
            None => {
                let pair = format!("acct-ip:{account}\u{0}{bucket}");
                Self {
                    keys: vec![
                        (format!("ip:{bucket}"), &ADDRESS),
                        (pair.clone(), &ACCOUNT_ADDRESS),
                        (format!("acct:{account}"), &ACCOUNT),
                    ],
                    clear: pair,
                }
            }
        }
    }

    pub fn refs(&self) -> Vec<(&str, &ThrottlePolicy)> {
        self.keys.iter().map(|(k, p)| (k.as_str(), *p)).collect()
    }
}
