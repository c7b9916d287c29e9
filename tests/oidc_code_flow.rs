//! The whole "sign in with Gatehouse" flow, driven by the `openidconnect` crate as an
//! independent relying party: discovery, PKCE, nonce, ID token verified against the JWKS
//! (signature, iss, aud, exp, nonce, at_hash), and userinfo.

#![allow(clippy::unwrap_used)]

use gatehouse_tests::*;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

#[tokio::test]
async fn openidconnect_client_signs_in_and_reads_userinfo() {
    let app = TestApp::start().await;
    let user_id = app
        .create_user_with("alice", Some("alice@example.com"), Some("Alice Liddell"))
        .await;
    let client = app.create_client(ClientSpec::default()).await;
    let http = http_client();

    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http)
            .await
            .expect("discovery document and JWKS");
    let rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client.id.clone()),
        client.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(client.redirect_uri.clone()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();

    let callback = app.browser().authorize(url.as_str(), "alice").await;
    assert!(callback.starts_with(&client.redirect_uri), "{callback}");
    let params = query_of(&callback);
    assert_eq!(params["state"], *csrf.secret(), "state is echoed");
    assert_eq!(params["iss"], app.base, "RFC 9207 iss is sent");

    let tokens = rp
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token response");
    let id_token = tokens.id_token().expect("an ID token for scope openid");
    let verifier = rp.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("ID token verifies against the JWKS");
    assert_eq!(claims.subject().as_str(), user_id);
    assert_eq!(claims.issuer().as_str(), app.base);
    assert!(claims.auth_time().is_some());
    let expected = claims.access_token_hash().expect("at_hash");
    let actual = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(&actual, expected);
    let scopes: Vec<String> = tokens
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes.join(" "), "email openid profile");

    let info: CoreUserInfoClaims = rp
        .user_info(tokens.access_token().to_owned(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), user_id);
    assert_eq!(info.email().unwrap().as_str(), "alice@example.com");
    assert_eq!(info.email_verified(), Some(false));
    assert_eq!(info.preferred_username().unwrap().as_str(), "alice");
    assert_eq!(
        info.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        Some("Alice Liddell")
    );
}

#[tokio::test]
async fn public_native_client_on_a_loopback_port() {
    let app = TestApp::start().await;
    app.create_user("bob").await;
    let client = app
        .create_client(ClientSpec {
            redirect_uris: vec!["http://127.0.0.1/callback".into()],
            auth_method: gatehouse_core::ClientAuthMethod::None,
            application_type: gatehouse_core::ApplicationType::Native,
            ..ClientSpec::default()
        })
        .await;
    let http = http_client();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http)
            .await
            .unwrap();
    // RFC 8252 §7.3: the app listens on an ephemeral port.
    let redirect = "http://127.0.0.1:53123/callback";
    let rp = CoreClient::from_provider_metadata(metadata, ClientId::new(client.id.clone()), None)
        .set_redirect_uri(RedirectUrl::new(redirect.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let callback = app.browser().authorize(url.as_str(), "bob").await;
    assert!(callback.starts_with(redirect), "{callback}");
    let code = query_of(&callback)["code"].clone();
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("public client exchanges its code with PKCE");
    tokens
        .id_token()
        .unwrap()
        .claims(&rp.id_token_verifier(), &nonce)
        .expect("valid ID token");
}
