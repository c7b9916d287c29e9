//! OAuth 2.0 Form Post Response Mode: with `response_mode=form_post` the code (or the
//! error), `state` and `iss` reach the client as the hidden fields of a form that posts
//! itself to the redirect URI, never in a URL. The page runs one script, allowed by its
//! hash and nothing else, and works without it through a visible button.

#![allow(clippy::unwrap_used)]

use gatehouse_tests::*;

/// The hidden fields of the form_post page, and where the form goes.
fn form_of(body: &str) -> (String, Vec<(String, String)>) {
    let action = body
        .split("<form method=\"post\" action=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a POST form")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/");
    let mut fields = Vec::new();
    for part in body.split("<input type=\"hidden\" name=\"").skip(1) {
        let name = part.split('"').next().unwrap().to_owned();
        let value = part
            .split("value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_owned();
        fields.push((name, value));
    }
    (action, fields)
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn the_code_is_posted_to_the_client_by_a_form_that_submits_itself() {
    let app = TestApp::start().await;
    app.create_user("alice").await;
    let client = app.create_client(ClientSpec::default()).await;
    // Signed in, and consent given once, so the next request is answered at once.
    let mut browser = app.browser();
    let (_, challenge) = pkce_pair();
    browser
        .authorize(
            &authorize_url(&app, &code_request(&client, &challenge, "openid")),
            "alice",
        )
        .await;

    let (verifier, challenge) = pkce_pair();
    let mut params = code_request(&client, &challenge, "openid");
    params.push(("response_mode", "form_post"));
    let page = browser.get(&authorize_url(&app, &params)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.location.is_none(), "nothing travels in a URL");
    let (action, fields) = form_of(&page.body);
    assert_eq!(action, client.redirect_uri);
    assert_eq!(field(&fields, "state"), Some("st-123"));
    assert_eq!(field(&fields, "iss"), Some(app.base.as_str()));
    let code = field(&fields, "code").expect("the code").to_owned();
    assert!(
        page.body.contains("<button type=\"submit\">"),
        "works without script"
    );

    // The page's one script is allowed by its hash, and no other; the form may go to the
    // client's origin.
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    let script = page
        .body
        .split("<script>")
        .nth(1)
        .and_then(|r| r.split("</script>").next())
        .unwrap();
    let hash = gatehouse_authorize::pages::script_hash(script);
    assert!(csp.contains(&format!("script-src {hash}")), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(
        csp.contains("form-action 'self' https://app.example"),
        "{csp}"
    );
    assert_eq!(page.headers["cache-control"], "no-store");

    // And the code is a code.
    let (status, body) = exchange_code(&app, &client, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn errors_go_back_the_way_the_client_asked() {
    let app = TestApp::start().await;
    let client = app.create_client(ClientSpec::default()).await;
    let (_, challenge) = pkce_pair();

    // prompt=none without a session: login_required, posted.
    let mut params = code_request(&client, &challenge, "openid");
    params.push(("response_mode", "form_post"));
    params.push(("prompt", "none"));
    let page = app.browser().get(&authorize_url(&app, &params)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let (action, fields) = form_of(&page.body);
    assert_eq!(action, client.redirect_uri);
    assert_eq!(field(&fields, "error"), Some("login_required"));
    assert_eq!(field(&fields, "state"), Some("st-123"));
    assert_eq!(field(&fields, "iss"), Some(app.base.as_str()));

    // A later check refusing the request answers by form too.
    let mut params = code_request(&client, &challenge, "openid");
    params.retain(|(k, _)| *k != "code_challenge");
    params.push(("response_mode", "form_post"));
    let page = app.browser().get(&authorize_url(&app, &params)).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        field(&form_of(&page.body).1, "error"),
        Some("invalid_request")
    );

    // A mode this server does not speak: the error goes back in the query.
    let mut params = code_request(&client, &challenge, "openid");
    params.push(("response_mode", "fragment"));
    let page = app.browser().get(&authorize_url(&app, &params)).await;
    assert_eq!(page.status, 303);
    let location = page.location.unwrap();
    assert_eq!(query_of(&location)["error"], "invalid_request");

    // Discovery says so.
    let doc = discovery(&app).await;
    assert_eq!(
        doc["response_modes_supported"],
        serde_json::json!(["query", "form_post"])
    );
}
