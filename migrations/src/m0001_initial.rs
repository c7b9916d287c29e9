//! Clients, users, browser sessions, pending authorization requests, grants,
//! authorization codes, consents and the login throttle.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn index(table: &'static str, name: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(*c);
    }
    idx.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("clients")
                    .col(string("client_id").primary_key())
                    .col(string("name"))
                    .col(string_null("secret_hash"))
                    .col(text("redirect_uris"))
                    .col(text("post_logout_redirect_uris"))
                    .col(text("grant_types"))
                    .col(text("scopes"))
                    .col(string("auth_method"))
                    .col(string("application_type"))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("users")
                    .col(string("id").primary_key())
                    .col(string_uniq("username"))
                    .col(text("password_hash"))
                    .col(string_null("email"))
                    .col(boolean("email_verified"))
                    .col(string_null("name"))
                    .col(boolean("disabled"))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .to_owned(),
            )
            .await?;

        // A browser session. The cookie holds a random value; the row is keyed by its hash,
        // so a database leak does not hand out live sessions. `sid` is the public session
        // identifier placed in ID tokens (OpenID Connect Front-Channel Logout §2).
        manager
            .create_table(
                Table::create()
                    .table("sessions")
                    .col(string("id_hash").primary_key())
                    .col(string_uniq("sid"))
                    .col(string_null("user_id"))
                    .col(big_integer_null("auth_time"))
                    .col(string("csrf_token"))
                    .col(big_integer("created_at"))
                    .col(big_integer("expires_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("sessions", "idx_sessions_user", &["user_id"]))
            .await?;
        manager
            .create_index(index("sessions", "idx_sessions_expiry", &["expires_at"]))
            .await?;

        // An authorization request that waits for login or consent. Its parameters live here,
        // never in the browser, so they cannot be changed between the steps.
        manager
            .create_table(
                Table::create()
                    .table("authorization_requests")
                    .col(string("id").primary_key())
                    .col(string("client_id"))
                    .col(text("request"))
                    .col(big_integer_null("logged_in_at"))
                    .col(big_integer_null("consented_at"))
                    .col(big_integer("created_at"))
                    .col(big_integer("expires_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("grants")
                    .col(string("id").primary_key())
                    .col(string("client_id"))
                    .col(string_null("user_id"))
                    .col(text("scopes"))
                    .col(string_null("sid"))
                    .col(big_integer_null("auth_time"))
                    .col(big_integer("created_at"))
                    .col(big_integer_null("revoked_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("grants", "idx_grants_user", &["user_id"]))
            .await?;
        manager
            .create_index(index("grants", "idx_grants_client", &["client_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("authorization_codes")
                    .col(string("code_hash").primary_key())
                    .col(string("grant_id"))
                    .col(string("client_id"))
                    .col(string("user_id"))
                    .col(text_null("redirect_uri"))
                    .col(text("scopes"))
                    .col(text_null("nonce"))
                    .col(string_null("pkce_challenge"))
                    .col(string("sid"))
                    .col(big_integer("auth_time"))
                    .col(big_integer("created_at"))
                    .col(big_integer("expires_at"))
                    .col(big_integer_null("consumed_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "authorization_codes",
                "idx_codes_grant",
                &["grant_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("consents")
                    .col(string("user_id"))
                    .col(string("client_id"))
                    .col(text("scopes"))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .primary_key(Index::create().col("user_id").col("client_id"))
                    .to_owned(),
            )
            .await?;

        // Failed-login counters, per account and per client address. A lock carries its own
        // expiry, so nobody can lock an account for good.
        manager
            .create_table(
                Table::create()
                    .table("login_throttle")
                    .col(string("key").primary_key())
                    .col(integer("failures"))
                    .col(big_integer("window_started_at"))
                    .col(big_integer_null("locked_until"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "login_throttle",
            "consents",
            "authorization_codes",
            "grants",
            "authorization_requests",
            "sessions",
            "users",
            "clients",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
