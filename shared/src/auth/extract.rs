//! Axum extractors for authenticated requests.

use super::claims::{Claims, TokenType};
use super::token::{TokenError, TokenVerifier};
use crate::http::{ApiError, RequestId, TENANT_HEADER};
use crate::permissions::Module;
use crate::records::TenantRouteRecord;
use crate::store::{Store, StoreError, TenantScope};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use std::sync::Arc;
use uuid::Uuid;

/// An authenticated caller: verified access-token claims and the tenant
/// scope they grant.
#[derive(Debug, Clone)]
pub struct Principal {
    claims: Claims,
    scope: TenantScope,
}

impl Principal {
    /// Built only from verified claims; the signed `tbl` claim says which
    /// table holds the tenant's items.
    pub(crate) fn from_verified(claims: Claims) -> Self {
        let scope = TenantScope::in_table(claims.tenant_id, claims.table.as_deref().map(Arc::from));
        Self { claims, scope }
    }

    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The caller's own tenant.
    pub fn scope(&self) -> &TenantScope {
        &self.scope
    }

    pub fn user_id(&self) -> Uuid {
        self.claims.sub
    }
}

/// Verifies a bearer access token and yields the caller.
pub fn authenticate(
    verifier: &TokenVerifier,
    authorization: Option<&str>,
) -> Result<Principal, ApiError> {
    let header = authorization
        .ok_or_else(|| ApiError::unauthorized("Authentication credentials were not provided."))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("Authorization header must be 'Bearer <token>'."))?;
    let claims = verifier
        .verify(token, TokenType::Access)
        .map_err(token_error)?;
    Ok(Principal::from_verified(claims))
}

pub(crate) fn token_error(e: TokenError) -> ApiError {
    let detail = match e {
        TokenError::Expired => "Token has expired.",
        TokenError::WrongType(TokenType::Access) => "Token is not an access token.",
        TokenError::WrongType(TokenType::Refresh) => "Token is not a refresh token.",
        _ => "Token is invalid.",
    };
    ApiError::Unauthorized {
        detail: detail.into(),
        code: "token_not_valid",
    }
}

/// Refuses a verified token that a later change revoked: its tenant's
/// state comes from the store's per-process cache, read at most once per
/// check interval. A super admin acting elsewhere is checked against their
/// own tenant, the one their token names.
pub async fn check_revocation(store: &Store, principal: &Principal) -> Result<(), ApiError> {
    let state = store.revocation_state(&principal.scope).await?;
    refuse_revoked(crate::revocation::verdict(&principal.claims, &state))
}

fn refuse_revoked(verdict: crate::revocation::Verdict) -> Result<(), ApiError> {
    match verdict {
        crate::revocation::Verdict::Valid => Ok(()),
        why => {
            tracing::info!(reason = ?why, "revoked access token refused");
            Err(ApiError::Unauthorized {
                detail: crate::revocation::REVOKED_DETAIL.into(),
                code: "token_not_valid",
            })
        }
    }
}

/// Verifies an access token given on its own (not as a header) and checks
/// it against revocations: what `POST /api/auth/token/verify/` answers.
pub async fn verify_access(
    verifier: &TokenVerifier,
    store: &Store,
    token: &str,
) -> Result<Principal, ApiError> {
    let claims = verifier
        .verify(token, TokenType::Access)
        .map_err(token_error)?;
    let principal = Principal::from_verified(claims);
    check_revocation(store, &principal).await?;
    Ok(principal)
}

impl<S> FromRequestParts<S> for Principal
where
    S: Send + Sync,
    Arc<TokenVerifier>: FromRef<S>,
    Store: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = verified(parts, &Arc::<TokenVerifier>::from_ref(state))?;
        check_revocation(&Store::from_ref(state), &principal).await?;
        Ok(principal)
    }
}

/// The bearer token's verified claims, recorded in the request's span.
fn verified(parts: &Parts, verifier: &TokenVerifier) -> Result<Principal, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let principal = authenticate(verifier, header)?;
    let span = tracing::Span::current();
    span.record(
        "tenant_id",
        tracing::field::display(principal.claims.tenant_id),
    );
    span.record("user_id", tracing::field::display(principal.claims.sub));
    Ok(principal)
}

