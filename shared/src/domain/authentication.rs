//! How the holder of a session proved who they are: the methods used (`amr`, RFC 8176 names)
//! and the assurance level they reach (`aal`, NIST SP 800-63B). A session records it when it
//! starts; its access tokens carry it.

use super::Invalid;

/// Authenticator assurance level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Aal {
    /// One factor (a password).
    #[default]
    Aal1,
    /// Two factors of different kinds (a password and a one-time code).
    Aal2,
}

impl Aal {
    pub fn as_str(self) -> &'static str {
        match self {
            Aal::Aal1 => "aal1",
            Aal::Aal2 => "aal2",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw {
            "aal1" => Ok(Aal::Aal1),
            "aal2" => Ok(Aal::Aal2),
            _ => Err(Invalid::new("invalid_aal", "must be aal1 or aal2")),
        }
    }
}

/// An authentication method, by its RFC 8176 `amr` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AuthMethod {
    /// A password (`pwd`).
    Password,
    /// A one-time code from an authenticator app (`otp`).
    Otp,
    /// A single-use recovery code (`recovery`; RFC 8176 has no name for one).
    Recovery,
    /// A one-time link or code mailed to the account's address (`email`; RFC 8176 has no
    /// name for one).
    Email,
    /// A sign-in provider (OAuth 2.0 / OpenID Connect: `oauth`).
    Oauth,
    /// A passkey (WebAuthn) whose authenticator verified the user (`webauthn`).
    Webauthn,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "pwd",
            AuthMethod::Otp => "otp",
            AuthMethod::Recovery => "recovery",
            AuthMethod::Email => "email",
            AuthMethod::Oauth => "oauth",
            AuthMethod::Webauthn => "webauthn",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw {
            "pwd" => Ok(AuthMethod::Password),
            "otp" => Ok(AuthMethod::Otp),
            "recovery" => Ok(AuthMethod::Recovery),
            "email" => Ok(AuthMethod::Email),
            "oauth" => Ok(AuthMethod::Oauth),
            "webauthn" => Ok(AuthMethod::Webauthn),
            _ => Err(Invalid::new(
                "invalid_amr",
                "must be an authentication method: pwd, otp, recovery, email, oauth or webauthn",
            )),
        }
    }
}

/// The level and the methods of one authentication, always together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    pub aal: Aal,
    /// In the order they were used; never empty.
    pub amr: Vec<AuthMethod>,
}

impl Authentication {
    /// A sign-in with the account's password.
    pub fn password() -> Self {
        Self::first_factor(AuthMethod::Password)
    }

    /// A sign-in with a passkey: the authenticator holds the key and verified the user (a PIN
    /// or a biometric), two factors in one (`aal2`).
    pub fn passkey() -> Self {
        Self {
            aal: Aal::Aal2,
            amr: vec![AuthMethod::Webauthn],
        }
    }

    /// A sign-in with one factor, `method`.
    pub fn first_factor(method: AuthMethod) -> Self {
        Self {
            aal: Aal::Aal1,
            amr: vec![method],
        }
    }

    /// This authentication raised by a second factor: `aal2`, with `method` added (once).
    pub fn with_second_factor(&self, method: AuthMethod) -> Self {
        let mut amr = self.amr.clone();
        if !amr.contains(&method) {
            amr.push(method);
        }
        Self {
            aal: Aal::Aal2,
            amr,
        }
    }

    /// What a stored session recorded. A session started before these were recorded was a
    /// password sign-in: the only kind there was.
    pub fn from_stored(aal: Option<&str>, amr: &[String]) -> Result<Self, Invalid> {
        let (Some(aal), false) = (aal, amr.is_empty()) else {
            return Ok(Self::password());
        };
        Ok(Self {
            aal: Aal::parse(aal)?,
            amr: amr
                .iter()
                .map(|method| AuthMethod::parse(method))
                .collect::<Result<_, _>>()?,
        })
    }

    /// The `amr` values, as tokens and the API show them.
    pub fn amr_names(&self) -> Vec<&'static str> {
        self.amr.iter().map(|method| method.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_sign_in_is_aal1_by_pwd() {
        let password = Authentication::password();
        assert_eq!(password.aal.as_str(), "aal1");
        assert_eq!(password.amr_names(), ["pwd"]);
    }

    #[test]
    fn names_read_back_and_unknown_ones_are_refused() {
        for aal in [Aal::Aal1, Aal::Aal2] {
            assert_eq!(Aal::parse(aal.as_str()), Ok(aal));
        }
        for method in [
            AuthMethod::Password,
            AuthMethod::Otp,
            AuthMethod::Recovery,
            AuthMethod::Email,
            AuthMethod::Oauth,
            AuthMethod::Webauthn,
        ] {
            assert_eq!(AuthMethod::parse(method.as_str()), Ok(method));
        }
        assert!(Aal::parse("aal3").is_err());
        assert!(AuthMethod::parse("PWD").is_err());
        let stored = Authentication::from_stored(Some("aal1"), &["pwd".into()]);
        assert_eq!(stored, Ok(Authentication::password()));
        assert!(Authentication::from_stored(Some("aal1"), &["sms".into()]).is_err());
    }

    #[test]
    fn a_second_factor_raises_to_aal2_and_adds_its_method_once() {
        let raised = Authentication::password().with_second_factor(AuthMethod::Otp);
        assert_eq!(
            (raised.aal, raised.amr_names()),
            (Aal::Aal2, vec!["pwd", "otp"])
        );
        let again = raised.with_second_factor(AuthMethod::Otp);
        assert_eq!(again, raised);
        let recovered = raised.with_second_factor(AuthMethod::Recovery);
        assert_eq!(recovered.amr_names(), ["pwd", "otp", "recovery"]);
    }

    #[test]
    fn a_session_stored_before_levels_were_recorded_was_a_password_sign_in() {
        assert_eq!(
            Authentication::from_stored(None, &[]),
            Ok(Authentication::password())
        );
    }
}
