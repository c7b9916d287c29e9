//! sea-orm entities, private to this crate. Column names match `migrations/`.

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}
        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod client {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "clients")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub client_id: String,
        pub name: String,
        pub secret_hash: Option<String>,
        pub redirect_uris: String,
        pub post_logout_redirect_uris: String,
        pub grant_types: String,
        pub scopes: String,
        pub auth_method: String,
        pub application_type: String,
        pub created_at: i64,
        pub updated_at: i64,
        pub jwks: Option<String>,
        pub access_token_format: String,
        pub jwks_uri: Option<String>,
        pub registration_token_hash: Option<String>,
        pub logo_uri: Option<String>,
        pub policy_uri: Option<String>,
        pub tos_uri: Option<String>,
        pub secret_changed_at: Option<i64>,
        pub registration_policy: Option<String>,
        pub allowed_origins: Option<String>,
    }
    no_relations!();
}

pub mod user {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub username: String,
        pub password_hash: String,
        pub email: Option<String>,
        pub email_verified: bool,
        pub name: Option<String>,
        pub disabled: bool,
        pub created_at: i64,
        pub updated_at: i64,
        pub username_key: Option<String>,
        pub username_skeleton: Option<String>,
    }
    no_relations!();
}

pub mod session {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id_hash: String,
        pub sid: String,
        pub user_id: Option<String>,
        pub auth_time: Option<i64>,
        pub csrf_token: String,
        pub created_at: i64,
        pub expires_at: i64,
    }
    no_relations!();
}

pub mod authorization_request {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "authorization_requests")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub client_id: String,
        pub request: String,
        pub session_hash: Option<String>,
        pub logged_in_at: Option<i64>,
        pub consented_at: Option<i64>,
        pub created_at: i64,
        pub expires_at: i64,
    }
    no_relations!();
}

pub mod grant {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "grants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub client_id: String,
        pub user_id: Option<String>,
        pub scopes: String,
        pub sid: Option<String>,
        pub auth_time: Option<i64>,
        pub created_at: i64,
        pub revoked_at: Option<i64>,
    }
    no_relations!();
}

pub mod authorization_code {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "authorization_codes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub code_hash: String,
        pub grant_id: String,
        pub client_id: String,
        pub user_id: String,
        pub redirect_uri: Option<String>,
        pub scopes: String,
        pub nonce: Option<String>,
        pub pkce_challenge: Option<String>,
        pub sid: String,
        pub auth_time: i64,
        pub created_at: i64,
        pub expires_at: i64,
        pub consumed_at: Option<i64>,
    }
    no_relations!();
}

pub mod consent {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "consents")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub client_id: String,
        pub scopes: String,
        pub created_at: i64,
        pub updated_at: i64,
    }
    no_relations!();
}

pub mod signing_key {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "signing_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub kid: String,
        pub alg: String,
        pub state: String,
        pub sealed_private_key: String,
        pub created_at: i64,
        pub activates_at: i64,
        pub retired_at: Option<i64>,
        pub remove_at: Option<i64>,
    }
    no_relations!();
}

pub mod throttle_counter {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "throttle_counters")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key_hash: String,
        pub level: i32,
        pub leaked_at: i64,
        pub locked_until: Option<i64>,
        pub idle_at: i64,
    }
    no_relations!();
}

pub mod refresh_token {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "refresh_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        pub grant_id: String,
        pub client_id: String,
        pub created_at: i64,
        pub expires_at: i64,
        pub absolute_expires_at: i64,
        pub consumed_at: Option<i64>,
    }
    no_relations!();
}

pub mod revoked_access_token {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "revoked_access_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub jti: String,
        pub expires_at: i64,
    }
    no_relations!();
}

pub mod device_code {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "device_codes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub device_code_hash: String,
        pub user_code: String,
        pub client_id: String,
        pub scopes: String,
        pub status: String,
        pub interval: i64,
        pub last_polled_at: Option<i64>,
        pub grant_id: Option<String>,
        pub created_at: i64,
        pub expires_at: i64,
    }
    no_relations!();
}

pub mod client_assertion_jti {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "client_assertion_jtis")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub client_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub jti: String,
        pub expires_at: i64,
    }
    no_relations!();
}

pub mod access_token {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "access_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        pub grant_id: Option<String>,
        pub client_id: String,
        pub sub: String,
        pub scopes: String,
        pub auth_time: Option<i64>,
        pub created_at: i64,
        pub expires_at: i64,
        pub audience: Option<String>,
    }
    no_relations!();
}

pub mod resource {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "resources")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub identifier: String,
        pub name: String,
        pub scopes: String,
        pub access_token_ttl: Option<i64>,
        pub created_at: i64,
        pub updated_at: i64,
    }
    no_relations!();
}

pub mod registration_token {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "registration_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        pub uses_left: Option<i64>,
        pub created_at: i64,
        pub expires_at: i64,
        pub policy: Option<String>,
    }
    no_relations!();
}

pub mod role {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "roles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub description: String,
        pub permissions: String,
        pub created_at: i64,
    }
    no_relations!();
}

pub mod group {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "groups")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub description: String,
        pub created_at: i64,
    }
    no_relations!();
}

pub mod role_assignment {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "role_assignments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub role: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub subject_kind: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub subject_id: String,
        pub created_at: i64,
    }
    no_relations!();
}

pub mod group_member {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "group_members")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub group_name: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        pub created_at: i64,
    }
    no_relations!();
}

pub mod audit_log {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub at: i64,
        pub actor: String,
        pub action: String,
        pub target: String,
        pub detail: String,
        pub address: Option<String>,
    }
    no_relations!();
}