/// The caller of an endpoint of `module`, in the tenant acted in, once the
/// tenant has the module now: 403 `module_disabled` otherwise, also for a
/// token issued before the module was withdrawn (which elsewhere is
/// refused as revoked, see [`crate::revocation::verdict_at_module`]).
pub(super) async fn module_actor(
    parts: &Parts,
    verifier: &TokenVerifier,
    store: &Store,
    module: Module,
) -> Result<Actor, ApiError> {
    let principal = verified(parts, verifier)?;
    let own_state = store.revocation_state(&principal.scope).await?;
    refuse_revoked(crate::revocation::verdict_at_module(
        &principal.claims,
        &own_state,
    ))?;
    let actor = actor(principal, parts, store).await?;
    let (state, token_modules) = if actor.via_super_admin {
        (store.revocation_state(&actor.scope).await?, None)
    } else {
        (own_state, Some(actor.claims().enabled_modules.as_slice()))
    };
    if !crate::revocation::module_enabled(token_modules, &state, module.as_str()) {
        return Err(ApiError::ModuleDisabled { module });
    }
    Ok(actor)
}

/// A platform super admin. The only path to another tenant's scope.
#[derive(Clone)]
pub struct SuperAdmin {
    principal: Principal,
    request_id: String,
    /// Resolves tenant ids to their tables (routing items).
    store: Store,
}

impl std::fmt::Debug for SuperAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SuperAdmin")
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

impl SuperAdmin {
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Acts inside any tenant. Callers audit what they do with it. A
    /// foreign tenant's table comes from its routing item (one `GetItem`).
    pub async fn scope_for(&self, tenant_id: Uuid) -> Result<TenantScope, StoreError> {
        scope_of_tenant(&self.principal, &self.store, tenant_id).await
    }

    /// The scope of a tenant listed through its routing item.
    pub fn scope_of_route(&self, route: &TenantRouteRecord) -> TenantScope {
        TenantScope::in_table(route.tenant_id, Some(Arc::from(route.table.as_str())))
    }

    /// The super admin acting inside `tenant_id`, for auditing.
    pub async fn actor_in(&self, tenant_id: Uuid) -> Result<Actor, StoreError> {
        Ok(self.actor_with(self.scope_for(tenant_id).await?))
    }

    /// The super admin acting inside a scope it resolved.
    pub fn actor_with(&self, scope: TenantScope) -> Actor {
        Actor {
            principal: self.principal.clone(),
            via_super_admin: scope.tenant_id() != self.principal.claims.tenant_id,
            scope,
            request_id: self.request_id.clone(),
        }
    }
}

/// The caller's own scope for their own tenant, else the routing item's.
async fn scope_of_tenant(
    principal: &Principal,
    store: &Store,
    tenant_id: Uuid,
) -> Result<TenantScope, StoreError> {
    if tenant_id == principal.claims.tenant_id {
        Ok(principal.scope.clone())
    } else {
        store.route(tenant_id).await
    }
}

impl<S> FromRequestParts<S> for SuperAdmin
where
    S: Send + Sync,
    Arc<TokenVerifier>: FromRef<S>,
    Store: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        if !principal.claims.is_super_admin {
            return Err(ApiError::forbidden(
                "Only platform super admins may do this.",
            ));
        }
        let request_id = request_id(parts);
        Ok(SuperAdmin {
            principal,
            request_id,
            store: Store::from_ref(state),
        })
    }
}

/// Who is acting, and inside which tenant: the caller's own tenant, or —
/// for a platform super admin sending `X-Tenant-Id` — that tenant.
#[derive(Debug, Clone)]
pub struct Actor {
    principal: Principal,
    scope: TenantScope,
    via_super_admin: bool,
    request_id: String,
}

impl Actor {
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub fn claims(&self) -> &Claims {
        &self.principal.claims
    }

    /// The tenant acted in.
    pub fn scope(&self) -> &TenantScope {
        &self.scope
    }

    pub fn user_id(&self) -> Uuid {
        self.principal.claims.sub
    }

    pub fn email(&self) -> &str {
        &self.principal.claims.email
    }

    /// The plan the token names ([`Claims::plan`]), when acting in the
    /// token's own tenant: what to read with the subscription, to be checked
    /// against it (it may have changed since the token was issued).
    pub fn plan_hint(&self) -> Option<Uuid> {
        let claims = &self.principal.claims;
        claims
            .plan
            .filter(|_| self.scope.tenant_id() == claims.tenant_id)
    }

    /// A super admin acting in another tenant (always audited).
    pub fn via_super_admin(&self) -> bool {
        self.via_super_admin
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }
}

fn request_id(parts: &Parts) -> String {
    parts
        .extensions
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

/// Resolves the tenant a request acts in. `X-Tenant-Id` moves only super
/// admins (to the tenant's table, from its routing item); for anyone else a
/// foreign tenant id answers 404, so the header never widens a normal
/// user's reach.
pub(super) async fn actor(
    principal: Principal,
    parts: &Parts,
    store: &Store,
) -> Result<Actor, ApiError> {
    let request_id = request_id(parts);
    let requested = match parts.headers.get(TENANT_HEADER) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| Uuid::parse_str(s.trim()).ok())
                .ok_or_else(|| {
                    ApiError::from(crate::http::ValidationErrors::field(
                        "X-Tenant-Id",
                        "Must be a tenant id (UUID).",
                    ))
                })?,
        ),
    };
    match requested {
        Some(tenant_id) if tenant_id != principal.claims.tenant_id => {
            if !principal.claims.is_super_admin {
                return Err(ApiError::NotFound);
            }
            tracing::Span::current().record("tenant_id", tracing::field::display(tenant_id));
            let scope = store.route(tenant_id).await?;
            Ok(Actor {
                scope,
                principal,
                via_super_admin: true,
                request_id,
            })
        }
        _ => Ok(Actor {
            scope: principal.scope.clone(),
            principal,
            via_super_admin: false,
            request_id,
        }),
    }
}

/// Permission class: any member of the tenant acted in.
#[derive(Debug, Clone)]
pub struct TenantMember(pub Actor);

impl<S> FromRequestParts<S> for TenantMember
where
    S: Send + Sync,
    Arc<TokenVerifier>: FromRef<S>,
    Store: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        Ok(TenantMember(
            actor(principal, parts, &Store::from_ref(state)).await?,
        ))
    }
}

/// Whether verified claims hold every `administration` grant (or are a
/// super admin's): needed to hand out or take away the system Admin role.
pub fn is_tenant_admin(claims: &Claims) -> bool {
    claims.is_super_admin || crate::permissions::is_tenant_admin(&claims.permissions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::require::{
        AdministrationAuditView, AdministrationUsersManage, AdministrationUsersView, Require,
    };
    use crate::auth::{Jwks, SigningKeyPair, TokenSettings, TokenSigner};
    use crate::permissions::{actions, admin_permissions, flatten, FlatPermissions, Grant};
    use axum::http::Request;

    fn claims(is_super_admin: bool, permissions: FlatPermissions) -> Claims {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let s = TokenSettings::default();
        Claims {
            sub: Uuid::new_v4(),
            email: "a@b.io".into(),
            tenant_id: Uuid::new_v4(),
            tenant_slug: "acme".into(),
            table: None,
            is_super_admin,
            plan: None,
            email_verified: false,
            permissions,
            enabled_modules: vec![],
            team_ids: vec![],
            roles: vec![],
            token_type: TokenType::Access,
            jti: Uuid::new_v4(),
            fam: Uuid::new_v4(),
            iat: now,
            iat_ms: None,
            nbf: now,
            exp: now + 60,
            iss: s.issuer,
            aud: s.audience,
        }
    }

    struct State(Arc<TokenVerifier>, Store);
    impl FromRef<State> for Arc<TokenVerifier> {
        fn from_ref(s: &State) -> Self {
            s.0.clone()
        }
    }
    impl FromRef<State> for Store {
        fn from_ref(s: &State) -> Self {
            s.1.clone()
        }
    }

    /// A store whose DynamoDB cannot be reached: any read fails fast (503).
    fn unreachable_store() -> Store {
        use aws_sdk_dynamodb::config::{retry::RetryConfig, BehaviorVersion, Credentials, Region};
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url("http://127.0.0.1:1")
            .http_client(crate::runtime::http_client())
            .retry_config(RetryConfig::disabled())
            .build();
        Store::new(
            aws_sdk_dynamodb::Client::from_conf(config),
            "main",
            crate::store::CursorSigner::new(b"k".to_vec()),
        )
    }

    async fn extract<T: FromRequestParts<State, Rejection = ApiError>>(
        c: &Claims,
    ) -> Result<T, ApiError> {
        extract_for(c, None).await
    }

    async fn extract_for<T: FromRequestParts<State, Rejection = ApiError>>(
        c: &Claims,
        tenant_header: Option<Uuid>,
    ) -> Result<T, ApiError> {
        extract_in::<T>(c, tenant_header, crate::revocation::TenantState::default()).await
    }

    /// Extracts with the caller's own tenant in `tenant_state`.
    async fn extract_in<T: FromRequestParts<State, Rejection = ApiError>>(
        c: &Claims,
        tenant_header: Option<Uuid>,
        tenant_state: crate::revocation::TenantState,
    ) -> Result<T, ApiError> {
        let key = SigningKeyPair::generate("k");
        let settings = TokenSettings::default();
        let verifier = TokenVerifier::new(
            &Jwks {
                keys: vec![key.public_jwk()],
            },
            &settings,
        )
        .unwrap();
        let token = TokenSigner::new(key, settings).sign(c).unwrap();
        let mut req = Request::builder().header("authorization", format!("Bearer {token}"));
        if let Some(t) = tenant_header {
            req = req.header("x-tenant-id", t.to_string());
        }
        let req = req.body(()).unwrap();
        let (mut parts, _) = req.into_parts();
        let store = unreachable_store();
        let own = TenantScope::in_table(c.tenant_id, c.table.as_deref().map(Arc::from));
        store.prime_revocation_state(&own, tenant_state).await;
        T::from_request_parts(&mut parts, &State(Arc::new(verifier), store)).await
    }

    #[tokio::test]
    async fn permission_classes() {
        let member = claims(false, FlatPermissions::default());
        let admin = claims(false, flatten(&admin_permissions()));
        let root = claims(true, FlatPermissions::default());

        let p = extract::<Principal>(&member).await.unwrap();
        assert_eq!(p.scope().tenant_id(), member.tenant_id);
        let denied = extract::<Require<AdministrationUsersView>>(&member)
            .await
            .unwrap_err();
        assert_eq!(denied.status(), 403);
        assert_eq!(denied.body()["permission"], "administration.users.view");
        assert_eq!(
            extract::<SuperAdmin>(&member).await.unwrap_err().status(),
            403
        );

        assert!(extract::<Require<AdministrationUsersView>>(&admin)
            .await
            .is_ok());
        assert_eq!(
            extract::<SuperAdmin>(&admin).await.unwrap_err().status(),
            403
        );

        assert!(
            extract::<Require<AdministrationAuditView>>(&root)
                .await
                .is_ok(),
            "super admins pass every check"
        );
        let sa = extract::<SuperAdmin>(&root).await.unwrap();
        let own = sa.scope_for(root.tenant_id).await.unwrap();
        assert_eq!(
            own.tenant_id(),
            root.tenant_id,
            "the own tenant needs no lookup"
        );
        // Another tenant's table is looked up, never guessed: with DynamoDB
        // unreachable, the scope is refused rather than defaulted.
        assert!(sa.scope_for(Uuid::new_v4()).await.is_err());
    }

    #[tokio::test]
    async fn the_scope_takes_the_table_from_the_signed_claim() {
        let mut pinned = claims(false, FlatPermissions::default());
        pinned.table = Some("main-tenant-x".into());
        let p = extract::<Principal>(&pinned).await.unwrap();
        assert_eq!(p.scope().table(), Some("main-tenant-x"));
        let own = extract_for::<TenantMember>(&pinned, Some(pinned.tenant_id))
            .await
            .unwrap();
        assert_eq!(own.0.scope().table(), Some("main-tenant-x"));
        let plain = extract::<Principal>(&claims(false, FlatPermissions::default()))
            .await
            .unwrap();
        assert_eq!(plain.scope().table(), None);
    }

    #[tokio::test]
    async fn the_tenant_header_moves_only_super_admins() {
        let admin = claims(false, flatten(&admin_permissions()));
        let root = claims(true, FlatPermissions::default());
        let foreign = Uuid::new_v4();

        let e = extract_for::<Require<AdministrationUsersView>>(&admin, Some(foreign))
            .await
            .unwrap_err();
        assert_eq!(
            e.status(),
            404,
            "a normal user naming another tenant learns nothing"
        );
        let e = extract_for::<TenantMember>(&admin, Some(foreign))
            .await
            .unwrap_err();
        assert_eq!(e.status(), 404);
        let own = extract_for::<TenantMember>(&admin, Some(admin.tenant_id))
            .await
            .unwrap();
        assert_eq!(own.0.scope().tenant_id(), admin.tenant_id);
        assert!(!own.0.via_super_admin());

        // A super admin moves to the named tenant's table, read from its
        // routing item (tests/api/dedicated.rs); unreachable here, so 503.
        let e = extract_for::<Require<AdministrationUsersView>>(&root, Some(foreign))
            .await
            .unwrap_err();
        assert_eq!(e.status(), 503);
        let plain = extract_for::<Require<AdministrationUsersView>>(&root, None)
            .await
            .unwrap();
        assert_eq!(plain.0.scope().tenant_id(), root.tenant_id);
        assert!(!plain.0.via_super_admin());
    }

    #[tokio::test]
    async fn one_grant_opens_exactly_its_endpoints() {
        let one = FlatPermissions::from(
            &crate::permissions::PermissionSet::empty()
                .with(actions::ADMINISTRATION_USERS_VIEW, Grant::Bool(true))
                .unwrap(),
        );
        let viewer = claims(false, one);
        let ok = extract::<Require<AdministrationUsersView>>(&viewer)
            .await
            .unwrap();
        assert_eq!(ok.0.user_id(), viewer.sub);
        let e = extract::<Require<AdministrationUsersManage>>(&viewer)
            .await
            .unwrap_err();
        assert_eq!(e.status(), 403);
        assert_eq!(e.body()["code"], "permission_denied");
        assert_eq!(e.body()["permission"], "administration.users.manage");
        // The tenant is resolved before the grant is checked: a foreign id
        // answers 404 whatever the caller holds.
        let e = extract_for::<Require<AdministrationUsersManage>>(&viewer, Some(Uuid::new_v4()))
            .await
            .unwrap_err();
        assert_eq!(e.status(), 404);
        // Unauthenticated callers are 401 before anything else.
        let (mut parts, _) = Request::builder().body(()).unwrap().into_parts();
        let key = SigningKeyPair::generate("k");
        let verifier = TokenVerifier::new(
            &Jwks {
                keys: vec![key.public_jwk()],
            },
            &TokenSettings::default(),
        )
        .unwrap();
        let e = Require::<AdministrationUsersView>::from_request_parts(
            &mut parts,
            &State(Arc::new(verifier), unreachable_store()),
        )
        .await
        .unwrap_err();
        assert_eq!(e.status(), 401);
    }

    #[tokio::test]
    async fn revoked_tokens_are_refused_by_every_extractor() {
        use crate::revocation::{Cutoff, Entitlement, TenantState};
        let root = claims(true, flatten(&admin_permissions()));
        let suspended = TenantState {
            entitlement: Some(Entitlement {
                tenant_active: false,
                modules: vec![],
            }),
            ..TenantState::default()
        };
        let mut cut = TenantState::default();
        cut.users.insert(
            root.sub,
            Cutoff {
                at_ms: root.issued_at_ms() + 1,
                keep_family: None,
            },
        );
        for state in [suspended, cut] {
            let e = extract_in::<Principal>(&root, None, state.clone())
                .await
                .unwrap_err();
            assert_eq!(e.status(), 401);
            let body = e.body();
            assert_eq!(
                body,
                serde_json::json!({"code": "token_not_valid",
                    "detail": "Token has been revoked; refresh or log in again."})
            );
            // A super admin acting elsewhere is judged by their own tenant.
            let e =
                extract_in::<Require<AdministrationUsersView>>(&root, Some(Uuid::new_v4()), state)
                    .await
                    .unwrap_err();
            assert_eq!(e.status(), 401);
        }
    }
}
